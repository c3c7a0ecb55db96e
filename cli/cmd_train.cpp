// `elsa pretrain CONFIG [--resume]` and `elsa finetune --model DIR --task T --out RUN`: thin wrappers over
// core/train, which holds the loops. This file includes no torch header.
#include "cli/commands.hpp"

#include <array>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/support.hpp"
#include "core/errors.hpp"
#include "core/run/run_dir.hpp"
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
  cmd->add_flag("--resume", opts->resume,
                "continue from RUN_DIR/checkpoint if there is one (pretrain writes into its run folder by "
                "design, so that a stopped run can be resumed)");
  cmd->add_option("--out", opts->out_dir, "override [paths] out_dir");
  cmd->add_option("--run-dir", opts->run_dir, "override [paths] run_dir");
  cmd->add_option("--steps", opts->steps, "override [train] steps (e.g. for a short throughput check)")
    ->check(int_range(1, 10'000'000));
  cmd
    ->add_option("--stop-after", opts->stop_after,
                 "stop at a checkpoint after this step (the schedule still runs to [train] steps); "
                 "continue later with --resume")
    ->check(int_range(1, 10'000'000));
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
    bool force = false;
    bool full = false;
    bool no_eot = false;
  };
  // The option values start as the built-in defaults, which --help shows; only options given on the command
  // line are set over --config's file.
  auto o = std::make_shared<options>();
  auto v = std::make_shared<train::finetune_config>();
  auto paths = std::make_shared<std::array<std::string, 3>>( // --model, --out, --data-dir
    std::array<std::string, 3>{v->model_dir.string(), v->out_dir.string(), v->data_dir.string()});
  auto* cmd = app.add_subcommand("finetune", "centralised LoRA + head fine-tuning on one task (no federation)");
  cmd
    ->add_option(
      "--config", o->config,
      "TOML file over the built-in defaults, e.g. configs/finetune.toml; options given here override it")
    ->default_str("none");
  auto* model
    = cmd->add_option("--model", (*paths)[0], "model directory ([paths] model_dir)")->capture_default_str();
  auto* task = cmd->add_option("--task", v->task, "the task ([task] name)")
                 ->capture_default_str()
                 ->check(CLI::IsMember({"spam", "party", "genre", "supersense"}));
  auto* out = cmd
                ->add_option("--out", (*paths)[1],
                             "run folder for summary.json and adapter/ ([paths] out_dir); must "
                             "be new or empty (see --force)")
                ->capture_default_str();
  cmd->add_flag("--force", o->force, "replace an earlier run in the run folder (deletes what is in it)")
    ->default_str("off");
  auto* data
    = cmd->add_option("--data-dir", (*paths)[2], "folder filled by scripts/fetch_data.sh ([paths] data_dir)")
        ->capture_default_str();
  auto* epochs = cmd->add_option("--epochs", v->epochs, "[train] epochs")
                   ->capture_default_str()
                   ->check(int_range(1, 1000));
  auto* max_train
    = cmd->add_option("--max-train", v->max_train, "[train] max_train (training examples per epoch)")
        ->capture_default_str()
        ->check(int_range(1, 1'000'000'000));
  auto* lr
    = cmd->add_option("--lr", v->lr, "[train] lr")->capture_default_str()->check(real_range(1e-7, 1.0));
  auto* rank = cmd->add_option("--rank", v->lora.rank, "[lora] rank")
                 ->capture_default_str()
                 ->check(int_range(1, 1024));
  auto* threads = cmd->add_option("--threads", v->threads, "[train] threads")
                    ->capture_default_str()
                    ->check(int_range(1, 256));
  cmd->add_flag("--full", o->full, "full fine-tuning of all weights instead of LoRA ([train] train_base)")
    ->default_str("off");
  cmd
    ->add_flag(
      "--no-eot", o->no_eot,
      "classify on the text's last token instead of an appended <|endoftext|> ([train] append_eot = false)")
    ->default_str("off");
  cmd->callback([o, v, paths, model, task, out, data, epochs, max_train, lr, rank, threads] {
    auto cfg = o->config.empty() ? train::finetune_config{} : train::read_finetune_config(o->config);
    if (model->count() > 0)
      cfg.model_dir = (*paths)[0];
    if (task->count() > 0)
      cfg.task = v->task;
    if (out->count() > 0)
      cfg.out_dir = (*paths)[1];
    if (data->count() > 0)
      cfg.data_dir = (*paths)[2];
    if (epochs->count() > 0)
      cfg.epochs = v->epochs;
    if (max_train->count() > 0)
      cfg.max_train = v->max_train;
    if (lr->count() > 0)
      cfg.lr = v->lr;
    if (rank->count() > 0)
      cfg.lora.rank = v->lora.rank;
    if (threads->count() > 0)
      cfg.threads = v->threads;
    if (o->full)
      cfg.train_base = true;
    if (o->no_eot)
      cfg.append_eot = false;
    train::validate(cfg);
    // Where each path came from, for the messages.
    auto origin = [&](CLI::Option* opt, const char* option, const char* key, const std::filesystem::path& p) {
      return opt->count() > 0 || o->config.empty()
               ? fmt::format("{} {}", option, p.string())
               : fmt::format("{}: [paths] {} = \"{}\"", o->config, key, p.string());
    };
    const auto model_problem = run::missing_folder_problem(cfg.model_dir);
    if (!model_problem.empty())
      throw error(errc::file_not_found,
                  fmt::format("{}: {}; name a model folder (the repository ships "
                              "models/elsa-base)",
                              origin(model, "--model", "model_dir", cfg.model_dir), model_problem));
    const auto data_problem = run::missing_folder_problem(cfg.data_dir);
    if (!data_problem.empty())
      throw error(
        errc::file_not_found,
        fmt::format("{}: {}; scripts/fetch_data.sh fetches the data sets into data/ at the repository root",
                    origin(data, "--data-dir", "data_dir", cfg.data_dir), data_problem));
    const auto dir = run::run_dir::claim(cfg.out_dir, o->force, origin(out, "--out", "out_dir", cfg.out_dir),
                                         "choose another --out", {"summary.json", "adapter"});
    train::run_finetune(cfg, std::cerr, std::cout, [&dir] { dir.create(); });
  });
}

} // namespace elsa::cli
