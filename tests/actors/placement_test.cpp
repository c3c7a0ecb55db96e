// Latency-aware placement in whole runs (ELSA.md 3.1), deterministic and threaded on a real clock: before
// each cloud round the edges measure their RTT to every client by heartbeat (the client answers after its
// link's RTT from the run's latency model), the coordinator places the clients by least total RTT under the
// edge capacity (core/fed/placement), tells the moved ones, records the placement, and the edges then train
// and aggregate exactly the clients placed on them.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

// Four clients, two edges of two. Round-robin (client c on edge c mod 2) costs 4 + 120 + 12 + 400 = 536 ms;
// greedy (each client in id order to its nearest edge with room) puts 0 and 1 on edge 0 and leaves client 3
// on its 400 ms link (428 ms); the exact placement gives edge 0 to clients 1 and 3, edge 1 to 0 and 2:
// 8 + 200 + 40 + 16 = 264 ms.
const std::vector<double> k_rtt = {4.0,   40.0,   // client 0
                                   8.0,   120.0,  // client 1
                                   12.0,  16.0,   // client 2
                                   200.0, 400.0}; // client 3
const std::map<uint32_t, uint32_t> k_exact = {{0, 1}, {1, 0}, {2, 1}, {3, 0}};

run::run_config latency_run(const std::string& name, bool deterministic) {
  auto cfg = small_run(name);
  cfg.deterministic = deterministic;
  cfg.clients = 4;
  cfg.rounds = 4;
  cfg.kappa1 = 2;
  cfg.kappa2 = 2;
  cfg.max_len = 32;
  cfg.max_train_per_client = 80;
  cfg.eval_examples = 32;
  cfg.test_examples = 64;
  cfg.round_deadline_ms = 60000;
  cfg.assignment = "latency";
  cfg.latency_ms = k_rtt;
  cfg.latency_jitter_ms = 0.0;
  return cfg;
}

std::map<uint32_t, uint32_t> assignment_of(const nlohmann::json& ev) {
  std::map<uint32_t, uint32_t> out;
  for (const auto& [c, e] : ev["assignment"].items())
    out[static_cast<uint32_t>(std::stoul(c))] = e.get<uint32_t>();
  return out;
}

// The event's RTT matrix, clients x edges, row-major (rows by client id, not by the keys' text order).
std::vector<double> measured_of(const nlohmann::json& ev) {
  std::vector<double> out;
  for (std::size_t c = 0; c < ev["rtt_ms"].size(); ++c)
    for (const auto& v : ev["rtt_ms"][std::to_string(c)])
      out.push_back(v.is_null() ? NAN : v.get<double>());
  return out;
}

// The clients an edge_round event aggregated.
std::set<uint32_t> aggregated_by(const nlohmann::json& edge_round) {
  std::set<uint32_t> out;
  for (const auto& c : edge_round["aggregated"])
    out.insert(c.get<uint32_t>());
  return out;
}

// What both modes share: two placements (one per cloud round), the first by latency with every link
// measured, the exact placement (which greedy and round-robin miss), and each edge aggregating exactly the
// clients placed on it in every round.
void expect_placed_run(const run::run_config& cfg, const actors::run_result& r) {
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  ASSERT_TRUE(r.summary.value("finished", false));
  const auto placements = events_of(cfg, "placement");
  ASSERT_EQ(placements.size(), 2u) << "one per cloud round";
  const auto& first = placements[0];
  EXPECT_EQ(first["round"], 0);
  EXPECT_EQ(first["policy"], "latency");
  EXPECT_EQ(first["reason"], "measured");
  EXPECT_EQ(first["reports"], 2);
  EXPECT_EQ(first["unmeasured"], 0);
  const auto measured = measured_of(first);
  ASSERT_EQ(measured.size(), k_rtt.size());
  for (std::size_t i = 0; i < k_rtt.size(); ++i)
    EXPECT_GE(measured[i], k_rtt[i] - 1e-3) << "link " << i << ": a client answers after its link's RTT";
  const auto placed = assignment_of(first);
  EXPECT_EQ(placed, k_exact);
  EXPECT_EQ(first["moved"].size(), 4u) << "every client leaves its round-robin edge";
  EXPECT_EQ(placements[1]["reason"], "stragglers");
  EXPECT_TRUE(placements[1]["moved"].empty()) << "no rtt_deadline_ms: nobody moves later";
  for (const auto& e : events_of(cfg, "edge_round")) {
    std::set<uint32_t> mine;
    for (const auto& [c, edge] : placed)
      if (edge == e["edge"].get<uint32_t>())
        mine.insert(c);
    EXPECT_EQ(aggregated_by(e), mine) << "round " << e["round"] << " edge " << e["edge"];
  }
  ASSERT_EQ(r.metrics.size(), 4u);
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    const auto& m = r.metrics[i];
    const auto& in_force = placements[i / 2];  // kappa2 = 2: the placement of this round's cloud round
    EXPECT_EQ(m["assignment"], in_force["assignment"]) << m.dump();
    EXPECT_DOUBLE_EQ(m["latency_total_ms"].get<double>(), in_force["latency_total_ms"].get<double>());
  }
  EXPECT_EQ(placements[1]["assignment"], first["assignment"]);
}

TEST(Placement, ADeterministicRunPlacesTheClientsExactlyFromWhatTheEdgesMeasured) {
  const auto cfg = latency_run("placement_deterministic", true);
  const auto r = run_quietly(cfg);
  expect_placed_run(cfg, r);
  // On the simulated clock a measured RTT is the model's, to the microsecond the reply is delayed by.
  const auto first = events_of(cfg, "placement").at(0);
  const auto measured = measured_of(first);
  for (std::size_t i = 0; i < k_rtt.size(); ++i)
    EXPECT_NEAR(measured[i], k_rtt[i], 1e-3) << "link " << i;
  EXPECT_NEAR(first["latency_total_ms"].get<double>(), 264.0, 1e-3);
  EXPECT_NEAR(first["latency_max_ms"].get<double>(), 200.0, 1e-3);
}

TEST(Placement, RoundRobinKeepsItsPlacementAndRecordsItsLatency) {
  auto cfg = latency_run("placement_round_robin", true);
  cfg.assignment = "round_robin";
  const auto r = run_quietly(cfg);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  const auto placements = events_of(cfg, "placement");
  ASSERT_EQ(placements.size(), 2u);
  EXPECT_EQ(assignment_of(placements[0]), (std::map<uint32_t, uint32_t>{{0, 0}, {1, 1}, {2, 0}, {3, 1}}));
  EXPECT_TRUE(placements[0]["moved"].empty());
  EXPECT_NEAR(placements[0]["latency_total_ms"].get<double>(), 536.0, 1e-3);
}

TEST(Placement, ARunPastTheRttDeadlineMovesItsSlowClients) {
  auto cfg = latency_run("placement_deadline", true);
  cfg.assignment = "round_robin";
  cfg.rtt_deadline_ms = 100.0;  // clients 1 (120 ms) and 3 (400 ms) are over it on their round-robin edge 1
  cfg.edge_capacity = 3;        // one seat left on edge 0: client 1 (first in id order) takes it
  const auto r = run_quietly(cfg);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  const auto placements = events_of(cfg, "placement");
  ASSERT_EQ(placements.size(), 2u);
  EXPECT_EQ(assignment_of(placements[0]), (std::map<uint32_t, uint32_t>{{0, 0}, {1, 0}, {2, 0}, {3, 1}}));
  EXPECT_EQ(placements[0]["moved"], nlohmann::json::array({1}));
  EXPECT_EQ(placements[0]["reason"], "measured");
  EXPECT_TRUE(placements[1]["moved"].empty()) << "client 3 is still over, but edge 0 is still full";
  for (const auto& e : events_of(cfg, "edge_round"))
    EXPECT_EQ(e["aggregated"].size(), e["edge"] == 0 ? 3u : 1u) << e.dump();
}

TEST(Placement, AClientThatStopsAnsweringIsReportedUnmeasuredAtTheTimeout) {
  auto cfg = latency_run("placement_silent", true);
  cfg.silent_dropouts = {2};  // answers the first measurement, not the second
  cfg.dropout_round = 0;
  cfg.heartbeat_timeout_ms = 300;
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false)) << r.summary.dump(2);
  const auto placements = events_of(cfg, "placement");
  ASSERT_EQ(placements.size(), 2u);
  EXPECT_EQ(placements[0]["unmeasured"], 0);
  EXPECT_EQ(placements[1]["reports"], 2) << "both edges reported, at their timeout";
  EXPECT_EQ(placements[1]["unmeasured"], 1) << placements[1].dump();
  EXPECT_TRUE(placements[1]["rtt_ms"]["2"][0].is_null() && placements[1]["rtt_ms"]["2"][1].is_null());
  EXPECT_FALSE(placements[1]["rtt_ms"]["1"][0].is_null());
  EXPECT_EQ(placements[1]["assignment"], placements[0]["assignment"]) << "nobody moves for a silent client";
}

TEST(Placement, ADeadEdgesClientsGoToTheLiveEdgeTheyAreNearest) {
  auto cfg = latency_run("placement_edge_down", true);
  cfg.clients = 6;
  cfg.edges = 3;
  cfg.latency_ms = {5,  50, 60,   // client 0
                    50, 5,  60,   // client 1
                    5,  60, 50,   // client 2
                    60, 5,  50,   // client 3
                    40, 10, 1,    // client 4: on edge 2, then nearer edge 1
                    20, 30, 1};   // client 5: on edge 2, then nearer edge 0
  cfg.edge_failures = {2};
  cfg.edge_failure_round = 1;
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false)) << r.summary.dump(2);
  const auto placements = events_of(cfg, "placement");
  ASSERT_EQ(placements.size(), 2u);
  EXPECT_EQ(assignment_of(placements[0]),
            (std::map<uint32_t, uint32_t>{{0, 0}, {1, 1}, {2, 0}, {3, 1}, {4, 2}, {5, 2}}));
  // Edge 2 died in edge round 1: one seat left on each live edge (6 clients on 2 edges: 3 each). In turn
  // over the live edges would send client 4 to edge 0 (40 ms) and 5 to edge 1 (30 ms); by latency they go
  // to 1 (10 ms) and 0 (20 ms).
  EXPECT_EQ(assignment_of(placements[1]),
            (std::map<uint32_t, uint32_t>{{0, 0}, {1, 1}, {2, 0}, {3, 1}, {4, 1}, {5, 0}}));
  EXPECT_NEAR(placements[1]["latency_total_ms"].get<double>(), 5 + 5 + 5 + 5 + 10 + 20, 1e-3);
  for (const auto& e : events_of(cfg, "edge_round")) {
    if (e["round"].get<int>() < 2)
      continue;
    const std::set<uint32_t> want = e["edge"] == 0 ? std::set<uint32_t>{0, 2, 5} : std::set<uint32_t>{1, 3, 4};
    EXPECT_EQ(aggregated_by(e), want) << e.dump();
  }
}

TEST(Placement, AThreadedRunOnARealClockDoesTheSame) {
  const auto cfg = latency_run("placement_threaded", false);
  expect_placed_run(cfg, run_quietly(cfg));
}

} // namespace
} // namespace elsa::testing
