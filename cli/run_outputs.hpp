// What `elsa predict` and `elsa export` read from a finished run: its config, which task is meant, that
// task's saved adapters and label names.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/run/run_config.hpp"

namespace elsa::cli {

struct run_task {
  run::run_config cfg;                // RUN/config.toml
  std::string task;                   // the task's name
  std::filesystem::path adapters;     // RUN/adapters/<task>/, checked to hold adapter_config.json
  std::filesystem::path model_dir;    // --model, or the run's [model] model_dir (checked to exist)
};

/// Resolves `task` (empty: the run's only task) and the model folder of finished run `run`. elsa::error, one
/// line each: not a run folder, a task the run lacks (or none named when it has several), no saved adapters,
/// no model folder.
/// `need_model` false (an export of the adapter files alone): the model folder is neither checked nor used.
run_task open_run_task(const std::filesystem::path& run, const std::string& task, const std::string& model,
                       bool need_model = true);

/// The run's label names of `task` (summary.json), or the label ids as text for a run recorded without them.
std::vector<std::string> run_label_names(const std::filesystem::path& run, const std::string& task, int64_t num_labels);

} // namespace elsa::cli
