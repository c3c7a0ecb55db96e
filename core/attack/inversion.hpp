// The inversion attack of an honest-but-curious edge (ELSA.md 3.3, docs/privacy.md): it knows the public
// base model, the public text and the defence's settings, but not the clients' adapters or data. It trains
// per-position inverters (activation vector -> token id) on public text passed through the public base head
// (with the run's SS-OP noise added when the run used it: the defence is public, Kerckhoffs), then inverts
// the activations it captured ([privacy] capture). The run's data is read only to score the guesses: the
// clients' batches are replayed (fed::batch_sampler) to find the tokens each captured row really held.
// Torch-free interface.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/attack/capture.hpp"

namespace elsa::attack {

struct invert_options {
  int64_t public_tokens = 120000;  // public text tokens the inverters train on (max(1000, 5%) more are held out)
  int64_t epochs = 3;
  int64_t hidden = 512;            // the MLP inverter's hidden width
  double lr = 2e-3;                // Adam
  int64_t batch_tokens = 1024;
  uint64_t seed = 1;
  int64_t threads = 2;             // LibTorch intra-op threads
};

struct inverter_result {
  std::string name;               // "linear" or "mlp"
  double token_accuracy = 0;      // captured tokens recovered exactly
  double rouge_l = 0;             // mean over captured rows of the ROUGE-L F1 on token ids
  double public_accuracy = 0;     // on held-out public text with the same noise (how well it learned)
  double train_seconds = 0;
};

struct attack_report {
  // the attacked run
  bool ssop = false;
  int64_t ssop_k = 0;
  double ssop_sigma = 0;
  std::string wire_dtype;
  int64_t head_blocks = 0;
  std::optional<double> test_accuracy;  // the run's final test accuracy (summary.json), when there is one
  // what was attacked and scored
  int64_t captured_batches = 0;
  int64_t scored_batches = 0;  // batches whose rows the replayed sampler matched
  int64_t scored_rows = 0;
  int64_t scored_tokens = 0;   // real tokens of scored rows, the final <|endoftext|> left out
  int64_t public_tokens = 0;
  // results: the best inverter's, every inverter's and the unigram guess (always the most frequent public
  // token) as the floor a real attack must clear
  double token_accuracy = 0;
  double rouge_l = 0;
  std::string best;
  std::vector<inverter_result> inverters;
  double unigram_token_accuracy = 0;
  double unigram_rouge_l = 0;

  nlohmann::json to_json() const;
};

/// ROUGE-L F1 of a guess against the truth: the longest common subsequence over both lengths,
/// 2 P R / (P + R); 0 when either is empty.
double rouge_l(const std::vector<int32_t>& guess, const std::vector<int32_t>& truth);

/// The rows of a client's batch: replays draws 0..latest of batch_size from a sampler over `examples`
/// (seeded `seed`) and returns the token ids of the latest draw whose row lengths equal `lengths`; nullopt
/// when none does. `latest` is the draw the batch is when the client began every step of every round
/// (round x kappa1 + step); a client that missed or abandoned steps drew fewer, never more. In a run
/// without such faults the latest draw is the batch itself, whatever other draws have the same lengths.
std::optional<std::vector<std::vector<int32_t>>> replay_batch(const std::vector<std::vector<int32_t>>& examples,
                                                              uint64_t seed, std::size_t batch_size,
                                                              std::size_t latest, const std::vector<uint32_t>& lengths);

/// Attacks RUN (its config.toml, capture/ and, if present, summary.json) and returns the report; progress
/// lines go to `progress` when given. elsa::error naming what is missing or malformed.
attack_report invert_run(const std::filesystem::path& run_dir, const invert_options& options, std::ostream* progress);

} // namespace elsa::attack
