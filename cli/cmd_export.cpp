// `elsa export --run RUN [--task T] --out DIR [--merged]`: what a run trained, for use outside ELSA. Without
// --merged, the task's PEFT adapter folder (adapter_config.json, adapter_model.safetensors) is copied to
// DIR; with --merged, DIR becomes a complete Hugging Face GPT-2 directory with the adapters merged into the
// weights and the classifier head beside it (core/train/export.hpp).
#include "cli/commands.hpp"

#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/run_outputs.hpp"
#include "cli/support.hpp"
#include "core/errors.hpp"
#include "core/model/model_dir.hpp"
#include "core/train/export.hpp"

namespace elsa::cli {

namespace fs = std::filesystem;

void add_export_command(CLI::App& app) {
  struct options {
    std::string run, task, model, out;
    bool merged = false, force = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
    "export", "write a finished run's adapters (PEFT folder) or, with --merged, a Hugging Face GPT-2 directory "
              "with them merged in");
  cmd->add_option("--run", o->run, "run directory of a finished `elsa run`")->required();
  cmd->add_option("--out", o->out, "directory to write (must not exist unless --force)")->required();
  cmd->add_option("--task", o->task, "which of the run's tasks (default: its only task)");
  cmd->add_option("--model", o->model, "base model folder (default: the run's [model] model_dir)");
  cmd->add_flag("--merged", o->merged, "merge the adapters into the base weights: config.json, model.safetensors, "
                                       "tokenizer, score.safetensors (the head), elsa_export.json")
    ->default_str("off");
  cmd->add_flag("--force", o->force, "write into --out even if it exists")->default_str("off");
  cmd->callback([o] {
    if (!o->merged && !o->model.empty())
      throw error(errc::invalid_argument, "--model: only --merged reads the base model; leave it out");
    const auto r = open_run_task(o->run, o->task, o->model, o->merged);
    const fs::path out = o->out;
    if (fs::exists(out) && !o->force)
      throw error(errc::invalid_argument,
                  fmt::format("--out {}: already exists; choose another directory or add --force", out.string()));
    if (!o->merged) {
      std::error_code ec;
      fs::create_directories(out, ec);
      for (const char* f : {"adapter_config.json", "adapter_model.safetensors"})
        if (!ec)
          fs::copy_file(r.adapters / f, out / f, fs::copy_options::overwrite_existing, ec);
      if (ec)
        throw error(errc::io_error, fmt::format("--out {}: cannot write: {}", out.string(), ec.message()));
      std::cout << fmt::format("wrote {}/: adapter_config.json, adapter_model.safetensors (PEFT LoRA of task {})\n",
                               out.string(), r.task);
      return;
    }
    const auto info = model::read_adapter_config(r.adapters);
    train::merged_export e;
    e.model_dir = r.model_dir;
    e.adapter_dir = r.adapters;
    e.task = r.task;
    e.labels = run_label_names(o->run, r.task, info.num_labels);
    e.max_len = r.cfg.max_len;
    e.source = fs::absolute(o->run).lexically_normal().string();
    train::export_merged(e, out);
    std::cout << fmt::format("wrote {}/: config.json, model.safetensors (adapters merged), vocab.json, merges.txt, "
                             "score.safetensors, elsa_export.json (task {}, {} labels)\n",
                             out.string(), r.task, e.labels.size());
  });
}

} // namespace elsa::cli
