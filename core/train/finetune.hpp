// Centralised LoRA + classification-head fine-tuning of the base model on one task (no federation, no
// split): the upper reference for every federated run. No torch in this header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>

#include "core/model/config.hpp"

namespace elsa::train {

/// `elsa finetune` settings; TOML sections [paths], [lora], [train] with these key names
/// (configs/finetune.toml documents the defaults).
struct finetune_config {
  // [paths]
  std::filesystem::path data_dir = "data";
  std::filesystem::path model_dir = "models/elsa-base";
  std::filesystem::path out_dir = "runs/finetune";
  // [task]
  std::string task = "spam";
  // [lora]
  model::lora_config lora = default_lora();
  // [train]
  int64_t epochs = 2;
  int64_t batch_size = 16;
  double lr = 2e-3;        // adapters and head
  double weight_decay = 0.0;
  int64_t warmup_steps = 20;
  double grad_clip = 1.0;
  int64_t max_len = 128;   // tokens per example (truncated, keeping the start)
  bool append_eot = true;  // end each example with <|endoftext|>, whose hidden state the head reads;
                           // false: the head reads the text's own last token
  int64_t max_train = 8000; // training examples used per epoch (a seeded subsample when there are more)
  int64_t max_eval = 4000;  // validation / test examples evaluated (seeded subsample when there are more)
  bool train_base = false;  // true: full fine-tuning instead of LoRA
  int64_t threads = 2;
  uint64_t seed = 1234;

  static model::lora_config default_lora() {
    model::lora_config l;
    l.rank = 8;
    l.alpha = 16.0;
    l.dropout = 0.05;
    l.targets = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};
    return l;
  }
};

/// Reads a TOML file over the defaults; unknown keys and out-of-range values are elsa::error naming the
/// file and key.
finetune_config read_finetune_config(const std::filesystem::path& path);
/// Checks ranges (also of values set on the command line); elsa::error names the key and the range.
void validate(const finetune_config& cfg);

struct finetune_result {
  double validation_accuracy = 0;
  double test_accuracy = 0;
  double test_macro_f1 = 0;
  double majority_accuracy = 0; // test accuracy of always predicting the most frequent train label
  int64_t train_examples = 0;
  int64_t test_examples = 0;
  int64_t trainable_parameters = 0;
  double wall_seconds = 0;
};

/// Trains, evaluates, writes out_dir/summary.json, out_dir/adapter/ (PEFT-style) and prints a table to `log`.
finetune_result run_finetune(const finetune_config& cfg, std::ostream& log);

/// As above with progress in `log` and the table and the paths written in `results`; `before_write` (when
/// set) is called once training and evaluation are done, before anything is written into out_dir (where
/// `elsa finetune` claims its run directory), so a run that fails or is interrupted writes nothing.
finetune_result run_finetune(const finetune_config& cfg, std::ostream& log, std::ostream& results,
                             const std::function<void()>& before_write);

} // namespace elsa::train
