// An experiment suite (`elsa experiment SUITE.toml --out DIR`): a grid of methods x task sets x non-IID alphas x
// seeds x fault settings over one base run config. Each cell is a run config laid out as TOML (the base file,
// then the suite's [set], the method's switches, the cell's values, its fault setting and its output folder), which the runner
// writes to a file and reads back with the run-config reader, so a bad value names the cell's file. No actors,
// no torch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace elsa::experiment {

/// The methods a suite may name: `elsa` (every mechanism on), `elsa_no_<mechanism>` for each mechanism
/// (clustering, trust, latency, dynamic_split, sketch, ssop), and the baselines `fedavg_lora`, `hierfavg_lora`
/// and `splitfed_lora`, in table order.
const std::vector<std::string>& method_names();

/// The method's switches as TOML sections and keys laid over a run config (errc::invalid_argument for a
/// name that is not a method, listing the methods).
toml::table method_switches(const std::string& method);

struct cell {
  std::string method;
  std::vector<std::string> tasks;
  std::optional<double> alpha;  // [data] partition = "dirichlet" with this alpha; none: the base config's partition
  uint64_t seed = 0;
  std::string faults;           // "none" or the name of one of the suite's [fault.NAME] tables
  std::string id;               // the cell's folder under DIR/runs (and its config under DIR/configs)
  toml::table config;           // the whole run config of the cell
};

struct suite {
  std::filesystem::path file;
  std::filesystem::path base_config;  // [suite] config (relative: from the current directory)
  std::vector<std::string> methods;
  std::vector<std::vector<std::string>> task_sets;  // empty: the base config's tasks
  std::vector<double> alphas;                       // empty: the base config's partition
  std::vector<uint64_t> seeds;                      // empty: the base config's seed
  std::vector<std::string> faults = {"none"};
  std::map<std::string, toml::table> fault_settings;  // [fault.NAME]: sections and keys of the run config
  toml::table set;                                     // [set]: sections and keys over every cell
  bool attack = false;  // run the inversion attack on every finished run (needs [privacy] capture > 0)
  std::optional<int64_t> attack_public_tokens, attack_epochs;  // none: `elsa attack invert`'s defaults

  /// Every cell, methods outermost, then task sets, alphas, fault settings and seeds (so a cell's seeds are
  /// neighbours). `out` is the suite's output folder: each cell's [output] dir is out/runs/ID.
  std::vector<cell> cells(const std::filesystem::path& out) const;
};

/// Reads a suite file: unknown keys, wrong types, unknown methods or fault settings, a Dirichlet alpha with a
/// task set of several tasks, and an empty grid are errc::invalid_argument naming the file and the key.
suite read_suite(const std::filesystem::path& file);

/// `over` laid over `base`: each table key of `over` merges into the same key of `base`, anything else replaces.
void lay_over(toml::table& base, const toml::table& over);

} // namespace elsa::experiment
