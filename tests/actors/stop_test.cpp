// The runtime's start and end: nothing is written into the run directory before set-up succeeded, and a
// stop asked for through run_hooks::stop_requested abandons the round in progress and records an unfinished
// run with its reason (deterministic scheduler, so the stop lands at the same place every time).
#include <atomic>
#include <sstream>

#include <gtest/gtest.h>
#include <fmt/format.h>

#include "core/errors.hpp"
#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

run::run_config tiny(const std::string& name) {
  auto cfg = small_run(name);
  cfg.clients = 2;
  cfg.edges = 1;
  cfg.rounds = 4;
  cfg.kappa1 = 1;
  cfg.max_len = 32;
  cfg.eval_examples = 32;
  cfg.test_examples = 32;
  return cfg;
}

TEST(RuntimeStop, AStopAbandonsTheRoundAndRecordsWhy) {
  const auto cfg = tiny("stop");
  std::atomic<bool> first_round_closed{false};
  actors::run_hooks hooks;
  hooks.on_event = [&](const nlohmann::json& ev, const actors::directory&) {
    if (ev.value("type", "") == "round_closed" && ev.value("round", -1) == 0)
      first_round_closed = true;
  };
  hooks.stop_requested = [&] { return first_round_closed ? std::string("test stop") : std::string(); };
  std::ostringstream log;
  const auto r = actors::run_federation(cfg, log, nullptr, hooks);
  EXPECT_FALSE(r.summary.value("finished", true));
  EXPECT_EQ(r.summary.value("stop_reason", ""), "test stop");
  ASSERT_EQ(r.metrics.size(), 1u) << "the stop came after round 0 was recorded";
  EXPECT_EQ(r.summary.value("rounds_recorded", int64_t{0}), 1);
  const auto written = nlohmann::json::parse(file_bytes(cfg.out_dir / "summary.json"));
  EXPECT_EQ(written, r.summary);
  EXPECT_EQ(file_bytes(cfg.out_dir / "metrics.jsonl"), r.metrics[0].dump() + "\n");
  EXPECT_NE(log.str().find("stopping (test stop): the round in progress is abandoned"), std::string::npos)
    << log.str();
  EXPECT_NE(
    log.str().find("stopped (test stop) after 1 of 4 edge rounds; the record is in " + cfg.out_dir.string()),
    std::string::npos)
    << log.str();
  // The recorder may see round 0 close after the actors went on, so a cloud round may have completed:
  // adapters are kept exactly when one did, and the log says which.
  const auto kept = r.summary.value("adapters_cloud_rounds", -1);
  ASSERT_TRUE(kept == 0 || kept == 1) << r.summary.dump(2);
  EXPECT_EQ(std::filesystem::exists(cfg.out_dir / "adapters/spam/adapter_model.safetensors"), kept == 1);
  EXPECT_NE(log.str().find(kept == 0 ? std::string("no adapters (no cloud round completed)")
                                     : std::string(", adapters/ (after 1 of 2 cloud rounds)")),
            std::string::npos)
    << log.str();
}

TEST(RuntimeStop, AStopAfterACloudRoundKeepsItsAdapters) {
  auto cfg = tiny("stop_after_cloud_round");
  cfg.rounds = 12;  // 6 cloud rounds: the stop lands well before the end
  std::atomic<bool> cloud_round_done{false};
  actors::run_hooks hooks;
  hooks.on_event = [&](const nlohmann::json& ev, const actors::directory&) {
    if (ev.value("type", "") == "cloud_round")
      cloud_round_done = true;
  };
  hooks.stop_requested = [&] { return cloud_round_done ? std::string("test stop") : std::string(); };
  std::ostringstream log;
  const auto r = actors::run_federation(cfg, log, nullptr, hooks);
  EXPECT_FALSE(r.summary.value("finished", true));
  const auto kept = r.summary.value("adapters_cloud_rounds", -1);
  EXPECT_GE(kept, 1) << r.summary.dump(2);
  EXPECT_LT(kept, 6) << r.summary.dump(2);
  const auto saved = cfg.out_dir / "adapters/spam/adapter_model.safetensors";
  ASSERT_TRUE(std::filesystem::exists(saved)) << log.str();
  EXPECT_GT(std::filesystem::file_size(saved), 100000u);
  EXPECT_NE(log.str().find(fmt::format(", adapters/ (after {} of 6 cloud rounds)", kept)), std::string::npos)
    << log.str();
}

TEST(RuntimeStop, NothingIsWrittenBeforeSetUpSucceeded) {
  auto cfg = tiny("no_setup");
  cfg.head_blocks = 2;
  cfg.tail_blocks = 2; // elsa-base has 4 blocks: no body for the edge
  bool asked = false;
  actors::run_hooks hooks;
  hooks.before_write = [&] { asked = true; };
  EXPECT_THROW(run_quietly(cfg, hooks), elsa::error);
  EXPECT_FALSE(asked);
  EXPECT_FALSE(std::filesystem::exists(cfg.out_dir));
  // A before_write hook that refuses abandons the run with nothing written.
  cfg = tiny("refused");
  hooks.before_write = [] { throw elsa::error(elsa::errc::invalid_argument, "refused"); };
  EXPECT_THROW(run_quietly(cfg, hooks), elsa::error);
  EXPECT_FALSE(std::filesystem::exists(cfg.out_dir));
}

} // namespace
} // namespace elsa::testing
