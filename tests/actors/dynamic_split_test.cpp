// [split] mode = "dynamic" through whole runs, deterministic and threaded on the real clock: every edge round
// each client runs the split fed::plan_splits gives for its device at that round (a profile change moves it
// at once), the record's simulated clock advances every round, and the run still learns. The planner and the
// cost model are unit-tested in tests/sim/, the moving of adapters in tests/fed/split_test.cpp.
#include <gtest/gtest.h>

#include "core/fed/placement.hpp"
#include "core/fed/split_plan.hpp"
#include "tests/actors/run_helpers.hpp"
#include "tests/sim/shapes.hpp"

namespace elsa::testing {
namespace {

using testing::shipped_shape;

// configs/heterogeneous.toml in small: low, mid and high devices on two slow edges; client 0 (low) becomes
// high from edge round 2.
run::run_config heterogeneous(const std::string& name, bool deterministic) {
  auto cfg = small_run(name);
  cfg.deterministic = deterministic;
  cfg.threads = 2;
  cfg.split_mode = "dynamic";
  cfg.class_names = {"low", "mid", "high"};
  cfg.class_gflops = {2, 8, 32};
  cfg.class_memory_mb = {48, 256, 1024};
  cfg.class_up_mbps = {10, 40, 100};
  cfg.class_down_mbps = {50, 100, 500};
  cfg.class_latency_ms = {30, 15, 5};
  cfg.client_classes = {"low", "low", "mid", "mid", "mid", "mid", "high", "high"};
  cfg.edge_gflops = {8};
  cfg.change_clients = {0};
  cfg.change_rounds = {2};
  cfg.change_classes = {"high"};
  return cfg;
}

// Each line's splits are the plan for that round (round-robin placement: client c on edge c mod 2).
void expect_planned_splits(const run::run_config& cfg, const std::vector<nlohmann::json>& lines) {
  std::map<uint32_t, uint32_t> cluster_of;
  for (uint32_t c = 0; c < static_cast<uint32_t>(cfg.clients); ++c)
    cluster_of[c] = 0;
  const auto placement = fed::initial_placement(cluster_of, static_cast<uint32_t>(cfg.edges));
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(cfg.rounds));
  for (const auto& l : lines) {
    const auto round = l["round"].get<int64_t>();
    const auto plan = fed::plan_splits(cfg, shipped_shape(), placement, round);
    ASSERT_EQ(l["sim_clients"].size(), plan.size()) << l.dump();
    for (const auto& p : plan) {
      const auto& c = l["sim_clients"][std::to_string(p.client_id)];
      EXPECT_EQ(c["split"], nlohmann::json::array({p.head_blocks, p.tail_blocks}))
        << "round " << round << " client " << p.client_id;
      EXPECT_EQ(c["class"], cfg.client_device(p.client_id, round).name);
      EXPECT_TRUE(c["memory_ok"].get<bool>()) << "the plan keeps every client within its memory";
    }
  }
}

TEST(DynamicSplit, EveryRoundRunsThePlanAndAProfileChangeMovesTheSplitAtOnce) {
  const auto cfg = heterogeneous("dynamic_split", true);
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false));
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  expect_planned_splits(cfg, r.metrics);
  // Client 0 is low until round 1 and high from round 2: its split grows in round 2, not later.
  const auto blocks = [&r](std::size_t round, const char* client) {
    const auto& s = r.metrics[round]["sim_clients"][client]["split"];
    return s[0].get<int>() + s[1].get<int>();
  };
  EXPECT_EQ(blocks(1, "0"), 2);
  EXPECT_EQ(blocks(2, "0"), 3);
  EXPECT_EQ(blocks(2, "1"), 2) << "client 1 stays low";
  // The simulated clock advances every round and the summary's total is the last line's.
  double before = 0;
  for (const auto& l : r.metrics) {
    EXPECT_GT(l["sim_time_s"].get<double>(), before);
    before = l["sim_time_s"].get<double>();
  }
  EXPECT_DOUBLE_EQ(r.summary["sim_time_s"].get<double>(), before);
  EXPECT_EQ(r.summary["split_mode"], "dynamic");
  const double majority = r.summary["tasks"]["spam"].value("majority_accuracy", 1.0);
  EXPECT_GT(r.summary["tasks"]["spam"].value("test_accuracy", 0.0), majority + 0.10) << r.summary.dump(2);

  // The same run at the fixed (1, 1) split: the same steps, a longer simulated time (the edges carry every
  // body), and about the same model (the split only moves compute; clipping and moved blocks' AdamW
  // moments differ).
  auto fixed = cfg;
  fixed.split_mode = "fixed";
  fixed.out_dir += "_fixed";
  std::filesystem::remove_all(fixed.out_dir);
  const auto f = run_quietly(fixed);
  ASSERT_TRUE(f.summary.value("finished", false));
  for (const auto& l : f.metrics)
    for (const auto& [id, c] : l["sim_clients"].items())
      EXPECT_EQ(c["split"], nlohmann::json::array({1, 1}));
  EXPECT_LT(r.summary["sim_time_s"].get<double>(), f.summary["sim_time_s"].get<double>());
  EXPECT_NEAR(r.summary["tasks"]["spam"].value("test_accuracy", 0.0),
              f.summary["tasks"]["spam"].value("test_accuracy", 1.0), 0.03);
}

TEST(DynamicSplit, AThreadedRunOnARealClockDoesTheSame) {
  const auto cfg = heterogeneous("dynamic_split_threaded", false);
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false));
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  expect_planned_splits(cfg, r.metrics);
  const double majority = r.summary["tasks"]["spam"].value("majority_accuracy", 1.0);
  EXPECT_GT(r.summary["tasks"]["spam"].value("test_accuracy", 0.0), majority + 0.05) << r.summary.dump(2);
}

} // namespace
} // namespace elsa::testing
