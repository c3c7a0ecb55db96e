// The attack's scoring pieces: ROUGE-L on token ids, the client's batch order and its replay.
#include <set>

#include <gtest/gtest.h>

#include "core/attack/inversion.hpp"
#include "core/fed/batch_sampler.hpp"

namespace elsa::attack {
namespace {

TEST(RougeL, IsTheF1OfTheLongestCommonSubsequence) {
  EXPECT_DOUBLE_EQ(rouge_l({1, 2, 3}, {1, 2, 3}), 1.0);
  EXPECT_DOUBLE_EQ(rouge_l({4, 5}, {1, 2, 3}), 0.0);
  EXPECT_DOUBLE_EQ(rouge_l({}, {1}), 0.0);
  // LCS {1, 3, 4} = 3 of 4 on both sides.
  EXPECT_DOUBLE_EQ(rouge_l({1, 2, 3, 4}, {1, 3, 4, 5}), 0.75);
  // Order matters: {3, 2, 1} against {1, 2, 3} shares one token in order. P = R = 1/3.
  EXPECT_NEAR(rouge_l({3, 2, 1}, {1, 2, 3}), 1.0 / 3, 1e-12);
  // Unequal lengths: guess 2 tokens, truth 4, LCS 2: P = 1, R = 0.5, F1 = 2/3.
  EXPECT_NEAR(rouge_l({7, 9}, {7, 8, 9, 10}), 2.0 / 3, 1e-12);
}

TEST(BatchSampler, EachEpochVisitsEveryExampleOnceAndSeedsDiffer) {
  fed::batch_sampler a(10, 42), b(10, 42), c(10, 43);
  std::multiset<std::size_t> epoch;
  std::vector<std::size_t> seq_a, seq_c;
  for (int i = 0; i < 5; ++i) {  // 5 batches of 2 = one epoch
    auto x = a.next(2);
    EXPECT_EQ(x, b.next(2));
    epoch.insert(x.begin(), x.end());
    seq_a.insert(seq_a.end(), x.begin(), x.end());
    auto y = c.next(2);
    seq_c.insert(seq_c.end(), y.begin(), y.end());
  }
  EXPECT_EQ(epoch, (std::multiset<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_NE(seq_a, seq_c);
}

TEST(ReplayBatch, FindsTheRowsOfABatchFromItsLengthsWhenStepsWereMissed) {
  // Examples of distinct lengths 1..40, as a client's shard.
  std::vector<std::vector<int32_t>> examples;
  for (int32_t n = 1; n <= 40; ++n)
    examples.push_back(std::vector<int32_t>(static_cast<std::size_t>(n), n));
  const uint64_t seed = fed::batch_sampler::client_seed(1234, 3);
  fed::batch_sampler s(examples.size(), seed);
  std::vector<std::vector<std::size_t>> drawn;
  for (int i = 0; i < 12; ++i)
    drawn.push_back(s.next(4));
  auto lengths_of = [&](const std::vector<std::size_t>& idx) {
    std::vector<uint32_t> l;
    for (auto i : idx)
      l.push_back(static_cast<uint32_t>(examples[i].size()));
    return l;
  };
  for (std::size_t n : {0u, 7u, 11u}) {
    // Told the draw it would be with every step begun, or a later one (the client missed steps): the same rows.
    for (std::size_t latest : {n, n + 1, n + 4}) {
      auto rows = replay_batch(examples, seed, 4, latest, lengths_of(drawn[n]));
      ASSERT_TRUE(rows.has_value()) << n << " " << latest;
      for (std::size_t i = 0; i < 4; ++i)
        EXPECT_EQ((*rows)[i], examples[drawn[n][i]]);
    }
  }
  // A batch is never later than `latest`; lengths no draw has, or a batch of another size: nothing to score.
  EXPECT_FALSE(replay_batch(examples, seed, 4, 6, lengths_of(drawn[7])).has_value());
  EXPECT_FALSE(replay_batch(examples, seed, 4, 3, {41, 41, 41, 41}).has_value());
  EXPECT_FALSE(replay_batch(examples, seed, 4, 3, {1, 2, 3}).has_value());
}

TEST(ReplayBatch, OfDrawsWithTheSameLengthsTheLatestIsTheBatch) {
  // Every example truncated to the same length (long e-mails at max_len): lengths alone match every draw,
  // and the draw the round and step name is the one returned.
  std::vector<std::vector<int32_t>> examples;
  for (int32_t n = 0; n < 30; ++n)
    examples.push_back(std::vector<int32_t>(8, n));
  const uint64_t seed = 99;
  fed::batch_sampler s(examples.size(), seed);
  std::vector<std::vector<std::size_t>> drawn;
  for (int i = 0; i < 10; ++i)
    drawn.push_back(s.next(3));
  for (std::size_t n : {0u, 4u, 9u}) {
    auto rows = replay_batch(examples, seed, 3, n, {8, 8, 8});
    ASSERT_TRUE(rows.has_value());
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_EQ((*rows)[i], examples[drawn[n][i]]) << n;
  }
}

} // namespace
} // namespace elsa::attack
