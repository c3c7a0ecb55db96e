// Placement of clients on edges: the initial round-robin by id in each client's own cluster, and a dead
// edge's clients spread over the live edges in client order, nobody else moved.
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
  for (std::size_t i = 0; i < placement.size(); ++i)
    if (before[i].edge_id != 1)
      EXPECT_EQ(placement[i], before[i]) << "client " << i;
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
  // nearer with room; client 2 is under the deadline; client 3 is unmeasured on its edge: not slow.
  const auto rtt = matrix(4, 3, {80, 10, 20,  60, 70, 65,  40, 5, 1,  NAN, 1, 1});
  std::vector<assignment> placement{{0, 0, 0}, {1, 0, 1}, {2, 1, 0}, {3, 1, 0}};
  const auto moved = move_stragglers(placement, rtt, {2, 2, 1}, 50);
  EXPECT_EQ(moved, (std::vector<assignment>{{0, 2, 0}}));
  EXPECT_EQ(placement, (std::vector<assignment>{{0, 2, 0}, {1, 0, 1}, {2, 1, 0}, {3, 1, 0}}));
  EXPECT_TRUE(move_stragglers(placement, rtt, {2, 2, 1}, 1000).empty()) << "nobody over the deadline";
}

} // namespace
} // namespace elsa::fed
