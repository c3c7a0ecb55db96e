// The results of a suite: one row per run (results.csv, each naming its run directory) and one per grid cell
// over its seeds (results.md: mean +- std), from the runs' summary.json and attack.json. No actors, no torch.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/experiment/suite.hpp"

namespace elsa::experiment {

/// One run of the suite: its cell, the run directory, its summary.json and (when the attack ran) attack.json.
struct run_result {
  std::string method;
  std::vector<std::string> tasks;
  std::optional<double> alpha;
  uint64_t seed = 0;
  std::string faults;
  std::filesystem::path run_dir;
  nlohmann::json summary;
  std::optional<nlohmann::json> attack;
};

/// What a row reports, from a summary (and attack report): test accuracy and macro-F1 averaged over the run's
/// tasks, the edge rounds and simulated time to the target accuracy (null: not reached or no target), bytes per
/// tier, client FLOPs (mean over clients) and peak training memory (the largest), the inversion attack's token
/// accuracy (null: not run) and the wall time.
struct row_values {
  double accuracy = 0, macro_f1 = 0;
  std::optional<double> round_to_target, sim_time_to_target_s;
  double sim_time_s = 0;
  double client_to_edge = 0, edge_to_client = 0, edge_to_cloud = 0, cloud_to_edge = 0, control = 0;  // bytes
  double client_gflops = 0, client_peak_memory_mb = 0;
  std::optional<double> inversion_token_accuracy;
  double wall_seconds = 0;
  bool finished = false;
};

row_values values_of(const run_result& r);

/// results.csv: a header, then one line per run in the order given; `run_dir` is written relative to `base`
/// when it lies under it.
std::string results_csv(const std::vector<run_result>& runs, const std::filesystem::path& base);

/// results.md: the grid's cells (method, tasks, alpha, faults) with mean +- std over their seeds, and the
/// conditions every method shared. `command` is the command that made it.
std::string results_md(const suite& s, const std::vector<run_result>& runs, const std::string& command);

} // namespace elsa::experiment
