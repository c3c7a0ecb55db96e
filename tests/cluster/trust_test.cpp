// Prediction-consistency trust: the score formula on a hand-made case, outliers and drifting clients scoring
// below honest ones on seeded fingerprints, the EMA, and the median scales falling back to 1.
#include "core/cluster/trust.hpp"

#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/cluster/clustering.hpp"
#include "core/data/random.hpp"
#include "core/errors.hpp"

namespace elsa::cluster {
namespace {

using data::detail::mix_seed;
using data::detail::normal;
using data::detail::uniform_open0;

// Three groups of 8 clients with d = 16 diagonal-Gaussian fingerprints around their group's centre; client
// `outlier` (in group 0) sits much further from the centre than the others but still nearest to group 0.
std::vector<diagonal_gaussian> fingerprints(uint64_t seed, std::size_t outlier) {
  std::mt19937_64 rng(mix_seed(seed, 0));
  std::vector<std::vector<double>> centre(3, std::vector<double>(16));
  for (auto& c : centre)
    for (auto& v : c)
      v = 10.0 * normal(rng);
  std::vector<diagonal_gaussian> out;
  for (std::size_t i = 0; i < 24; ++i) {
    diagonal_gaussian g;
    const double spread = i == outlier ? 1.5 : 0.3;
    for (std::size_t j = 0; j < 16; ++j) {
      g.mean.push_back(centre[i % 3][j] + spread * normal(rng));
      g.variance.push_back(1.0 + 0.1 * uniform_open0(rng));
    }
    out.push_back(std::move(g));
  }
  return out;
}

TEST(ConsistencyScores, FollowTheFormulaOnAHandMadeCase) {
  // Clients 0, 1 in cluster 0 (medoid 0) and 2, 3 in cluster 1 (medoid 2); distances to the medoid 0 2 0 4
  // (median 1), known drifts 1, 3, 0.5 (median 1).
  distance_matrix d{4, std::vector<double>(16, 9.0)};
  for (std::size_t i = 0; i < 4; ++i)
    d.values[i * 4 + i] = 0.0;
  d.values[1 * 4 + 0] = d.values[0 * 4 + 1] = 2.0;
  d.values[3 * 4 + 2] = d.values[2 * 4 + 3] = 4.0;
  const partition p{{0, 0, 1, 1}, {{0, 0}, {1, 2}}, 6.0};
  const std::vector<std::optional<double>> drift{1.0, std::nullopt, 3.0, 0.5};
  const auto c = consistency_scores(d, p, drift, {1.0, 2.0, 0.5, 0.3});
  ASSERT_EQ(c.size(), 4u);
  // Excess over the medians: distances 0 1 0 3, drifts 0 - 2 0.
  EXPECT_EQ(c[0], 1.0);
  EXPECT_NEAR(c[1], std::exp(-1.0), 1e-15);
  EXPECT_NEAR(c[2], std::exp(-2.0 * 2.0), 1e-15);
  EXPECT_NEAR(c[3], std::exp(-3.0), 1e-15);
  // beta = gamma = 0: every client is fully consistent.
  for (double v : consistency_scores(d, p, drift, {0.0, 0.0, 0.5, 0.3}))
    EXPECT_EQ(v, 1.0);
}

TEST(ConsistencyScores, AnOutlierScoresBelowTheMembersOfItsCluster) {
  for (uint64_t seed : {1, 2, 3}) {
    const std::size_t outlier = 6;
    const auto d = pairwise_symmetric_kl(fingerprints(seed, outlier));
    const auto p = k_medoids(d, 3);
    ASSERT_EQ(p.label[outlier], p.label[0]) << "the outlier still belongs to group 0";
    const auto c = consistency_scores(d, p, std::vector<std::optional<double>>(24), {});
    for (std::size_t i = 0; i < 24; ++i) {
      EXPECT_GT(c[i], 0.0);
      EXPECT_LE(c[i], 1.0);
      if (i != outlier) {
        EXPECT_LT(c[outlier], c[i]) << "seed " << seed << " client " << i;
      }
    }
  }
}

TEST(ConsistencyScores, ADriftingClientScoresLower) {
  // Now every client is a typical member of its group; at the previous fingerprinting the drifter was
  // somewhere else, so only its drift is unusual.
  const auto after = fingerprints(4, 99);
  auto before = after;
  std::mt19937_64 rng(mix_seed(4, 1));
  for (auto& g : before)
    for (auto& m : g.mean)
      m += 0.05 * normal(rng);
  const std::size_t drifter = 10;
  for (auto& m : before[drifter].mean)
    m += 1.0 * normal(rng);
  const auto d = pairwise_symmetric_kl(after);
  const auto p = k_medoids(d, 3);
  std::vector<std::optional<double>> drift;
  for (std::size_t i = 0; i < 24; ++i)
    drift.push_back(symmetric_kl(before[i], after[i]));
  const auto c = consistency_scores(d, p, drift, {});
  for (std::size_t i = 0; i < 24; ++i)
    if (i != drifter) {
      EXPECT_LT(c[drifter], c[i]) << "client " << i;
    }
  // Without the drift term the drifter is not singled out: the drift is what lowers it.
  const auto no_drift = consistency_scores(d, p, drift, {1.0, 0.0, 0.5, 0.3});
  std::size_t above = 0;
  for (std::size_t i = 0; i < 24; ++i)
    above += no_drift[i] < no_drift[drifter];
  EXPECT_GT(above, 0u);
}

TEST(ConsistencyScores, MediansOfZeroAreReplacedByOne) {
  // Two pairs of identical fingerprints: every distance to a medoid is 0, so is their median. Drifts 0, 0,
  // 1.7, 0: the drift median is 0 too. Both are replaced by 1.
  distance_matrix d{4, {0, 0, 5, 5, 0, 0, 5, 5, 5, 5, 0, 0, 5, 5, 0, 0}};
  const partition pairs{{0, 0, 1, 1}, {{0, 0}, {1, 2}}, 0.0};
  const auto c = consistency_scores(d, pairs, {0.0, 0.0, 1.7, 0.0}, {1.0, 2.0, 0.5, 0.3});
  EXPECT_EQ(c[0], 1.0);
  EXPECT_EQ(c[1], 1.0);
  EXPECT_NEAR(c[2], std::exp(-2.0 * 0.7), 1e-15);
  EXPECT_EQ(c[3], 1.0);
  // One cluster, medoid 0, distances to it 0 0 2: median 0 (so 1), so client 2 scores exp(-(2 - 1)).
  distance_matrix e{3, {0, 0, 2, 0, 0, 2, 2, 2, 0}};
  const partition one{{0, 0, 0}, {{0, 0}}, 2.0};
  const auto s = consistency_scores(e, one, std::vector<std::optional<double>>(3), {});
  EXPECT_NEAR(s[2], std::exp(-1.0), 1e-15);
  EXPECT_EQ(s[0], 1.0);
}

TEST(ConsistencyScores, AClientAloneInItsClusterIsMeasuredByItsNearestNeighbour) {
  // Clients 0-2 close together (cluster 0, medoid 0), client 3 far away in a cluster of its own.
  distance_matrix d{4, {0, 1, 1, 8, 1, 0, 1, 9, 1, 1, 0, 10, 8, 9, 10, 0}};
  const partition p{{0, 0, 0, 1}, {{0, 0}, {1, 3}}, 2.0};
  const auto c = consistency_scores(d, p, std::vector<std::optional<double>>(4), {});
  // Distances used: 0 1 1 8 (not 0 for client 3); median 1.
  EXPECT_EQ(c[0], 1.0);
  EXPECT_EQ(c[1], 1.0);
  EXPECT_NEAR(c[3], std::exp(-7.0), 1e-15);
}

TEST(ConsistencyScores, RejectsMismatchedInput) {
  distance_matrix d{2, {0, 1, 1, 0}};
  const partition p{{0, 0}, {{0, 0}}, 1.0};
  EXPECT_THROW(consistency_scores(d, p, {std::nullopt}, {}), elsa::error);
  EXPECT_THROW(consistency_scores(d, partition{{0, 1}, {{0, 0}}, 1.0}, {std::nullopt, std::nullopt}, {}), elsa::error)
    << "cluster 1 has no medoid";
  EXPECT_THROW(consistency_scores(d, p, {-1.0, std::nullopt}, {}), elsa::error);
  EXPECT_THROW(consistency_scores(d, p, {std::nullopt, std::nullopt}, {-1.0, 1.0, 0.5, 0.3}), elsa::error);
}

TEST(UpdatedTrust, IsAnExponentialMovingAverage) {
  EXPECT_DOUBLE_EQ(updated_trust(0.8, 0.2, {}), 0.5);
  EXPECT_DOUBLE_EQ(updated_trust(0.8, 0.2, {1.0, 1.0, 0.9, 0.3}), 0.9 * 0.8 + 0.1 * 0.2);
  EXPECT_DOUBLE_EQ(updated_trust(0.8, 0.2, {1.0, 1.0, 1.0, 0.3}), 0.8) << "rho = 1 never moves";
  // A client that keeps scoring 0.1 sinks under tau_min = 0.3 after three updates from 1 (0.55, 0.325, 0.2125).
  trust_params params;
  double tau = 1.0;
  int updates = 0;
  while (tau >= params.tau_min) {
    tau = updated_trust(tau, 0.1, params);
    ++updates;
  }
  EXPECT_EQ(updates, 3);
  for (int i = 0; i < 60; ++i)
    tau = updated_trust(tau, 0.1, params);
  EXPECT_NEAR(tau, 0.1, 1e-12);
  EXPECT_THROW(updated_trust(0.5, 0.5, {1.0, 1.0, 1.5, 0.3}), elsa::error);
}

} // namespace
} // namespace elsa::cluster
