// Tests for the client partitioners on synthetic tasks (no data needed): shards are disjoint and complete,
// respect the minimum size, Dirichlet skew grows as alpha shrinks, seeds are honoured, bad requests fail.
#include "core/data/partition.hpp"

#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "core/data/random.hpp"
#include "core/errors.hpp"

namespace {

using namespace elsa::data;

// A task with `per_label[l]` train examples of label l, interleaved.
task_data synthetic(task id, const std::vector<size_t>& per_label) {
  task_data t;
  t.id = id;
  t.name = to_string(id);
  t.seed_key = static_cast<uint64_t>(id);
  for (size_t l = 0; l < per_label.size(); ++l)
    t.label_names.push_back("label" + std::to_string(l));
  std::vector<size_t> left = per_label;
  for (bool any = true; any;) {
    any = false;
    for (size_t l = 0; l < left.size(); ++l) {
      if (left[l] == 0)
        continue;
      --left[l];
      any = true;
      auto n = t.train.size();
      t.train.push_back(example{"text " + std::to_string(n), static_cast<int32_t>(l), "g" + std::to_string(n)});
    }
  }
  return t;
}

// Every train index of every task in exactly one shard; shards sorted; `min` respected.
void expect_disjoint_complete(const std::vector<const task_data*>& tasks, const std::vector<client_shard>& shards,
                              size_t min) {
  for (size_t k = 0; k < tasks.size(); ++k) {
    const auto* t = tasks[k];
    std::vector<int> seen(t->train.size(), 0);
    for (const auto& s : shards) {
      if (s.task_index != k)
        continue;
      EXPECT_TRUE(std::is_sorted(s.indices.begin(), s.indices.end()));
      EXPECT_GE(s.indices.size(), min) << "client " << s.client;
      for (auto i : s.indices) {
        ASSERT_LT(i, seen.size());
        ++seen[i];
      }
    }
    for (size_t i = 0; i < seen.size(); ++i)
      ASSERT_EQ(seen[i], 1) << "index " << i << " of task " << to_string(t->id);
  }
}

// Mean Shannon entropy (bits) of the shards' label histograms, computed here from scratch.
double mean_entropy(const task_data& t, const std::vector<client_shard>& shards) {
  double sum = 0.0;
  for (const auto& s : shards) {
    std::map<int32_t, double> counts;
    for (auto i : s.indices)
      counts[t.train[i].label] += 1.0;
    double h = 0.0;
    for (const auto& [label, c] : counts) {
      double p = c / static_cast<double>(s.indices.size());
      h -= p * std::log(p) / std::log(2.0);
    }
    sum += h;
  }
  return sum / static_cast<double>(shards.size());
}

// The hand-written samplers against analytic moments: Gamma(a, 1) has mean a and variance a;
// Dirichlet(a, ..., a) over k has component mean 1/k and variance (1/k)(1 - 1/k) / (k a + 1).
TEST(Sampling, GammaAndDirichletMomentsMatchTheory) {
  std::mt19937_64 rng(2024);
  constexpr int draws = 40000;
  for (double a : {0.3, 2.5}) {
    double sum = 0.0, sum2 = 0.0;
    for (int i = 0; i < draws; ++i) {
      double x = std::exp(detail::log_gamma_draw(rng, a));
      sum += x;
      sum2 += x * x;
    }
    double mean = sum / draws;
    double var = sum2 / draws - mean * mean;
    EXPECT_NEAR(mean, a, 0.03 * a + 0.01) << "alpha " << a;
    EXPECT_NEAR(var, a, 0.08 * a) << "alpha " << a;
  }
  const size_t k = 4;
  const double a = 0.5;
  double sum = 0.0, sum2 = 0.0;
  for (int i = 0; i < draws; ++i) {
    auto p = detail::dirichlet(rng, k, a);
    double total = 0.0;
    for (double v : p)
      total += v;
    ASSERT_NEAR(total, 1.0, 1e-12);
    sum += p[0];
    sum2 += p[0] * p[0];
  }
  double mean = sum / draws;
  double var = sum2 / draws - mean * mean;
  EXPECT_NEAR(mean, 0.25, 0.005);
  EXPECT_NEAR(var, 0.25 * 0.75 / (k * a + 1.0), 0.003);
}

TEST(Partition, IidIsDisjointCompleteAndEven) {
  auto a = synthetic(task::spam, {700, 300});
  auto b = synthetic(task::party, {500, 505});
  partition_options o; // iid, 8 clients
  auto shards = partition({&a, &b}, o);
  ASSERT_EQ(shards.size(), 16u); // one shard per (client, task)
  for (size_t k = 0; k < shards.size(); ++k) {
    EXPECT_EQ(shards[k].client, k / 2);
    EXPECT_EQ(shards[k].task_index, k % 2);
  }
  expect_disjoint_complete({&a, &b}, shards, o.min_per_client);
  for (const auto& s : shards) {
    size_t n = s.task_index == 0 ? 1000 : 1005;
    EXPECT_GE(s.indices.size(), n / 8);
    EXPECT_LE(s.indices.size(), n / 8 + 1);
  }
  // IID: every client sees roughly the global label mix (0.7 / 0.3 -> 0.88 bits).
  EXPECT_NEAR(mean_entropy(a, {shards[0], shards[2], shards[4], shards[6]}), 0.881, 0.08);
}

TEST(Partition, DirichletRespectsMinimumAtEveryAlpha) {
  auto t = synthetic(task::genre, {900, 400, 300, 200, 100});
  for (double alpha : {0.01, 0.1, 0.5, 1.0, 100.0}) {
    partition_options o;
    o.scheme = partition_scheme::dirichlet;
    o.alpha = alpha;
    o.num_clients = 10;
    o.min_per_client = 40;
    auto shards = partition({&t}, o);
    ASSERT_EQ(shards.size(), 10u);
    SCOPED_TRACE("alpha " + std::to_string(alpha));
    expect_disjoint_complete({&t}, shards, o.min_per_client);
  }
}

TEST(Partition, DirichletSkewGrowsAsAlphaShrinks) {
  auto t = synthetic(task::supersense, {2000, 2000, 2000, 2000, 2000});
  std::vector<double> entropy;
  for (double alpha : {100.0, 1.0, 0.1, 0.01}) {
    double sum = 0.0;
    for (uint64_t seed : {1, 2, 3}) {
      partition_options o;
      o.scheme = partition_scheme::dirichlet;
      o.alpha = alpha;
      o.seed = seed;
      auto shards = partition({&t}, o);
      sum += mean_entropy(t, shards);
      EXPECT_NEAR(mean_label_entropy({&t}, shards), mean_entropy(t, shards), 1e-9);
    }
    entropy.push_back(sum / 3.0);
  }
  // Balanced five labels: log2(5) = 2.32 bits at most.
  EXPECT_GT(entropy[0], 2.25) << "alpha 100 should be close to IID";
  for (size_t k = 1; k < entropy.size(); ++k)
    EXPECT_LT(entropy[k], entropy[k - 1]) << "entropy at step " << k;
  EXPECT_LT(entropy.back(), 0.6) << "alpha 0.01 should leave most clients with about one label";
}

TEST(Partition, SameSeedSameShardsOtherSeedOthers) {
  auto t = synthetic(task::spam, {600, 400});
  for (auto scheme : {partition_scheme::iid, partition_scheme::dirichlet}) {
    partition_options o;
    o.scheme = scheme;
    auto a = partition({&t}, o);
    auto b = partition({&t}, o);
    o.seed = 43;
    auto c = partition({&t}, o);
    ASSERT_EQ(a.size(), b.size());
    bool all_same = true;
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].indices, b[k].indices);
      all_same = all_same && a[k].indices == c[k].indices;
    }
    EXPECT_FALSE(all_same) << to_string(scheme) << ": the seed does not change the partition";
  }
}

TEST(Partition, ByTaskGivesEachClientOneTask) {
  auto a = synthetic(task::spam, {300, 100});
  auto b = synthetic(task::party, {200, 200});
  auto c = synthetic(task::genre, {100, 100, 100});
  partition_options o;
  o.scheme = partition_scheme::by_task;
  o.num_clients = 8;
  auto shards = partition({&a, &b, &c}, o);
  ASSERT_EQ(shards.size(), 8u);
  for (size_t k = 0; k < shards.size(); ++k) {
    EXPECT_EQ(shards[k].client, k);
    EXPECT_EQ(shards[k].task_index, k % 3);
  }
  expect_disjoint_complete({&a, &b, &c}, shards, o.min_per_client);
}

TEST(Partition, SchemeNamesRoundTrip) {
  for (auto s : {partition_scheme::iid, partition_scheme::dirichlet, partition_scheme::by_task})
    EXPECT_EQ(partition_scheme_from_string(to_string(s)), s);
  EXPECT_THROW(partition_scheme_from_string("random"), elsa::error);
}

void expect_error_naming(const std::vector<const task_data*>& tasks, const partition_options& o, const char* key) {
  try {
    partition(tasks, o);
    ADD_FAILURE() << "no error; expected one naming " << key;
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), elsa::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}

TEST(Partition, ImpossibleRequestsNameTheKey) {
  auto t = synthetic(task::spam, {60, 40});
  partition_options o;
  o.num_clients = 0;
  expect_error_naming({&t}, o, "num_clients");
  o = {};
  o.min_per_client = 20; // 8 x 20 = 160 > 100 examples
  expect_error_naming({&t}, o, "min_per_client");
  o.scheme = partition_scheme::dirichlet;
  expect_error_naming({&t}, o, "min_per_client");
  o = {};
  o.scheme = partition_scheme::dirichlet;
  o.alpha = 0.0;
  expect_error_naming({&t}, o, "alpha");
  o.alpha = -1.0;
  expect_error_naming({&t}, o, "alpha");
  o = {};
  o.scheme = partition_scheme::by_task;
  o.num_clients = 1;
  auto u = synthetic(task::party, {60, 40});
  expect_error_naming({&t, &u}, o, "num_clients");
  expect_error_naming({}, partition_options{}, "task");
}

} // namespace
