// The order a client draws its training batches in: a seeded permutation of its examples per epoch, taken
// batch_size at a time (an epoch's tail continues into the next epoch's permutation). split_client draws
// with it, and the inversion attack (core/attack) replays it to score a captured batch against the tokens
// the client really sent. Torch-free.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace elsa::fed {

class batch_sampler {
public:
  /// `examples` > 0 items, drawn without replacement within an epoch.
  batch_sampler(std::size_t examples, uint64_t seed) : order_(examples), cursor_(examples), rng_(seed) {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
  }

  /// The seed of client `client`'s sampler in a run seeded with `run_seed`.
  static uint64_t client_seed(uint64_t run_seed, uint32_t client) {
    return run_seed * 1000003ULL + client;
  }

  /// Indices of the next batch.
  std::vector<std::size_t> next(std::size_t batch_size) {
    std::vector<std::size_t> out;
    out.reserve(batch_size);
    while (out.size() < batch_size) {
      if (cursor_ == order_.size()) {
        std::shuffle(order_.begin(), order_.end(), rng_);
        cursor_ = 0;
      }
      out.push_back(order_[cursor_++]);
    }
    return out;
  }

private:
  std::vector<std::size_t> order_;
  std::size_t cursor_;
  std::mt19937_64 rng_;
};

} // namespace elsa::fed
