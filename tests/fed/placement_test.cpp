// Placement of clients on edges: the initial round-robin by id in each client's own cluster, a dead
// edge's clients spread over the live edges (in client order, or by latency into the room left), nobody else
// moved; edge capacities; the exact latency placement, straggler moves and what one measurement changes
// (place_measured: the first placement once, by policy; never on a measurement that reached nobody).
#include "core/fed/placement.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.hpp"

namespace elsa::fed {
namespace {

using messages::assignment;

TEST(Placement, ClientsGoRoundRobinByIdInTheirOwnCluster) {
  const std::map<uint32_t, uint32_t> cluster_of{{0, 1}, {1, 0}, {2, 1}, {3, 2}, {4, 0}};
  EXPECT_EQ(initial_placement(cluster_of, 2),
            (std::vector<assignment>{{0, 0, 1}, {1, 1, 0}, {2, 0, 1}, {3, 1, 2}, {4, 0, 0}}));
  EXPECT_THROW(initial_placement(cluster_of, 0), elsa::error);
}

TEST(Placement, ADeadEdgesClientsSpreadOverTheLiveOnesAndNobodyElseMoves) {
  auto placement = initial_placement({{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}}, 3);  // edges 0 1 2 0 1 2
  const auto before = placement;
  const auto moved = reassign(placement, 1, {0, 2});
  EXPECT_EQ(moved, (std::vector<assignment>{{1, 0, 0}, {4, 2, 0}}));
  for (std::size_t i = 0; i < placement.size(); ++i) {
    if (before[i].edge_id != 1) {
      EXPECT_EQ(placement[i], before[i]) << "client " << i;
    }
  }
  EXPECT_TRUE(reassign(placement, 0, {}).empty()) << "no live edge: nothing moves";
  EXPECT_EQ(placement[0].edge_id, 0u);
}

// -- latency-aware placement --

cluster::latency_matrix matrix(uint32_t clients, uint32_t edges, std::vector<double> ms) {
  return {clients, edges, std::move(ms)};
}

TEST(Placement, CapacityIsTheConfiguredOneOrAFairShareOfTheLiveEdges) {
  EXPECT_EQ(edge_capacities(0, 7, 3, {0, 1, 2}), (std::vector<uint32_t>{3, 3, 3}));
  EXPECT_EQ(edge_capacities(5, 7, 3, {0, 1, 2}), (std::vector<uint32_t>{5, 5, 5}));
  // Edge 1 died: two edges of 3 cannot hold 7 clients, so the fair share (4) takes over.
  EXPECT_EQ(edge_capacities(3, 7, 3, {0, 2}), (std::vector<uint32_t>{4, 0, 4}));
  EXPECT_EQ(edge_capacities(3, 7, 3, {}), (std::vector<uint32_t>{0, 0, 0}));
}

TEST(Placement, LatencyPlacementTakesEachClientsNearEdgeUnderCapacityAndKeepsClusters) {
  // Clients 0-2 are near edge 1, client 3 near edge 0; capacity 2 forces one of 0-2 to edge 0: the one
  // that loses least (client 2: 30 vs 12, the others lose 80).
  const auto rtt = matrix(4, 2, {90, 10, 95, 15, 30, 12, 5, 70});
  const std::vector<assignment> current{{0, 0, 3}, {1, 1, 1}, {2, 0, 3}, {3, 1, 0}};
  const auto placed = latency_placement(current, rtt, {2, 2});
  EXPECT_EQ(placed, (std::vector<assignment>{{0, 1, 3}, {1, 1, 1}, {2, 0, 3}, {3, 0, 0}}));
  EXPECT_DOUBLE_EQ(latency_of(placed, rtt).total_ms, 10 + 15 + 30 + 5);
  EXPECT_DOUBLE_EQ(latency_of(placed, rtt).max_ms, 30);
  EXPECT_DOUBLE_EQ(latency_of(current, rtt).total_ms, 90 + 15 + 30 + 70) << "round robin";
  EXPECT_THROW(latency_placement(current, rtt, {1, 2}), elsa::error) << "3 places for 4 clients";
  EXPECT_THROW(latency_placement({{4, 0, 0}}, rtt, {2, 2}), elsa::error) << "client 4 is not in the matrix";
}

TEST(Placement, AnUnmeasuredLinkIsAvoidedAndNotCounted) {
  // Client 0 never answered edge 0; client 1 answered neither.
  const auto rtt = matrix(2, 2, {NAN, 40, NAN, NAN});
  const auto placed = latency_placement({{0, 0, 0}, {1, 1, 0}}, rtt, {1, 1});
  EXPECT_EQ(placed[0].edge_id, 1u) << "its only measured link";
  EXPECT_EQ(placed[1].edge_id, 0u);
  const auto lat = latency_of(placed, rtt);
  EXPECT_EQ(lat.unmeasured, 1u);
  EXPECT_DOUBLE_EQ(lat.total_ms, 40);
  EXPECT_DOUBLE_EQ(lat.max_ms, 40);
}

TEST(Placement, AStragglerMovesToItsNearestEdgeWithRoomOnly) {
  // Deadline 50: client 0 (80 on edge 0) moves to edge 2 (20; edge 1 is full); client 1 (60) has nowhere
  // nearer with room; client 2 is under the deadline; client 3 is unmeasured on its edge 1: not known to be
  // slow, so it stays although edge 0 (1 ms) has room.
  const auto rtt = matrix(4, 3, {80, 10, 20,  60, 70, 65,  40, 5, 1,  1, NAN, 1});
  std::vector<assignment> placement{{0, 0, 0}, {1, 0, 1}, {2, 1, 0}, {3, 1, 0}};
  const auto moved = move_stragglers(placement, rtt, {2, 2, 1}, 50);
  EXPECT_EQ(moved, (std::vector<assignment>{{0, 2, 0}}));
  EXPECT_EQ(placement, (std::vector<assignment>{{0, 2, 0}, {1, 0, 1}, {2, 1, 0}, {3, 1, 0}}));
  EXPECT_TRUE(move_stragglers(placement, rtt, {2, 2, 1}, 1000).empty()) << "nobody over the deadline";
}

TEST(Placement, AMeasurementPlacesOnceByPolicyThenOnlyMovesStragglers) {
  // Greedy (client 0 first) would put 0 and 1 on edge 0 and leave client 3 on its 100 ms link; the exact
  // placement gives edge 0 to clients 1 and 3 (2 + 50) and edge 1 to 0 and 2 (10 + 4): 66 ms against 107.
  const auto rtt = matrix(4, 2, {1, 10,  2, 30,  3, 4,  50, 100});
  const std::vector<assignment> rr{{0, 0, 0}, {1, 1, 0}, {2, 0, 0}, {3, 1, 0}};
  const std::vector<uint32_t> cap{2, 2};
  auto first = place_measured(rr, rtt, cap, "latency", false, 0);
  EXPECT_TRUE(first.placed);
  EXPECT_TRUE(first.problem.empty()) << first.problem;
  EXPECT_EQ(first.placement, (std::vector<assignment>{{0, 1, 0}, {1, 0, 0}, {2, 1, 0}, {3, 0, 0}}));
  EXPECT_EQ(first.moved, (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_DOUBLE_EQ(first.latency.total_ms, 66);
  EXPECT_DOUBLE_EQ(first.latency.max_ms, 50);
  // Once placed, the same measurement moves nobody, even under "latency".
  const auto again = place_measured(first.placement, rtt, cap, "latency", true, 0);
  EXPECT_TRUE(again.moved.empty());
  EXPECT_EQ(again.placement, first.placement);
  // round_robin keeps the placement; a deadline moves the clients over it (client 1: 30 ms on edge 1 -> 2 ms
  // on edge 0, which has room at capacity 3; client 3: 100 -> 50, but edge 0 is full by then).
  const auto kept = place_measured(rr, rtt, cap, "round_robin", false, 0);
  EXPECT_TRUE(kept.placed);
  EXPECT_TRUE(kept.moved.empty());
  EXPECT_DOUBLE_EQ(kept.latency.total_ms, 1 + 30 + 3 + 100);
  const auto deadline = place_measured(rr, rtt, {3, 3}, "round_robin", false, 20);
  EXPECT_EQ(deadline.moved, (std::vector<uint32_t>{1}));
  EXPECT_EQ(deadline.placement[1].edge_id, 0u);
  EXPECT_EQ(deadline.placement[3].edge_id, 1u);
}

TEST(Placement, AMeasurementThatReachedNobodyOrCannotBePlacedLeavesThePlacementForTheNextOne) {
  const std::vector<assignment> rr{{0, 0, 0}, {1, 1, 0}};
  const auto none = place_measured(rr, matrix(2, 2, {NAN, NAN, NAN, NAN}), {1, 1}, "latency", false, 10);
  EXPECT_FALSE(none.placed) << "nothing measured: the first placement is still to come";
  EXPECT_EQ(none.placement, rr);
  EXPECT_TRUE(none.moved.empty());
  EXPECT_EQ(none.latency.unmeasured, 2u);
  const auto failed = place_measured(rr, matrix(2, 2, {9, 1, 1, 9}), {1, 0}, "latency", false, 0);
  EXPECT_FALSE(failed.placed);
  EXPECT_EQ(failed.placement, rr);
  EXPECT_NE(failed.problem.find("fewer than the 2"), std::string::npos) << failed.problem;
}

TEST(Placement, ADeadEdgesClientsGoWhereTheyAreNearestWithinTheRoomLeftUnderLatency) {
  // Edge 0 holds clients 0 and 2, edge 1 clients 1 and 3, edge 2 (which dies) 4 and 5. After the death the
  // fair share of 6 clients on 2 edges is 3: one seat left on each live edge. Client 4 is nearer edge 1 (5
  // vs 50), client 5 nearer edge 0 (7 vs 60), so each takes the seat it is nearest to.
  const auto rtt = matrix(6, 3, {1, 9, 9,  9, 1, 9,  1, 9, 9,  9, 9, 9,  50, 5, 1,  7, 60, 1});
  std::vector<assignment> placement{{0, 0, 0}, {1, 1, 0}, {2, 0, 0}, {3, 1, 0}, {4, 2, 0}, {5, 2, 0}};
  const std::vector<uint32_t> cap{3, 3, 0};
  const auto moved = reassign_dead_edge(placement, 2, {0, 1}, rtt, cap, "latency");
  EXPECT_EQ(moved, (std::vector<assignment>{{4, 1, 0}, {5, 0, 0}}));
  EXPECT_EQ(placement[0].edge_id, 0u) << "nobody else moves";
  EXPECT_EQ(placement[3].edge_id, 1u);
  // Round-robin policy: in turn over the live edges, whatever the RTTs.
  std::vector<assignment> rr{{0, 0, 0}, {1, 1, 0}, {2, 2, 0}, {3, 0, 0}, {4, 1, 0}, {5, 2, 0}};
  EXPECT_EQ(reassign_dead_edge(rr, 2, {0, 1}, rtt, cap, "round_robin"),
            (std::vector<assignment>{{2, 0, 0}, {5, 1, 0}}));
  // No room left: an error, for the caller to fall back on.
  std::vector<assignment> full{{0, 0, 0}, {1, 1, 0}, {2, 2, 0}};
  EXPECT_THROW(reassign_dead_edge(full, 2, {0, 1}, matrix(3, 3, {1, 1, 1, 1, 1, 1, 1, 1, 1}), {1, 1, 0}, "latency"),
               elsa::error);
}

} // namespace
} // namespace elsa::fed
