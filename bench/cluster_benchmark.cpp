// Behaviour clustering at scale: for 100, 250, 500 and 1,000 clients with d = 192 diagonal-Gaussian
// fingerprints drawn around 4 planted groups (seeded), the seconds on one thread of the pairwise symmetric-KL
// matrix plus PAM with K = 4, and of choosing K in 2..8 by silhouette, with the adjusted Rand index of each
// against the planted groups; then the bytes one fingerprint takes on the wire.
//
//   build/elsa_cluster_benchmark    prints the table; no files needed
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <vector>

#include <fmt/core.h>

#include "core/cluster/clustering.hpp"
#include "core/data/random.hpp"

namespace {

using namespace elsa;
using data::detail::mix_seed;
using data::detail::normal;

constexpr std::size_t dims = 192;
constexpr uint32_t groups = 4;

struct population {
  std::vector<cluster::diagonal_gaussian> fingerprints;
  std::vector<uint32_t> truth;
};

// Each group has its own mean and log-variance profile; a client is its group's profile plus noise about
// half the spacing between groups in each dimension: they overlap per dimension and separate over all 192.
population draw(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(mix_seed(seed, 0));
  std::vector<std::vector<double>> mean(groups, std::vector<double>(dims)), log_var(groups, std::vector<double>(dims));
  for (uint32_t g = 0; g < groups; ++g)
    for (std::size_t i = 0; i < dims; ++i) {
      mean[g][i] = 0.3 * normal(rng);
      log_var[g][i] = 0.2 * normal(rng);
    }
  population p;
  for (std::size_t c = 0; c < n; ++c) {
    const uint32_t g = static_cast<uint32_t>(c % groups);
    cluster::diagonal_gaussian f;
    for (std::size_t i = 0; i < dims; ++i) {
      f.mean.push_back(mean[g][i] + 0.2 * normal(rng));
      f.variance.push_back(std::exp(log_var[g][i] + 0.07 * normal(rng)));
    }
    p.fingerprints.push_back(std::move(f));
    p.truth.push_back(g);
  }
  return p;
}

template <class F>
double seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int main() {
  std::cout << fmt::format("clustering {} planted groups, d = {}, one thread\n", groups, dims);
  std::cout << fmt::format("{:>8} {:>10} {:>8} {:>10} {:>10} {:>6} {:>8}\n", "clients", "kl+pam4_s", "ari", "kl_s",
                           "silh2-8_s", "k", "ari");
  for (std::size_t n : {100, 250, 500, 1000}) {
    const auto pop = draw(n, 2024 + n);
    cluster::distance_matrix d;
    cluster::partition fixed, chosen;
    double kl_s = 0;
    const double fixed_s = seconds([&] {
      kl_s = seconds([&] { d = cluster::pairwise_symmetric_kl(pop.fingerprints); });
      fixed = cluster::k_medoids(d, groups);
    });
    const double silhouette_s = seconds([&] { chosen = cluster::k_medoids_by_silhouette(d, 8); });
    std::cout << fmt::format("{:>8} {:>10.3f} {:>8.3f} {:>10.3f} {:>10.3f} {:>6} {:>8.3f}\n", n, fixed_s,
                             cluster::adjusted_rand_index(fixed.label, pop.truth), kl_s, silhouette_s,
                             chosen.medoid.size(), cluster::adjusted_rand_index(chosen.label, pop.truth));
  }
  std::cout << "(silh2-8_s is k_medoids_by_silhouette on the same matrix, the matrix not counted again)\n";
  std::cout << fmt::format("fingerprint on the wire: 2 x {} f32 = {} bytes of tensor payload (mean and "
                           "variance), excluding the message envelope\n",
                           dims, 2 * dims * 4);
  std::cout << "target: KL matrix + PAM for 1000 clients < 5 s on one core\n";
  return 0;
}
