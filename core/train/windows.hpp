// Batches of evaluation windows cut from a token stream. Pre-training's held-out perplexity and `elsa eval-lm`
// both build their batches here, so they score exactly the same tokens. Includes torch: core/train only.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace elsa::train {

/// Windows starts[first .. first + count) of `stream`, T + 1 tokens each (inputs plus the next-token
/// targets): a (count, T + 1) int64 tensor. The starts come from eval_windows() (core/train/tokens.hpp).
inline torch::Tensor window_batch(const std::vector<int32_t>& stream, const std::vector<int64_t>& starts,
                                  int64_t first, int64_t count, int64_t T) {
  auto buf = torch::empty({count, T + 1}, torch::kLong);
  auto acc = buf.accessor<int64_t, 2>();
  for (int64_t b = 0; b < count; ++b)
    for (int64_t t = 0; t <= T; ++t)
      acc[b][t] = stream[static_cast<size_t>(starts[static_cast<size_t>(first + b)] + t)];
  return buf;
}

} // namespace elsa::train
