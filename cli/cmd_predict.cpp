// `elsa predict --run RUN [--task T] [--json] < texts`: classifies one text per line of stdin with the base
// model of the run's config, the adapters and classifier the run saved (RUN/adapters/<task>/) and its
// [model] max_len; prints the label and its probability per line (JSONL with --json).
#include "cli/commands.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/support.hpp"
#include "core/errors.hpp"
#include "core/run/run_config.hpp"
#include "core/train/predict.hpp"

namespace elsa::cli {

namespace {

namespace fs = std::filesystem;

// The run's label names of `task` (summary.json), or the label ids as text for a run recorded without them.
std::vector<std::string> label_names(const fs::path& run, const std::string& task, int64_t num_labels) {
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

} // namespace

void add_predict_command(CLI::App& app) {
  struct options {
    std::string run, task, model;
    bool json = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
    "predict", "classify one text per line of stdin with a finished run's model (label and probability per line)");
  cmd->add_option("--run", o->run, "run directory of a finished `elsa run` (its config.toml and adapters/)")->required();
  cmd->add_option("--task", o->task, "which of the run's tasks (default: its only task)");
  cmd->add_option("--model", o->model, "base model folder (default: the run's [model] model_dir)");
  cmd->add_flag("--json", o->json, "one JSON object per line: label, label_id, probability, probabilities")
    ->default_str("off");
  cmd->callback([o] {
    require_folder("--run", o->run, "name the run directory of a finished `elsa run`");
    const fs::path run = o->run;
    const auto cfg = run::read_run_config(run / "config.toml");
    std::string task = o->task;
    const auto tasks = cfg.task_names();
    if (task.empty()) {
      if (tasks.size() != 1)
        throw error(errc::invalid_argument,
                    fmt::format("--task: the run has {} tasks ({}); name one", tasks.size(), fmt::join(tasks, ", ")));
      task = tasks.front();
    } else if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) {
      throw error(errc::invalid_argument, fmt::format("--task {}: the run's tasks are {}", task, fmt::join(tasks, ", ")));
    }
    const auto adapters = run / "adapters" / task;
    if (!fs::exists(adapters / "adapter_config.json"))
      throw error(errc::file_not_found,
                  fmt::format("{}: no adapters of task {} (a run saves them when it finishes, with [output] "
                              "save_adapters = true)", fs::absolute(adapters).string(), task));
    const fs::path model = o->model.empty() ? cfg.model_dir : fs::path(o->model);
    require_folder("--model", model,
                   "the run's [model] model_dir is relative to where the run was started; run from there or give --model");
    const train::predictor p(model, adapters, cfg.max_len);
    const auto names = label_names(run, task, p.num_labels());
    std::vector<std::string> lines;
    for (std::string line; std::getline(std::cin, line);) {
      if (line.find_first_not_of(" \t\r\v\f") == std::string::npos)
        throw error(errc::invalid_argument,
                    fmt::format("stdin line {} is empty; give one text per line", lines.size() + 1));
      lines.push_back(line);
    }
    const auto out = p.predict(lines);
    for (const auto& r : out) {
      const auto k = static_cast<std::size_t>(r.label);
      if (!o->json) {
        fmt::print("{}\t{:.4f}\n", names[k], r.probabilities[k]);
        continue;
      }
      nlohmann::json j;
      j["label"] = names[k];
      j["label_id"] = r.label;
      j["probability"] = r.probabilities[k];
      for (std::size_t i = 0; i < names.size(); ++i)
        j["probabilities"][names[i]] = r.probabilities[i];
      std::cout << j.dump() << "\n";
    }
  });
}

} // namespace elsa::cli
