// What a user runs to see what the base model learned: held-out perplexity next to a unigram baseline
// (`elsa eval-lm`) and sampling (`elsa generate`). No torch in this header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace elsa::train {

struct lm_eval_result {
  double model_perplexity = 0;
  double unigram_perplexity = 0; // add-one unigram fitted on the pre-training corpus tokens
  int64_t tokens = 0;            // held-out tokens scored (the same for both)
  int64_t documents = 0;
};

/// Scores the held-out LM text of core/data (lm_heldout) with the model in model_dir (its vocab.json and
/// merges.txt tokenise), in non-overlapping windows of n_positions tokens; max_tokens = 0 means all.
lm_eval_result evaluate_lm(const std::filesystem::path& model_dir, const std::filesystem::path& data_dir,
                           int64_t max_tokens, int64_t threads);

struct generate_options {
  std::string prompt;
  int64_t max_new = 50;
  bool greedy = false;
  int64_t top_k = 40;
  double temperature = 1.0;
  uint64_t seed = 1234;
};

/// Returns prompt + continuation (stops early at <|endoftext|>); the context is the last n_positions tokens.
std::string generate(const std::filesystem::path& model_dir, const generate_options& options);

} // namespace elsa::train
