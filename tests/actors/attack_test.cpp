// [privacy] capture through whole runs, and the inversion attack on what was captured: edges write at most N
// training batches each, all of the last round, exactly as sent; the attack matches every one of them to the
// client batch it came from and recovers clearly more tokens than the unigram guess, and far fewer under
// SS-OP. Deterministic and threaded on the real clock (the mode users run).
#include <gtest/gtest.h>

#include "core/attack/capture.hpp"
#include "core/attack/inversion.hpp"
#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

run::run_config capturing(const std::string& name, bool deterministic) {
  auto cfg = small_run(name);
  cfg.deterministic = deterministic;
  cfg.threads = 2;
  cfg.activations = "fp16";
  cfg.capture = 3;
  return cfg;
}

attack::invert_options quick_attack() {
  attack::invert_options o;
  o.public_tokens = 6000;
  o.epochs = 4;
  o.hidden = 128;
  o.batch_tokens = 128;
  o.threads = 1;
  return o;
}

void expect_captures(const run::run_config& cfg) {
  const auto caps = attack::read_captures(attack::capture_dir(cfg.out_dir));
  ASSERT_EQ(caps.size(), static_cast<std::size_t>(cfg.edges * cfg.capture));
  std::map<uint32_t, int> per_edge;
  for (const auto& c : caps) {
    ++per_edge[c.edge];
    EXPECT_EQ(c.round, static_cast<uint32_t>(cfg.rounds - 1));
    EXPECT_EQ(c.client % cfg.edges, c.edge);  // round-robin placement
    EXPECT_EQ(c.wire_dtype, "f16");
    EXPECT_EQ(c.head_blocks, cfg.head_blocks);
    EXPECT_EQ(c.lengths.size(), static_cast<std::size_t>(cfg.batch_size));
  }
  for (const auto& [edge, n] : per_edge)
    EXPECT_EQ(n, cfg.capture) << "edge " << edge;
}

TEST(Capture, EdgesKeepNBatchesOfTheLastRoundAndSsopDefeatsTheAttack) {
  const auto cfg = capturing("capture", true);
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false));
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  expect_captures(cfg);
  const auto plain = attack::invert_run(cfg.out_dir, quick_attack(), nullptr);
  // Every captured batch was matched to the client batch it came from (the replay is the client's sampler);
  // that the truth is the right one shows in the accuracy below, which wrong rows would bring to the
  // unigram guess's level.
  EXPECT_EQ(plain.scored_batches, plain.captured_batches);
  EXPECT_EQ(plain.scored_rows, plain.captured_batches * cfg.batch_size);
  EXPECT_FALSE(plain.ssop);
  EXPECT_EQ(plain.wire_dtype, "f16");
  ASSERT_EQ(plain.inverters.size(), 2u);
  // The attack is real: even this small inverter recovers several times the unigram guess's tokens.
  EXPECT_GT(plain.token_accuracy, 0.2) << plain.to_json().dump(2);
  EXPECT_GT(plain.token_accuracy, 4 * plain.unigram_token_accuracy) << plain.to_json().dump(2);
  EXPECT_GT(plain.rouge_l, 2 * plain.unigram_rouge_l);
  EXPECT_TRUE(plain.test_accuracy.has_value());

  // The same run with SS-OP at sigma 8 (deterministic: the same batches are captured): the attacker,
  // trained on public text with the same noise, recovers far fewer tokens.
  auto defended = capturing("capture_ssop", true);
  defended.ssop = true;
  defended.ssop_sigma = 8.0;
  const auto on = run_quietly(defended);
  ASSERT_TRUE(on.summary.value("finished", false));
  EXPECT_TRUE(on.errors.empty()) << on.errors.front().dump();
  const auto rep = attack::invert_run(defended.out_dir, quick_attack(), nullptr);
  EXPECT_TRUE(rep.ssop);
  EXPECT_DOUBLE_EQ(rep.ssop_sigma, 8.0);
  EXPECT_EQ(rep.scored_batches, rep.captured_batches);
  EXPECT_LT(rep.token_accuracy, 0.5 * plain.token_accuracy) << rep.to_json().dump(2) << plain.to_json().dump(2);
}

TEST(Capture, AThreadedRunOnARealClockCapturesAndIsAttackedTheSameWay) {
  const auto cfg = capturing("capture_threaded", false);
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false));
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  expect_captures(cfg);
  const auto rep = attack::invert_run(cfg.out_dir, quick_attack(), nullptr);
  EXPECT_EQ(rep.scored_batches, rep.captured_batches);
  EXPECT_GT(rep.token_accuracy, 4 * rep.unigram_token_accuracy) << rep.to_json().dump(2);
}

} // namespace
} // namespace elsa::testing
