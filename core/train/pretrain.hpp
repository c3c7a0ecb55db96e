// Pre-training of the base GPT-2 model on the corpus of core/data (causal LM): AdamW, linear warm-up then
// cosine decay, gradient clipping, periodic held-out perplexity, progress lines, checkpoint and resume.
// No torch in this header, so the CLI can include it cheaply.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/model/config.hpp"

namespace elsa::train {

/// Everything `elsa pretrain CONFIG` reads; the TOML sections and keys have these names. Defaults are the
/// ones configs/pretrain.toml documents.
struct pretrain_config {
  // [paths]
  std::filesystem::path data_dir = "data";             // what scripts/fetch_data.sh fills
  std::filesystem::path tokenizer_dir = "models/elsa-base"; // vocab.json + merges.txt
  std::filesystem::path out_dir = "models/elsa-base";  // final config.json + model.safetensors
  std::filesystem::path run_dir = "runs/pretrain";     // token cache, checkpoint, metrics log
  // [model] (vocab_size comes from the tokenizer; n_positions is also the training sequence length)
  model::gpt2_config model;
  // [train]
  int64_t steps = 3000;
  int64_t batch_size = 16;
  int64_t warmup_steps = 100;
  double lr = 1e-3;
  double min_lr = 1e-4;
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double grad_clip = 1.0;
  int64_t eval_every = 250;      // steps between held-out perplexity evaluations
  int64_t eval_tokens = 65536;   // held-out tokens used by those periodic evaluations
  int64_t final_eval_tokens = 262144; // held-out tokens scored at the end (0 = all)
  double max_minutes = 0;        // wall-clock budget of one invocation (0 = none): stops at a checkpoint,
                                 // `--resume` continues; the schedule follows steps only
  int64_t checkpoint_every = 250;
  int64_t log_every = 10;
  int64_t threads = 2;
  uint64_t seed = 1234;
};

/// Reads a TOML file; unknown sections/keys, wrong types and out-of-range values are elsa::error naming
/// the file, the key and the allowed range. Relative paths are taken relative to the working directory.
pretrain_config read_pretrain_config(const std::filesystem::path& path);

/// Learning rate at `step` (0-based): linear warm-up to lr over warmup_steps, then cosine down to min_lr at
/// `steps`. It depends on the step alone, so a run stopped and resumed follows the same schedule.
double learning_rate(const pretrain_config& cfg, int64_t step);

/// The token streams a pre-training run reads (the corpus and the held-out text, already tokenised).
struct token_streams {
  std::vector<int32_t> train;
  std::vector<int32_t> heldout;
  int64_t vocab_size = 0;
  int32_t eot_id = 0;
};

/// How a run ended: at `steps` (the model was written to out_dir) or earlier, at a checkpoint that
/// `--resume` continues from (stop_after, or the max_minutes budget).
struct pretrain_outcome {
  int64_t step = 0;
  bool completed = false;
};

/// The training loop on prepared streams: starts fresh, or with resume continues from run_dir/checkpoint;
/// stops at a checkpoint when it reaches step `stop_after` (0 = never). Same config, seed and thread count
/// give the same weights bit for bit, whether the run went straight through or was stopped and resumed:
/// each step's batch comes from a generator seeded by (seed, step) and the schedule follows steps only.
/// (With [model] dropout > 0 a resumed run draws other dropout masks: torch's generator is not saved. The
/// recipe uses dropout 0.)
pretrain_outcome pretrain_on(const pretrain_config& cfg, const token_streams& streams, bool resume,
                             std::ostream& log, int64_t stop_after = 0);

/// `elsa pretrain`: tokenises (or reads the cached) corpus, runs pretrain_on, and when the run completes
/// writes the model to out_dir with the tokenizer files beside it. Progress goes to `log`.
pretrain_outcome run_pretrain(const pretrain_config& cfg, bool resume, std::ostream& log, int64_t stop_after = 0);

} // namespace elsa::train
