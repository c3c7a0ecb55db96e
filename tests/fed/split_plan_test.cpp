// Split points per client: the fixed [split] for everyone, or the planner's choice per edge with each
// client's device at that round (a profile change moves the split from its round on), and a clear error when
// no split fits a device's memory.
#include "core/fed/split_plan.hpp"

#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "core/sim/planner.hpp"
#include "tests/sim/shapes.hpp"

namespace elsa::fed {
namespace {

using testing::shipped_shape;

// Four clients on two edges: clients 0 and 2 slow phones, 1 and 3 fast laptops; slow edges, so the body's
// load matters.
run::run_config four_clients() {
  run::run_config c;
  c.clients = 4;
  c.edges = 2;
  c.split_mode = "dynamic";
  c.class_names = {"phone", "laptop"};
  c.class_gflops = {1, 16};
  c.class_memory_mb = {4000, 4000};
  c.class_up_mbps = {1000, 1000};
  c.class_down_mbps = {1000, 1000};
  c.class_latency_ms = {1, 1};
  c.client_classes = {"phone", "laptop", "phone", "laptop"};
  c.edge_gflops = {4};
  return c;
}

std::vector<messages::assignment> round_robin(int64_t clients, int64_t edges) {
  std::vector<messages::assignment> out;
  for (int64_t c = 0; c < clients; ++c)
    out.push_back({static_cast<uint32_t>(c), static_cast<uint32_t>(c % edges), 0});
  return out;
}

TEST(SplitPlan, FixedModeGivesEveryClientTheConfiguredSplit) {
  auto cfg = four_clients();
  cfg.split_mode = "fixed";
  cfg.head_blocks = 2;
  const auto plan = plan_splits(cfg, shipped_shape(), round_robin(4, 2), 0);
  ASSERT_EQ(plan.size(), 4u);
  for (uint32_t c = 0; c < 4; ++c) {
    EXPECT_EQ(plan[c].client_id, c);
    EXPECT_EQ(plan[c].head_blocks, 2u);
    EXPECT_EQ(plan[c].tail_blocks, 1u);
  }
}

TEST(SplitPlan, DynamicModeIsThePlannersChoicePerEdge) {
  const auto cfg = four_clients();
  const auto shape = shipped_shape();
  const auto plan = plan_splits(cfg, shape, round_robin(4, 2), 0);
  // Edge 0 serves clients 0 (phone) and 2 (phone); edge 1 clients 1 and 3 (laptops).
  const sim::step_shape step{cfg.batch_size, cfg.max_len};
  for (uint32_t e = 0; e < 2; ++e) {
    const auto want = sim::plan_edge(shape, step, 4, {cfg.client_device(e, 0), cfg.client_device(e + 2, 0)},
                                     cfg.edge_flops(e), 1);
    EXPECT_EQ(plan[e].head_blocks, want[0].a);
    EXPECT_EQ(plan[e].tail_blocks, want[0].b);
    EXPECT_EQ(plan[e + 2].head_blocks, want[1].a);
    EXPECT_EQ(plan[e + 2].tail_blocks, want[1].b);
  }
  // Laptops 16x faster than the phones and 4x the edge take more blocks than the phones.
  EXPECT_GT(plan[1].head_blocks + plan[1].tail_blocks, plan[0].head_blocks + plan[0].tail_blocks);
}

// Each edge is planned with its own speed: written out by hand. Edge 0 (0.5 GFLOP/s) serves two laptops,
// whose steps are short next to a body block there (3.4 s), so both take a third block (the tie between
// (1, 2) and (2, 1) goes to the smaller a); edge 1 (1000 GFLOP/s) serves two phones, for which a third block
// costs 1.7 s and saves the edge almost nothing, so they keep (1, 1).
TEST(SplitPlan, EveryEdgeIsPlannedAtItsOwnSpeed) {
  auto cfg = four_clients();
  cfg.activations = "fp16";
  cfg.client_classes = {"laptop", "phone", "laptop", "phone"};
  cfg.edge_gflops = {0.5, 1000};
  const auto plan = plan_splits(cfg, shipped_shape(), round_robin(4, 2), 0);
  const std::vector<messages::split_point> want = {{0, 1, 2}, {1, 1, 1}, {2, 1, 2}, {3, 1, 1}};
  EXPECT_EQ(plan, want);
  cfg.edge_gflops = {1000, 0.5};  // swapped speeds: the laptops keep (1, 1) at a fast edge, the phones ...
  const auto swapped = plan_splits(cfg, shipped_shape(), round_robin(4, 2), 0);
  EXPECT_EQ(swapped[0], (messages::split_point{0, 1, 1}));
  // ... take a third block at a slow one (a body block there costs them more than computing it).
  EXPECT_EQ(swapped[1], (messages::split_point{1, 1, 2}));
}

TEST(SplitPlan, AProfileChangeMovesTheSplitFromItsRoundOn) {
  auto cfg = four_clients();
  cfg.change_clients = {0};
  cfg.change_rounds = {3};
  cfg.change_classes = {"laptop"};
  const auto shape = shipped_shape();
  const auto before = plan_splits(cfg, shape, round_robin(4, 2), 2);
  const auto after = plan_splits(cfg, shape, round_robin(4, 2), 3);
  EXPECT_EQ(before[0].head_blocks + before[0].tail_blocks, 2u);  // a phone keeps the fewest blocks
  EXPECT_GT(after[0].head_blocks + after[0].tail_blocks, 2u);    // charging: it takes more
  EXPECT_EQ(before[1], after[1]);
}

TEST(SplitPlan, ADeviceNoSplitFitsIsRefusedAtStartUpNamingTheClient) {
  auto cfg = four_clients();
  cfg.class_memory_mb = {4000, 1};  // a laptop with 1 MB
  try {
    check_devices(cfg, shipped_shape());
    FAIL() << "no error";
  } catch (const elsa::error& e) {
    EXPECT_NE(std::string(e.what()).find("client 1 (laptop)"), std::string::npos) << e.what();
  }
  // Only from a change round on: still refused before the run.
  cfg.class_memory_mb = {4000, 4000, 1};
  cfg.class_names.push_back("watch");
  cfg.class_gflops.push_back(1);
  cfg.class_up_mbps.push_back(1);
  cfg.class_down_mbps.push_back(1);
  cfg.class_latency_ms.push_back(1);
  cfg.change_clients = {2};
  cfg.change_rounds = {5};
  cfg.change_classes = {"watch"};
  EXPECT_THROW(check_devices(cfg, shipped_shape()), elsa::error);
  cfg.split_mode = "fixed";  // fixed splits are not planned: the record says whether they fit
  EXPECT_NO_THROW(check_devices(cfg, shipped_shape()));
}

} // namespace
} // namespace elsa::fed
