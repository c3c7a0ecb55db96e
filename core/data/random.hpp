// Seeded random helpers for splits and partitions. The standard distributions (uniform_int_distribution,
// gamma_distribution, std::shuffle) are implementation-defined, so the same seed could give different
// splits with another standard library; these are written out so that results depend only on the seed.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace elsa::data::detail {

/// SplitMix64 finaliser: turns (seed, stream) pairs into well-separated mt19937_64 seeds.
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Uniform integer in [0, n), n > 0, without modulo bias.
inline uint64_t uniform_index(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % n;
}

/// Uniform double in (0, 1]: never 0, so log() is safe.
inline double uniform_open0(std::mt19937_64& rng) {
  return (static_cast<double>(rng() >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

/// Fisher-Yates shuffle.
template <class T>
void shuffle(std::vector<T>& items, std::mt19937_64& rng) {
  for (size_t i = items.size(); i > 1; --i)
    std::swap(items[i - 1], items[uniform_index(rng, i)]);
}

/// Standard normal (Box-Muller; one of the pair is discarded, simplicity over speed).
inline double normal(std::mt19937_64& rng) {
  double u1 = uniform_open0(rng);
  double u2 = uniform_open0(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

/// log of a Gamma(alpha, 1) draw, alpha > 0 (Marsaglia-Tsang). The log keeps tiny alphas (0.01) from
/// underflowing to an all-zero Dirichlet draw.
inline double log_gamma_draw(std::mt19937_64& rng, double alpha) {
  double boost = 0.0;
  if (alpha < 1.0) {
    // Gamma(a) = Gamma(a + 1) * U^(1/a)
    boost = std::log(uniform_open0(rng)) / alpha;
    alpha += 1.0;
  }
  const double d = alpha - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = normal(rng);
    double v = 1.0 + c * x;
    if (v <= 0.0)
      continue;
    v = v * v * v;
    double u = uniform_open0(rng);
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v))
      return std::log(d * v) + boost;
  }
}

/// A Dirichlet(alpha, ..., alpha) draw over k components.
inline std::vector<double> dirichlet(std::mt19937_64& rng, size_t k, double alpha) {
  std::vector<double> logs(k);
  double top = -INFINITY;
  for (auto& l : logs) {
    l = log_gamma_draw(rng, alpha);
    top = std::max(top, l);
  }
  double sum = 0.0;
  for (auto& l : logs) {
    l = std::exp(l - top);
    sum += l;
  }
  for (auto& l : logs)
    l /= sum;
  return logs;
}

} // namespace elsa::data::detail
