// `elsa predict --run RUN [--task T] [--json] < texts`: classifies one text per line of stdin with the base
// model of the run's config, the adapters and classifier the run saved (RUN/adapters/<task>/) and its
// [model] max_len; prints the label and its probability per line (JSONL with --json).
// `elsa predict --merged DIR` does the same with a directory `elsa export --merged` wrote.
#include "cli/commands.hpp"

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/run_outputs.hpp"
#include "cli/support.hpp"
#include "core/errors.hpp"
#include "core/train/predict.hpp"

namespace elsa::cli {

namespace fs = std::filesystem;

void add_predict_command(CLI::App& app) {
  struct options {
    std::string run, task, model, merged;
    bool json = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
    "predict", "classify one text per line of stdin with a finished run's model (label and probability per line)");
  auto* run_opt =
    cmd->add_option("--run", o->run, "run directory of a finished `elsa run` (its config.toml and adapters/)");
  auto* merged_opt =
    cmd->add_option("--merged", o->merged, "a directory `elsa export --merged` wrote, instead of --run");
  run_opt->excludes(merged_opt);
  cmd->add_option("--task", o->task, "which of the run's tasks (default: its only task)")->excludes(merged_opt);
  cmd->add_option("--model", o->model, "base model folder (default: the run's [model] model_dir)")->excludes(merged_opt);
  cmd->add_flag("--json", o->json, "one JSON object per line: label, label_id, probability, probabilities")
    ->default_str("off");
  cmd->callback([o] {
    if (o->run.empty() && o->merged.empty())
      throw error(errc::invalid_argument, "elsa predict: give --run RUN (a finished run) or --merged DIR (an export)");
    std::optional<train::predictor> p;
    std::vector<std::string> names;
    if (!o->merged.empty()) {
      require_folder("--merged", o->merged, "name a directory `elsa export --merged` wrote");
      p.emplace(fs::path(o->merged));
      names = p->labels();
    } else {
      const auto r = open_run_task(o->run, o->task, o->model);
      p.emplace(r.model_dir, r.adapters, r.cfg.max_len);
      names = run_label_names(o->run, r.task, p->num_labels());
    }
    std::vector<std::string> lines;
    for (std::string line; std::getline(std::cin, line);) {
      if (line.find_first_not_of(" \t\r\v\f") == std::string::npos)
        throw error(errc::invalid_argument,
                    fmt::format("stdin line {} is empty; give one text per line", lines.size() + 1));
      lines.push_back(line);
    }
    const auto out = p->predict(lines);
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
