// Reading a finished run for `elsa predict` and `elsa export` (see run_outputs.hpp).
#include "cli/run_outputs.hpp"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/support.hpp"
#include "core/errors.hpp"

namespace elsa::cli {

namespace fs = std::filesystem;

run_task open_run_task(const fs::path& run, const std::string& task, const std::string& model, bool need_model) {
  require_folder("--run", run, "name the run directory of a finished `elsa run`");
  run_task r{run::read_run_config(run / "config.toml"), task, {}, {}};
  const auto tasks = r.cfg.task_names();
  if (r.task.empty()) {
    if (tasks.size() != 1)
      throw error(errc::invalid_argument,
                  fmt::format("--task: the run has {} tasks ({}); name one", tasks.size(), fmt::join(tasks, ", ")));
    r.task = tasks.front();
  } else if (std::find(tasks.begin(), tasks.end(), r.task) == tasks.end()) {
    throw error(errc::invalid_argument, fmt::format("--task {}: the run's tasks are {}", r.task, fmt::join(tasks, ", ")));
  }
  r.adapters = run / "adapters" / r.task;
  if (!fs::exists(r.adapters / "adapter_config.json"))
    throw error(errc::file_not_found,
                fmt::format("{}: no adapters of task {} (a run saves them when it finishes, with [output] "
                            "save_adapters = true)", fs::absolute(r.adapters).string(), r.task));
  r.model_dir = model.empty() ? r.cfg.model_dir : fs::path(model);
  if (need_model)
    require_folder("--model", r.model_dir,
                 "the run's [model] model_dir is relative to where the run was started; run from there or give --model");
  return r;
}

std::vector<std::string> run_label_names(const fs::path& run, const std::string& task, int64_t num_labels) {
  std::vector<std::string> names;
  std::ifstream in(run / "summary.json");
  if (in) {
    const auto s = nlohmann::json::parse(in, nullptr, false);
    if (!s.is_discarded() && s.contains("tasks") && s["tasks"].contains(task) && s["tasks"][task].contains("labels"))
      for (const auto& n : s["tasks"][task]["labels"])
        if (n.is_string())
          names.push_back(n.get<std::string>());
  }
  if (static_cast<int64_t>(names.size()) != num_labels) {
    names.clear();
    for (int64_t k = 0; k < num_labels; ++k)
      names.push_back(std::to_string(k));
  }
  return names;
}

} // namespace elsa::cli
