// Sequence classification plumbing shared by centralised fine-tuning (finetune.cpp) and federated runs
// (core/fed): examples -> truncated token ids, padded batches, length buckets, and scoring a model.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <torch/torch.h>

#include "core/data/tasks.hpp"
#include "core/model/gpt2.hpp"
#include "core/text/tokenizer.hpp"

namespace elsa::train {

/// One example as token ids (the start of the text, then <|endoftext|>) and its label.
struct encoded {
  std::vector<int32_t> ids;
  int32_t label;
};

/// Encodes xs, keeping at most max_len tokens per example (max_len - 1 of text plus eot when append_eot).
std::vector<encoded> encode_examples(const text::bpe_tokenizer& tok, const std::vector<data::example>& xs,
                                     int64_t max_len, bool append_eot);

/// Seeded subsample of at most n items (all of them, shuffled, when there are fewer).
template <class T>
std::vector<T> subsample(const std::vector<T>& xs, int64_t n, std::mt19937_64& rng) {
  std::vector<size_t> idx(xs.size());
  for (size_t i = 0; i < idx.size(); ++i)
    idx[i] = i;
  std::shuffle(idx.begin(), idx.end(), rng);
  if (static_cast<int64_t>(idx.size()) > n)
    idx.resize(static_cast<size_t>(n));
  std::vector<T> out;
  out.reserve(idx.size());
  for (size_t i : idx)
    out.push_back(xs[i]);
  return out;
}

/// A right-padded batch: ids (B, T) int64, mask (B, T) int64 (1 = token), labels (B) int64.
struct classify_batch {
  torch::Tensor ids, mask, labels;
};

classify_batch make_classify_batch(const std::vector<const encoded*>& items, int32_t pad);

/// Unlabelled token sequences [first, end) of `seqs` as one padded batch (labels 0): public probes, public text.
classify_batch make_token_batch(const std::vector<std::vector<int32_t>>& seqs, std::size_t first, std::size_t end,
                                int32_t pad);

/// Batches of similar length (less padding, a large speed-up on CPU), in random order.
std::vector<std::vector<const encoded*>> bucketed_batches(const std::vector<encoded>& xs, int64_t batch_size,
                                                          std::mt19937_64& rng);

struct eval_result {
  double accuracy = 0;
  double macro_f1 = 0;
  double loss = 0;     // mean cross-entropy
  int64_t count = 0;   // examples scored
};

/// Scores model + classifier (K labels) on xs in eval mode, batches of 32 sorted by length. With `bank`
/// the model is a shared frozen base: it runs with the bank's adapters and its mode is left alone.
eval_result evaluate_classifier(model::GPT2& model, model::Classifier& cls, const std::vector<encoded>& xs,
                                int64_t K, int32_t pad, const model::adapter_bank* bank = nullptr);

} // namespace elsa::train
