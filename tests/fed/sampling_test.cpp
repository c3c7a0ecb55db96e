// Client sampling's draw (core/fed/sampling.hpp): seeded and repeatable, sorted, k of the candidates (all when k
// is at least their number), a new draw each round, and every client about equally often.
#include "core/fed/sampling.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

namespace {

using elsa::fed::sample_clients;

TEST(SampleClients, IsASeededSortedDrawOfKThatChangesPerRound) {
  std::vector<uint32_t> ids(50);
  std::iota(ids.begin(), ids.end(), 0u);
  const auto a = sample_clients(ids, 5, 1234, 7);
  EXPECT_EQ(a, sample_clients(ids, 5, 1234, 7));
  EXPECT_EQ(a.size(), 5u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<uint32_t>(a.begin(), a.end()).size(), 5u);
  EXPECT_NE(a, sample_clients(ids, 5, 1234, 8));
  EXPECT_NE(a, sample_clients(ids, 5, 99, 7));
  // The order of the candidates does not matter; repeated ids count once.
  auto shuffled = ids;
  std::reverse(shuffled.begin(), shuffled.end());
  shuffled.push_back(3);
  EXPECT_EQ(sample_clients(shuffled, 5, 1234, 7), a);
  EXPECT_EQ(sample_clients({4, 2, 9}, 3, 1, 0), (std::vector<uint32_t>{2, 4, 9}));
  EXPECT_EQ(sample_clients({4, 2, 9}, 10, 1, 0), (std::vector<uint32_t>{2, 4, 9}));
  EXPECT_TRUE(sample_clients({}, 3, 1, 0).empty());
}

TEST(SampleClients, DrawsEveryClientAboutEquallyOften) {
  std::vector<uint32_t> ids(20);
  std::iota(ids.begin(), ids.end(), 0u);
  std::map<uint32_t, int> count;
  for (uint32_t round = 0; round < 2000; ++round)
    for (auto c : sample_clients(ids, 5, 42, round))
      ++count[c];
  ASSERT_EQ(count.size(), 20u);
  for (const auto& [c, n] : count)  // 2000 x 5 / 20 = 500 each; a binomial's sd is about 19
    EXPECT_NEAR(n, 500, 100) << "client " << c;
}

TEST(SampleClients, AResumedClientSkipsTheBatchesOfTheRoundsItTookPartIn) {
  elsa::run::run_config cfg;
  cfg.clients = 8;
  cfg.kappa1 = 3;
  EXPECT_EQ(elsa::fed::batches_before(cfg, 5, 4), 12u);  // every client, every round
  cfg.clients_per_round = 2;
  std::size_t want = 0;
  for (uint32_t r = 0; r < 6; ++r) {
    const auto drawn = sample_clients({0, 1, 2, 3, 4, 5, 6, 7}, 2, cfg.seed, r);
    want += std::count(drawn.begin(), drawn.end(), 5u) * 3;
  }
  EXPECT_EQ(elsa::fed::batches_before(cfg, 5, 6), want);
  // The same draws as a fraction: 0.25 of 8 clients is 2 per round.
  cfg.clients_per_round = 0;
  cfg.clients_fraction = 0.25;
  EXPECT_EQ(cfg.sampled_per_round(), 2);
  EXPECT_EQ(elsa::fed::batches_before(cfg, 5, 6), want);
  cfg.clients_fraction = 0.01;  // never fewer than one
  EXPECT_EQ(cfg.sampled_per_round(), 1);
  cfg.clients_fraction = 0.0;
  EXPECT_EQ(cfg.sampled_per_round(), 0);
}

} // namespace
