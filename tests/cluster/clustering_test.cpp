// Behaviour clustering: the closed-form KL against numerical integration (1-D) and Monte Carlo (8-D), PAM
// on planted blobs and against brute force, silhouette and the adjusted Rand index on hand-computed cases,
// and stable ids by an exact maximum-overlap matching.
#include "core/cluster/clustering.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/data/random.hpp"
#include "core/errors.hpp"

namespace elsa::cluster {
namespace {

using data::detail::mix_seed;
using data::detail::normal;
using data::detail::uniform_index;
using data::detail::uniform_open0;

constexpr double pi = 3.141592653589793;

double log_normal_pdf(double x, double m, double v) {
  return -0.5 * std::log(2.0 * pi * v) - (x - m) * (x - m) / (2.0 * v);
}

diagonal_gaussian random_gaussian(std::mt19937_64& rng, std::size_t d) {
  diagonal_gaussian g;
  for (std::size_t i = 0; i < d; ++i) {
    g.mean.push_back(2.0 * normal(rng));
    g.variance.push_back(0.2 + 3.0 * uniform_open0(rng));
  }
  return g;
}

struct blobs {
  distance_matrix d;
  std::vector<uint32_t> truth;
};

// `groups` well-separated Gaussian blobs in 2-D (centres on a circle of radius 20, spread 0.5), points
// interleaved so that a blob's points are not neighbours in index order; Euclidean distances.
blobs planted_blobs(uint32_t groups, std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(mix_seed(seed, 0));
  std::vector<double> x(n), y(n);
  blobs b;
  for (std::size_t i = 0; i < n; ++i) {
    const uint32_t g = static_cast<uint32_t>(i % groups);
    const double angle = 2.0 * pi * g / groups;
    x[i] = 20.0 * std::cos(angle) + 0.5 * normal(rng);
    y[i] = 20.0 * std::sin(angle) + 0.5 * normal(rng);
    b.truth.push_back(g);
  }
  b.d = {n, std::vector<double>(n * n)};
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      b.d.values[i * n + j] = std::hypot(x[i] - x[j], y[i] - y[j]);
  return b;
}

distance_matrix line(const std::vector<double>& xs) {
  distance_matrix d{xs.size(), std::vector<double>(xs.size() * xs.size())};
  for (std::size_t i = 0; i < xs.size(); ++i)
    for (std::size_t j = 0; j < xs.size(); ++j)
      d.values[i * xs.size() + j] = std::abs(xs[i] - xs[j]);
  return d;
}

double cost_of(const distance_matrix& d, const std::vector<std::size_t>& medoids) {
  double c = 0.0;
  for (std::size_t j = 0; j < d.n; ++j) {
    double best = INFINITY;
    for (auto m : medoids)
      best = std::min(best, d(m, j));
    c += best;
  }
  return c;
}

// The BUILD phase alone, written out plainly: each step adds the point that lowers the cost the most.
double build_only_cost(const distance_matrix& d, std::size_t k) {
  std::vector<std::size_t> medoids;
  for (std::size_t step = 0; step < k; ++step) {
    std::size_t best = d.n;
    double best_cost = INFINITY;
    for (std::size_t i = 0; i < d.n; ++i) {
      if (std::find(medoids.begin(), medoids.end(), i) != medoids.end())
        continue;
      auto with = medoids;
      with.push_back(i);
      const double c = cost_of(d, with);
      if (c < best_cost) {
        best_cost = c;
        best = i;
      }
    }
    medoids.push_back(best);
  }
  return cost_of(d, medoids);
}

double optimal_cost(const distance_matrix& d, std::size_t k) {
  std::vector<bool> pick(d.n, false);
  std::fill(pick.begin(), pick.begin() + static_cast<std::ptrdiff_t>(k), true);
  double best = INFINITY;
  do {
    std::vector<std::size_t> medoids;
    for (std::size_t i = 0; i < d.n; ++i)
      if (pick[i])
        medoids.push_back(i);
    best = std::min(best, cost_of(d, medoids));
  } while (std::prev_permutation(pick.begin(), pick.end()));
  return best;
}

std::size_t agreement(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    same += a[i] == b[i];
  return same;
}

// -- KL ---------------------------------------------------------------------------------------------------

TEST(KlDivergence, MatchesTrapezoidIntegrationInOneDimension) {
  const std::vector<std::array<double, 4>> cases{
    {0.3, 0.5, -0.7, 2.0}, {0.0, 1.0, 0.0, 4.0}, {1.5, 3.0, -2.0, 0.8}, {0.0, 0.1, 0.2, 0.1}};
  for (const auto& [mp, vp, mq, vq] : cases) {
    // Integrand p (log p - log q) on [-40, 40] with step 1e-4: the tails beyond hold under 1e-30.
    const double lo = -40.0, hi = 40.0;
    const std::size_t steps = 800000;
    const double h = (hi - lo) / steps;
    double integral = 0.0;
    for (std::size_t i = 0; i <= steps; ++i) {
      const double x = lo + h * static_cast<double>(i);
      const double lp = log_normal_pdf(x, mp, vp);
      const double f = std::exp(lp) * (lp - log_normal_pdf(x, mq, vq));
      integral += (i == 0 || i == steps) ? 0.5 * f : f;
    }
    integral *= h;
    const double kl = kl_divergence({{mp}, {vp}}, {{mq}, {vq}});
    EXPECT_NEAR(kl, integral, 1e-6 * integral) << mp << " " << vp << " " << mq << " " << vq;
  }
}

TEST(KlDivergence, MatchesMonteCarloInEightDimensions) {
  std::mt19937_64 rng(mix_seed(7, 1));
  const auto p = random_gaussian(rng, 8);
  const auto q = random_gaussian(rng, 8);
  const std::size_t samples = 200000;
  double sum = 0.0, sum_sq = 0.0;
  for (std::size_t s = 0; s < samples; ++s) {
    double log_ratio = 0.0;
    for (std::size_t i = 0; i < 8; ++i) {
      const double x = p.mean[i] + std::sqrt(p.variance[i]) * normal(rng);
      log_ratio += log_normal_pdf(x, p.mean[i], p.variance[i]) - log_normal_pdf(x, q.mean[i], q.variance[i]);
    }
    sum += log_ratio;
    sum_sq += log_ratio * log_ratio;
  }
  const double mean = sum / samples;
  const double se = std::sqrt((sum_sq / samples - mean * mean) / samples);
  const double kl = kl_divergence(p, q);
  EXPECT_GT(kl, 1.0) << "the case should not be trivially small";
  EXPECT_NEAR(kl, mean, 4.0 * se) << "standard error " << se;
}

TEST(KlDivergence, IsZeroForTheSameDistributionAndAsymmetricOtherwise) {
  std::mt19937_64 rng(mix_seed(11, 2));
  const auto p = random_gaussian(rng, 16);
  EXPECT_NEAR(kl_divergence(p, p), 0.0, 1e-12);
  EXPECT_NEAR(symmetric_kl(p, p), 0.0, 1e-12);
  // N(0, 1) vs N(0, 4): 1/2 (1/4 - 1 + ln 4) one way, 1/2 (4 - 1 - ln 4) the other.
  const diagonal_gaussian narrow{{0.0}, {1.0}}, wide{{0.0}, {4.0}};
  EXPECT_NEAR(kl_divergence(narrow, wide), 0.5 * (0.25 - 1.0 + std::log(4.0)), 1e-12);
  EXPECT_NEAR(kl_divergence(wide, narrow), 0.5 * (4.0 - 1.0 - std::log(4.0)), 1e-12);
  EXPECT_GT(std::abs(kl_divergence(narrow, wide) - kl_divergence(wide, narrow)), 0.4);
  EXPECT_NEAR(symmetric_kl(narrow, wide), 0.5625, 1e-12); // 1/2 (0.318147... + 0.806853...)
}

TEST(KlDivergence, SymmetricIsTheMeanOfBothDirections) {
  std::mt19937_64 rng(mix_seed(12, 3));
  for (int trial = 0; trial < 20; ++trial) {
    const auto a = random_gaussian(rng, 8);
    const auto b = random_gaussian(rng, 8);
    const double expected = 0.5 * (kl_divergence(a, b) + kl_divergence(b, a));
    EXPECT_NEAR(symmetric_kl(a, b), expected, 1e-10 * expected);
    EXPECT_DOUBLE_EQ(symmetric_kl(a, b), symmetric_kl(b, a));
  }
}

TEST(KlDivergence, RejectsMismatchedDimensionsAndNonPositiveVariance) {
  const diagonal_gaussian two{{0.0, 1.0}, {1.0, 1.0}}, three{{0.0, 1.0, 2.0}, {1.0, 1.0, 1.0}};
  EXPECT_THROW(kl_divergence(two, three), elsa::error);
  EXPECT_THROW(symmetric_kl(two, three), elsa::error);
  EXPECT_THROW(pairwise_symmetric_kl(std::vector<diagonal_gaussian>{two, three}), elsa::error);
  EXPECT_THROW(kl_divergence({{0.0, 1.0}, {1.0}}, {{0.0, 1.0}, {1.0}}), elsa::error) << "mean vs variance";
  for (double bad : {0.0, -1.0, std::nan("")}) {
    const diagonal_gaussian broken{{0.0, 1.0}, {1.0, bad}};
    EXPECT_THROW(kl_divergence(two, broken), elsa::error) << bad;
    EXPECT_THROW(kl_divergence(broken, two), elsa::error) << bad;
    EXPECT_THROW(symmetric_kl(broken, two), elsa::error) << bad;
  }
  try {
    kl_divergence(two, three);
    FAIL() << "no error";
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
    EXPECT_NE(std::string{e.what()}.find("dimension"), std::string::npos) << e.what();
  }
}

TEST(PredictiveKl, MatchesAHandComputedCase) {
  // Row 1: 1/2 [0.25 ln 2 - 0.25 ln (2/3)] = (ln 3) / 8; row 2 is the same distribution: 0. Mean: ln 3 / 16.
  const predictive a{2, 2, {0.5, 0.5, 0.9, 0.1}};
  const predictive b{2, 2, {0.25, 0.75, 0.9, 0.1}};
  EXPECT_NEAR(symmetric_kl(a, b), std::log(3.0) / 16.0, 1e-14);
  EXPECT_NEAR(symmetric_kl(b, a), std::log(3.0) / 16.0, 1e-14);
  EXPECT_NEAR(symmetric_kl(a, a), 0.0, 1e-15);
  const auto d = pairwise_symmetric_kl(std::vector<predictive>{a, b, a});
  EXPECT_EQ(d.n, 3u);
  EXPECT_NEAR(d(0, 1), std::log(3.0) / 16.0, 1e-14);
  EXPECT_NEAR(d(2, 1), std::log(3.0) / 16.0, 1e-14);
  EXPECT_EQ(d(0, 2), 0.0);
  EXPECT_EQ(d(1, 1), 0.0);
}

TEST(PredictiveKl, RejectsShapeMismatchAndZeroProbabilities) {
  const predictive a{2, 2, {0.5, 0.5, 0.9, 0.1}};
  EXPECT_THROW(symmetric_kl(a, predictive{1, 2, {0.5, 0.5}}), elsa::error);
  EXPECT_THROW(symmetric_kl(a, predictive{2, 2, {0.5, 0.5, 0.9}}), elsa::error);
  EXPECT_THROW(symmetric_kl(a, predictive{2, 2, {1.0, 0.0, 0.9, 0.1}}), elsa::error);
  EXPECT_THROW(pairwise_symmetric_kl(std::vector<predictive>{a, predictive{4, 1, {1, 1, 1, 1}}}), elsa::error);
}

TEST(PairwiseKl, IsSymmetricWithAZeroDiagonalAndAgreesWithThePairFunction) {
  std::mt19937_64 rng(mix_seed(13, 4));
  std::vector<diagonal_gaussian> f;
  for (int i = 0; i < 12; ++i)
    f.push_back(random_gaussian(rng, 24));
  const auto d = pairwise_symmetric_kl(f);
  ASSERT_EQ(d.n, 12u);
  ASSERT_EQ(d.values.size(), 144u);
  for (std::size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(d(i, i), 0.0);
    for (std::size_t j = 0; j < 12; ++j) {
      EXPECT_EQ(d(i, j), d(j, i));
      if (i != j) {
        EXPECT_NEAR(d(i, j), symmetric_kl(f[i], f[j]), 1e-10 * d(i, j));
      }
    }
  }
  EXPECT_EQ(pairwise_symmetric_kl(std::vector<diagonal_gaussian>{}).n, 0u);
}

// -- PAM ----------------------------------------------------------------------------------------------------

TEST(KMedoids, FindsThreePlantedBlobsExactly) {
  for (uint64_t seed : {1, 2, 3}) {
    const auto b = planted_blobs(3, 30, seed);
    const auto p = k_medoids(b.d, 3);
    EXPECT_DOUBLE_EQ(adjusted_rand_index(p.label, b.truth), 1.0) << "seed " << seed;
    ASSERT_EQ(p.medoid.size(), 3u);
    std::size_t previous = 0;
    double cost = 0.0;
    for (const auto& [id, m] : p.medoid) {
      EXPECT_EQ(p.label[m], id) << "a medoid belongs to its own cluster";
      if (id > 0) {
        EXPECT_GT(m, previous) << "ids in the order of the medoids' indices";
      }
      previous = m;
    }
    for (std::size_t j = 0; j < 30; ++j)
      cost += b.d(p.medoid.at(p.label[j]), j);
    EXPECT_NEAR(p.cost, cost, 1e-9);
  }
}

TEST(KMedoids, NeverCostsMoreThanBuildAloneAndNoSwapImproves) {
  std::mt19937_64 rng(mix_seed(21, 5));
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t n = 6 + uniform_index(rng, 7);
    const std::size_t k = 1 + uniform_index(rng, 4);
    std::vector<double> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = 10.0 * uniform_open0(rng);
      y[i] = 10.0 * uniform_open0(rng);
    }
    distance_matrix d{n, std::vector<double>(n * n)};
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        d.values[i * n + j] = std::hypot(x[i] - x[j], y[i] - y[j]);
    const auto p = k_medoids(d, static_cast<uint32_t>(k));
    std::vector<std::size_t> medoids;
    for (const auto& [id, m] : p.medoid)
      medoids.push_back(m);
    ASSERT_EQ(medoids.size(), k);
    EXPECT_NEAR(p.cost, cost_of(d, medoids), 1e-9);
    EXPECT_LE(p.cost, build_only_cost(d, k) + 1e-9) << "trial " << trial;
    EXPECT_GE(p.cost, optimal_cost(d, k) - 1e-9);
    for (std::size_t s = 0; s < k; ++s)
      for (std::size_t h = 0; h < n; ++h) {
        if (std::find(medoids.begin(), medoids.end(), h) != medoids.end())
          continue;
        auto swapped = medoids;
        swapped[s] = h;
        EXPECT_GE(cost_of(d, swapped), p.cost - 1e-9) << "swap " << medoids[s] << " -> " << h;
      }
  }
}

TEST(KMedoids, ClampsKAndBreaksTiesToTheLowerIndex) {
  const auto d = line({0.0, 1.0, 4.0, 5.0, 9.0});
  const auto one = k_medoids(d, 0);
  EXPECT_EQ(one.label, (std::vector<uint32_t>(5, 0)));
  EXPECT_EQ(one.medoid, (std::map<uint32_t, std::size_t>{{0, 2}})); // the point at 4 minimises the sum
  EXPECT_DOUBLE_EQ(one.cost, 4 + 3 + 0 + 1 + 5);
  const auto all = k_medoids(d, 100);
  EXPECT_EQ(all.label, (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(all.cost, 0.0);
  // Two points at 0 and two at 5: every first choice costs 10 (index 0 wins), then 2 and 3 gain the same.
  const auto ties = k_medoids(line({0.0, 0.0, 5.0, 5.0}), 2);
  EXPECT_EQ(ties.label, (std::vector<uint32_t>{0, 0, 1, 1}));
  EXPECT_EQ(ties.medoid, (std::map<uint32_t, std::size_t>{{0, 0}, {1, 2}}));
  EXPECT_THROW(k_medoids(distance_matrix{}, 2), elsa::error);
  EXPECT_THROW(k_medoids(distance_matrix{2, {0.0, 1.0, 1.0}}, 2), elsa::error);
}

TEST(Silhouette, MatchesHandComputedValues) {
  const auto d = line({0.0, 1.0, 4.0, 5.0});
  // a = 1 for every point; b = 4.5, 3.5, 3.5, 4.5: mean of 3.5/4.5 and 2.5/3.5 = 47/63.
  EXPECT_NEAR(silhouette(d, {0, 0, 1, 1}), 47.0 / 63.0, 1e-12);
  EXPECT_NEAR(silhouette(d, {7, 7, 3, 3}), 47.0 / 63.0, 1e-12) << "ids do not matter";
  // {0, 1, 4} and the singleton {5}: 0.5, 0.5, (1 - 3.5) / 3.5 and 0 -> 1/14.
  EXPECT_NEAR(silhouette(d, {0, 0, 0, 1}), 1.0 / 14.0, 1e-12);
  EXPECT_EQ(silhouette(d, {2, 2, 2, 2}), 0.0);
  EXPECT_THROW(silhouette(d, {0, 1}), elsa::error);
}

TEST(Silhouette, PicksThePlantedNumberOfClusters) {
  for (uint32_t groups : {2u, 3u, 4u, 5u}) {
    const auto b = planted_blobs(groups, 30, 100 + groups);
    const auto p = k_medoids_by_silhouette(b.d, 6);
    EXPECT_EQ(p.medoid.size(), groups);
    EXPECT_DOUBLE_EQ(adjusted_rand_index(p.label, b.truth), 1.0) << groups << " groups";
  }
  const auto two_points = k_medoids_by_silhouette(line({0.0, 3.0}), 6);
  EXPECT_EQ(two_points.label, (std::vector<uint32_t>{0, 1})) << "k_max clamped to n";
}

// -- stable ids ---------------------------------------------------------------------------------------------

TEST(KeepIds, APermutedRelabellingGetsThePreviousIdsBack) {
  const auto b = planted_blobs(4, 24, 9);
  auto p = k_medoids(b.d, 4);
  std::vector<uint32_t> previous = p.label;
  const std::map<uint32_t, uint32_t> shuffle{{0, 12}, {1, 5}, {2, 0}, {3, 7}};
  for (auto& l : previous)
    l = shuffle.at(l);
  auto expected_medoid = std::map<uint32_t, std::size_t>{};
  for (const auto& [id, m] : p.medoid)
    expected_medoid[shuffle.at(id)] = m;
  keep_ids(p, previous);
  EXPECT_EQ(p.label, previous);
  EXPECT_EQ(p.medoid, expected_medoid) << "medoids renamed with the labels";
}

TEST(KeepIds, ASplitClusterKeepsItsIdForTheLargerPart) {
  // Previous: {0 x6, 1 x3, 2 x3}. Now cluster 0 splits 4 + 2, with scrambled ids.
  const std::vector<uint32_t> previous{0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
  partition now;
  now.label = {9, 9, 9, 9, 4, 4, 2, 2, 2, 0, 0, 0};
  now.medoid = {{9, 1}, {4, 5}, {2, 7}, {0, 10}};
  keep_ids(now, previous);
  EXPECT_EQ(now.label, (std::vector<uint32_t>{0, 0, 0, 0, 3, 3, 1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(now.medoid, (std::map<uint32_t, std::size_t>{{0, 1}, {3, 5}, {1, 7}, {2, 10}}));
}

TEST(KeepIds, TheMatchingIsExactNotGreedy) {
  // Overlaps: A-X 5, A-Y 4, B-X 4. Greedy takes A-X (total 5); the best is A-Y + B-X (total 8).
  std::vector<uint32_t> previous, label;
  for (int i = 0; i < 5; ++i) {
    previous.push_back(0);
    label.push_back(10);
  }
  for (int i = 0; i < 4; ++i) {
    previous.push_back(1);
    label.push_back(10);
  }
  for (int i = 0; i < 4; ++i) {
    previous.push_back(0);
    label.push_back(20);
  }
  partition now{label, {{10, 0}, {20, 9}}, 0.0};
  keep_ids(now, previous);
  EXPECT_EQ(now.medoid, (std::map<uint32_t, std::size_t>{{1, 0}, {0, 9}}));
  EXPECT_EQ(agreement(now.label, previous), 8u);
}

TEST(KeepIds, AgreesWithBruteForceOverAllMatchings) {
  std::mt19937_64 rng(mix_seed(31, 6));
  for (int trial = 0; trial < 150; ++trial) {
    const std::size_t n = 5 + uniform_index(rng, 30);
    const uint32_t k_now = 1 + static_cast<uint32_t>(uniform_index(rng, 5));
    const uint32_t k_prev = 1 + static_cast<uint32_t>(uniform_index(rng, 5));
    partition now;
    std::vector<uint32_t> previous;
    for (std::size_t i = 0; i < n; ++i) {
      now.label.push_back(static_cast<uint32_t>(uniform_index(rng, k_now)));
      previous.push_back(static_cast<uint32_t>(uniform_index(rng, k_prev)));
    }
    for (std::size_t i = 0; i < n; ++i)
      now.medoid.emplace(now.label[i], i);
    // Brute force over every assignment of new clusters to distinct previous ids (padded with "none").
    const uint32_t m = std::max(k_now, k_prev);
    std::vector<uint32_t> perm(m);
    std::iota(perm.begin(), perm.end(), 0);
    std::size_t best = 0;
    do {
      std::size_t total = 0;
      for (std::size_t i = 0; i < n; ++i)
        total += perm[now.label[i]] == previous[i];
      best = std::max(best, total);
    } while (std::next_permutation(perm.begin(), perm.end()));
    const auto grouping_before = now.label;
    keep_ids(now, previous);
    EXPECT_EQ(agreement(now.label, previous), best) << "trial " << trial;
    EXPECT_DOUBLE_EQ(adjusted_rand_index(now.label, grouping_before), 1.0) << "the grouping is unchanged";
    for (const auto& [id, i] : now.medoid)
      EXPECT_EQ(now.label[i], id);
  }
}

TEST(KeepIds, RejectsLabellingsOfDifferentSizes) {
  partition now{{0, 1, 1}, {{0, 0}, {1, 1}}, 0.0};
  EXPECT_THROW(keep_ids(now, {0, 1}), elsa::error);
}

// -- ARI --------------------------------------------------------------------------------------------------

TEST(AdjustedRandIndex, IsOneForTheSameGroupingUnderAnyIds) {
  std::mt19937_64 rng(mix_seed(41, 7));
  std::vector<uint32_t> a, b;
  const std::vector<uint32_t> rename{3, 17, 0, 9, 4};
  for (int i = 0; i < 200; ++i) {
    a.push_back(static_cast<uint32_t>(uniform_index(rng, 5)));
    b.push_back(rename[a.back()]);
  }
  EXPECT_DOUBLE_EQ(adjusted_rand_index(a, b), 1.0);
  EXPECT_EQ(adjusted_rand_index({0, 0, 0}, {5, 5, 5}), 1.0) << "both one group";
  EXPECT_EQ(adjusted_rand_index({0, 1, 2}, {2, 0, 1}), 1.0) << "both all singletons";
}

TEST(AdjustedRandIndex, MatchesHandComputedContingencyTables) {
  // Rows a = {3, 3}, columns b = {2, 2, 2}, cells 2 1 / 1 2: index 2, expected 6 * 3 / 15 = 1.2, max 4.5.
  EXPECT_NEAR(adjusted_rand_index({0, 0, 0, 1, 1, 1}, {0, 0, 1, 1, 2, 2}), 0.8 / 3.3, 1e-12);
  // scikit-learn's documented examples: 4/7 and -1/2.
  EXPECT_NEAR(adjusted_rand_index({0, 0, 1, 1}, {0, 0, 1, 2}), 4.0 / 7.0, 1e-12);
  EXPECT_NEAR(adjusted_rand_index({0, 0, 1, 1}, {0, 1, 0, 1}), -0.5, 1e-12);
  EXPECT_NEAR(adjusted_rand_index({0, 0, 0, 0}, {0, 1, 2, 3}), 0.0, 1e-12);
  EXPECT_THROW(adjusted_rand_index({0, 1}, {0}), elsa::error);
}

TEST(AdjustedRandIndex, IsNearZeroForIndependentLabellings) {
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    std::mt19937_64 rng(mix_seed(seed, 8));
    std::vector<uint32_t> a, b;
    for (int i = 0; i < 2000; ++i) {
      a.push_back(static_cast<uint32_t>(uniform_index(rng, 4)));
      b.push_back(static_cast<uint32_t>(uniform_index(rng, 6)));
    }
    EXPECT_LT(std::abs(adjusted_rand_index(a, b)), 0.05) << "seed " << seed;
  }
}

} // namespace
} // namespace elsa::cluster
