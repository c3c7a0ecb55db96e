// `elsa pretrain CONFIG [--resume]` and `elsa finetune --model DIR --task T --out RUN`: thin wrappers over
// core/train, which holds the loops. This file includes no torch header.
#include "cli/commands.hpp"

#include <iostream>
#include <memory>

#include "core/train/finetune.hpp"
#include "core/train/pretrain.hpp"

namespace elsa::cli {

void add_pretrain_command(CLI::App& app) {
  struct options {
    std::string config;
    bool resume = false;
    std::string out_dir;
    std::string run_dir;
    int64_t steps = 0;
    int64_t stop_after = 0;
  };
  auto opts = std::make_shared<options>();
  auto* cmd = app.add_subcommand("pretrain", "pre-train the base GPT-2 model on the corpus (configs/pretrain.toml)");
  cmd->add_option("config", opts->config, "TOML config, e.g. configs/pretrain.toml")->required();
  cmd->add_flag("--resume", opts->resume, "continue from RUN_DIR/checkpoint if there is one");
  cmd->add_option("--out", opts->out_dir, "override [paths] out_dir");
  cmd->add_option("--run-dir", opts->run_dir, "override [paths] run_dir");
  cmd->add_option("--steps", opts->steps, "override [train] steps (e.g. for a short throughput check)");
  cmd->add_option("--stop-after", opts->stop_after,
                  "stop at a checkpoint after this step (the schedule still runs to [train] steps); "
                  "continue later with --resume")
    ->check(CLI::PositiveNumber);
  cmd->callback([opts] {
    auto cfg = train::read_pretrain_config(opts->config);
    if (!opts->out_dir.empty())
      cfg.out_dir = opts->out_dir;
    if (!opts->run_dir.empty())
      cfg.run_dir = opts->run_dir;
    if (opts->steps > 0) {
      cfg.steps = opts->steps;
      cfg.warmup_steps = std::min(cfg.warmup_steps, cfg.steps - 1);
    }
    train::run_pretrain(cfg, opts->resume, std::cout, opts->stop_after);
  });
}

void add_finetune_command(CLI::App& app) {
  struct options {
    std::string config;
    std::string model_dir;
    std::string task;
    std::string out;
    std::string data_dir;
    int64_t epochs = 0;
    int64_t max_train = 0;
    int64_t threads = 0;
    int64_t rank = 0;
    double lr = 0;
    bool full = false;
    bool no_eot = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("finetune", "centralised LoRA + head fine-tuning on one task (no federation)");
  cmd->add_option("--config", o->config, "TOML file over the defaults (configs/finetune.toml)");
  cmd->add_option("--model", o->model_dir, "model directory (default models/elsa-base)");
  cmd->add_option("--task", o->task, "spam, party, genre or supersense");
  cmd->add_option("--out", o->out, "run folder for summary.json and adapter/");
  cmd->add_option("--data-dir", o->data_dir, "folder filled by scripts/fetch_data.sh (default data)");
  cmd->add_option("--epochs", o->epochs, "override [train] epochs");
  cmd->add_option("--max-train", o->max_train, "override [train] max_train (training examples per epoch)");
  cmd->add_option("--lr", o->lr, "override [train] lr");
  cmd->add_option("--rank", o->rank, "override [lora] rank");
  cmd->add_option("--threads", o->threads, "override [train] threads");
  cmd->add_flag("--full", o->full, "full fine-tuning of all weights instead of LoRA");
  cmd->add_flag("--no-eot", o->no_eot, "classify on the text's last token instead of an appended <|endoftext|>");
  cmd->callback([o] {
    auto cfg = o->config.empty() ? train::finetune_config{} : train::read_finetune_config(o->config);
    if (!o->model_dir.empty())
      cfg.model_dir = o->model_dir;
    if (!o->task.empty())
      cfg.task = o->task;
    if (!o->out.empty())
      cfg.out_dir = o->out;
    if (!o->data_dir.empty())
      cfg.data_dir = o->data_dir;
    if (o->epochs > 0)
      cfg.epochs = o->epochs;
    if (o->max_train > 0)
      cfg.max_train = o->max_train;
    if (o->lr > 0)
      cfg.lr = o->lr;
    if (o->rank > 0)
      cfg.lora.rank = o->rank;
    if (o->threads > 0)
      cfg.threads = o->threads;
    if (o->full)
      cfg.train_base = true;
    if (o->no_eot)
      cfg.append_eot = false;
    train::run_finetune(cfg, std::cout);
  });
}

} // namespace elsa::cli
