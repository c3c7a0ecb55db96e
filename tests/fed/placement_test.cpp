// Placement of clients on edges: the initial round-robin by id in each client's own cluster, and a dead
// edge's clients spread over the live edges in client order, nobody else moved.
#include "core/fed/placement.hpp"

#include <gtest/gtest.h>

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

} // namespace
} // namespace elsa::fed
