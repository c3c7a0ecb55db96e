// Subcommands of the `elsa` program. Each add_*_command registers one CLI11 subcommand (with its options
// and callback) on the top-level app; main() wires them explicitly, in the order `elsa --help` lists them.
#pragma once

#include <CLI/CLI.hpp>

namespace elsa::cli {

/// `elsa data stats`: per-task split counts and per-client partition counts.
void add_data_command(CLI::App& app);

/// `elsa tokenizer encode|decode|train`.
void add_tokenizer_command(CLI::App& app);

/// `elsa pretrain CONFIG [--resume]`: pre-trains the base model (core/train/pretrain.hpp).
void add_pretrain_command(CLI::App& app);

/// `elsa finetune --model DIR --task T --out RUN`: centralised LoRA + head fine-tuning (core/train/finetune.hpp).
void add_finetune_command(CLI::App& app);

/// `elsa generate` and `elsa eval-lm`: sample from / score a model directory (core/train/lm_tools.hpp).
void add_model_commands(CLI::App& app);

/// `elsa run CONFIG --out RUN`: a whole federated ELSA run (cmd_run.cpp).
void add_run_command(CLI::App& app);

/// `elsa experiment SUITE --out DIR`: a grid of runs and its results table (cmd_experiment.cpp).
void add_experiment_command(CLI::App& app);

/// `elsa node CONFIG --role R ...`: one process's roles of a run across processes (cmd_node.cpp).
void add_node_command(CLI::App& app);

/// `elsa launch CONFIG --out RUN`: a whole run as separate processes on this machine (cmd_launch.cpp).
void add_launch_command(CLI::App& app);

/// `elsa attack invert --run RUN`: the inversion attack on a run's captured activations (cmd_attack.cpp).
void add_attack_command(CLI::App& app);
/// `elsa predict --run RUN [--task T] [--json] < texts`: a finished run's model on new texts (cmd_predict.cpp).
void add_predict_command(CLI::App& app);

/// `elsa export --run RUN --out DIR [--merged]`: a run's adapters as a PEFT folder or merged into the base.
void add_export_command(CLI::App& app);

/// `elsa --version`'s text: version, commit, build type, library versions (cli/version.cpp).
std::string version_text();

} // namespace elsa::cli
