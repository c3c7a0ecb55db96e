// Client sampling (see sampling.hpp).
#include "core/fed/sampling.hpp"

#include <algorithm>

namespace elsa::fed {

namespace {

// splitmix64: a stream that depends only on its seed.
uint64_t next(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

} // namespace

std::vector<uint32_t> sample_clients(std::vector<uint32_t> candidates, int64_t k, uint64_t seed, uint32_t round) {
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  if (k < 0 || static_cast<std::size_t>(k) >= candidates.size())
    return candidates;
  // A partial Fisher-Yates over the sorted ids: the first k after k swaps.
  uint64_t state = seed ^ (0x5A3D1E5ULL + 0x100000001B3ULL * round);
  for (std::size_t i = 0; i < static_cast<std::size_t>(k); ++i) {
    const auto j = i + static_cast<std::size_t>(next(state) % (candidates.size() - i));
    std::swap(candidates[i], candidates[j]);
  }
  candidates.resize(static_cast<std::size_t>(k));
  std::sort(candidates.begin(), candidates.end());
  return candidates;
}

std::size_t batches_before(const run::run_config& cfg, uint32_t client, uint32_t round) {
  const auto per_round = static_cast<std::size_t>(cfg.kappa1);
  if (cfg.sampled_per_round() <= 0)
    return static_cast<std::size_t>(round) * per_round;
  std::vector<uint32_t> all(static_cast<std::size_t>(cfg.clients));
  for (uint32_t c = 0; c < all.size(); ++c)
    all[c] = c;
  std::size_t n = 0;
  for (uint32_t r = 0; r < round; ++r) {
    const auto drawn = sample_clients(all, cfg.sampled_per_round(), cfg.seed, r);
    n += std::binary_search(drawn.begin(), drawn.end(), client) ? per_round : 0;
  }
  return n;
}

} // namespace elsa::fed
