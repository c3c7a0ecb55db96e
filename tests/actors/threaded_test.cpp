// The mode users run: CAF's threaded scheduler on the real clock (the main job's mode), short runs. A clean
// run lands in the accuracy band of the same run under the deterministic scheduler; a run with a crashing
// client, a silent one and a straggler completes with every fault in the record.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

run::run_config short_run(const std::string& name, bool deterministic) {
  auto cfg = small_run(name);
  cfg.deterministic = deterministic;
  cfg.threads = 2;
  cfg.rounds = 2;
  cfg.kappa1 = 6;
  cfg.kappa2 = 2;
  cfg.max_len = 48;
  cfg.round_deadline_ms = 30000;
  cfg.step_deadline_ms = 20000;
  return cfg;
}

double test_accuracy(const actors::run_result& r) {
  return r.summary["tasks"]["spam"].value("test_accuracy", 0.0);
}

TEST(Threaded, ACleanRunLandsInTheDeterministicRunsBand) {
  const auto threaded = run_quietly(short_run("threaded_clean", false));
  const auto simulated = run_quietly(short_run("threaded_clean_det", true));
  ASSERT_TRUE(threaded.summary.value("finished", false));
  ASSERT_EQ(threaded.metrics.size(), 2u);
  EXPECT_EQ(threaded.metrics[1]["clients_reported"], 8) << threaded.metrics[1].dump();
  // Each participant has its own generator and optimizer, so the interleaving barely matters.
  EXPECT_NEAR(test_accuracy(threaded), test_accuracy(simulated), 0.02)
    << "threaded " << test_accuracy(threaded) << " vs deterministic " << test_accuracy(simulated);
  EXPECT_GT(test_accuracy(threaded), threaded.summary["tasks"]["spam"].value("majority_accuracy", 1.0));
  EXPECT_GT(threaded.wall_seconds, 0.0);
}

TEST(Threaded, ACrashASilentClientAndAStragglerAreSurvived) {
  auto cfg = short_run("threaded_faults", false);
  cfg.round_deadline_ms = 15000;  // generous: CI machines are shared
  cfg.dropouts = {1};           // crashes: its edge sees it go down at once
  cfg.dropout_mode_name = "crash";
  cfg.silent_dropouts = {2};    // stops answering: its edge waits for the deadline
  cfg.dropout_round = 0;
  cfg.dropout_step = 2;
  cfg.stragglers = {3};         // its round-0 update arrives after the deadline
  cfg.straggler_delay_ms = 16000;
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false)) << r.summary.dump(2);
  ASSERT_EQ(r.metrics.size(), 2u);
  const auto& r0 = r.metrics[0];
  auto dropouts = r0["dropouts"].get<std::vector<int>>();
  std::sort(dropouts.begin(), dropouts.end());  // in the order they happened
  EXPECT_EQ(dropouts, (std::vector<int>{1, 2})) << r0.dump() << "\n" << nlohmann::json(r.errors).dump(1);
  EXPECT_EQ(r0["missing"], nlohmann::json::array({1, 2, 3})) << r0.dump();
  EXPECT_EQ(r0["close_reasons"].value("quorum", 0), 2) << r0.dump();
  // The straggler's late update is noticed in a later round; the crashed client is never waited for again.
  bool straggler_seen = false;
  for (const auto& line : r.metrics)
    for (const auto& c : line["late_arrivals"])
      straggler_seen = straggler_seen || c == 3;
  EXPECT_TRUE(straggler_seen) << r.metrics[1].dump();
  // Down at the end of round 1: the crashed client, and the silent one after down_after_missed = 2 rounds.
  EXPECT_EQ(r.metrics[1]["down"], nlohmann::json::array({1, 2})) << r.metrics[1].dump();
}

} // namespace
} // namespace elsa::testing
