// Latency-aware placement: the min-cost assignment against brute force on hundreds of seeded instances and
// against the baselines, capacities, the straggler move, the seeded latency model, and 1,000 x 10 in time.
#include "core/cluster/assignment.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/data/random.hpp"
#include "core/errors.hpp"

namespace elsa::cluster {
namespace {

using data::detail::mix_seed;
using data::detail::uniform_index;
using data::detail::uniform_open0;

latency_matrix matrix(uint32_t clients, uint32_t edges, std::vector<double> ms) {
  return {clients, edges, std::move(ms)};
}

bool within_capacity(const std::vector<uint32_t>& edge_of, const std::vector<uint32_t>& capacity) {
  std::vector<uint32_t> load(capacity.size(), 0);
  for (auto e : edge_of)
    if (e >= capacity.size() || ++load[e] > capacity[e])
      return false;
  return true;
}

// Every assignment of clients to edges, the cheapest that fits the capacities.
double brute_force(const latency_matrix& rtt, const std::vector<uint32_t>& capacity) {
  std::vector<uint32_t> edge_of(rtt.clients, 0);
  double best = INFINITY;
  for (;;) {
    if (within_capacity(edge_of, capacity))
      best = std::min(best, total_latency(rtt, edge_of));
    uint32_t c = 0;
    while (c < rtt.clients && ++edge_of[c] == rtt.edges)
      edge_of[c++] = 0;
    if (c == rtt.clients)
      return best;
  }
}

TEST(MinCostAssignment, EqualsBruteForceAndBeatsTheBaselines) {
  std::mt19937_64 rng(mix_seed(51, 0));
  int checked = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const uint32_t clients = 1 + static_cast<uint32_t>(uniform_index(rng, 7));
    const uint32_t edges = 1 + static_cast<uint32_t>(uniform_index(rng, 3));
    // Half the instances with small integer RTTs, so that ties (and zero-cost cycles) are common.
    const bool integers = trial % 2 == 1;
    latency_matrix rtt{clients, edges, {}};
    for (uint32_t i = 0; i < clients * edges; ++i)
      rtt.ms.push_back(integers ? static_cast<double>(1 + uniform_index(rng, 4)) : 1.0 + 99.0 * uniform_open0(rng));
    std::vector<uint32_t> capacity(edges);
    uint32_t room = 0;
    do {
      room = 0;
      for (auto& c : capacity) {
        c = static_cast<uint32_t>(uniform_index(rng, clients + 1));
        room += c;
      }
    } while (room < clients);
    const auto best = min_cost_assignment(rtt, capacity);
    ASSERT_EQ(best.size(), clients);
    EXPECT_TRUE(within_capacity(best, capacity)) << "trial " << trial;
    const double total = total_latency(rtt, best);
    EXPECT_NEAR(total, brute_force(rtt, capacity), 1e-9) << "trial " << trial;
    EXPECT_LE(total, total_latency(rtt, greedy_assignment(rtt, capacity)) + 1e-9);
    EXPECT_LE(total, total_latency(rtt, round_robin_assignment(rtt, capacity)) + 1e-9);
    EXPECT_TRUE(within_capacity(greedy_assignment(rtt, capacity), capacity));
    EXPECT_TRUE(within_capacity(round_robin_assignment(rtt, capacity), capacity));
    ++checked;
  }
  EXPECT_GE(checked, 200);
}

TEST(MinCostAssignment, BeatsGreedyWhereGreedyIsShortSighted) {
  // Client 0 is nearly as close to edge 1, client 1 is far from it; one place per edge.
  const auto rtt = matrix(2, 2, {1, 2, 1, 10});
  EXPECT_EQ(greedy_assignment(rtt, {1, 1}), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(min_cost_assignment(rtt, {1, 1}), (std::vector<uint32_t>{1, 0}));
  EXPECT_DOUBLE_EQ(total_latency(rtt, min_cost_assignment(rtt, {1, 1})), 3.0);
  EXPECT_DOUBLE_EQ(max_latency(rtt, greedy_assignment(rtt, {1, 1})), 10.0);
  // A chain: the new client 2 takes edge 0 by pushing client 1 to edge 1 and client 0 to edge 2.
  const auto chain = matrix(3, 3, {1, 5, 2, 1, 2, 9, 1, 9, 9});
  EXPECT_EQ(min_cost_assignment(chain, {1, 1, 1}), (std::vector<uint32_t>{2, 1, 0}));
}

TEST(MinCostAssignment, BreaksTiesToTheLowerEdgeAndRespectsCapacity) {
  const auto flat = matrix(3, 2, {5, 5, 5, 5, 5, 5});
  EXPECT_EQ(min_cost_assignment(flat, {2, 2}), (std::vector<uint32_t>{0, 0, 1}));
  EXPECT_EQ(min_cost_assignment(flat, {0, 3}), (std::vector<uint32_t>{1, 1, 1}));
  // Everybody prefers edge 0, which holds one.
  const auto crowd = matrix(3, 2, {1, 4, 1, 6, 1, 5});
  const auto a = min_cost_assignment(crowd, {1, 5});
  EXPECT_EQ(a, (std::vector<uint32_t>{1, 0, 1}));
}

TEST(MinCostAssignment, RejectsTooLittleCapacityOrTheWrongCount) {
  const auto rtt = matrix(3, 2, {1, 2, 3, 4, 5, 6});
  for (const auto& f : {min_cost_assignment, greedy_assignment, round_robin_assignment}) {
    EXPECT_THROW(f(rtt, {1, 1}), elsa::error) << "room for 2 of 3";
    EXPECT_THROW(f(rtt, {3}), elsa::error) << "one capacity for two edges";
    EXPECT_THROW(f(rtt, {1, 1, 1}), elsa::error) << "three capacities for two edges";
    EXPECT_THROW(f(matrix(3, 2, {1, 2, 3}), {3, 3}), elsa::error) << "short matrix";
  }
  try {
    min_cost_assignment(rtt, {1, 1});
    FAIL() << "no error";
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
  }
  EXPECT_TRUE(min_cost_assignment(matrix(0, 2, {}), {0, 0}).empty());
}

TEST(Baselines, RoundRobinSkipsFullEdgesAndGreedyTakesTheNearestWithRoom) {
  const auto rtt = matrix(3, 2, {9, 1, 9, 1, 9, 1});
  EXPECT_EQ(round_robin_assignment(rtt, {1, 2}), (std::vector<uint32_t>{0, 1, 1}));
  EXPECT_EQ(round_robin_assignment(rtt, {2, 1}), (std::vector<uint32_t>{0, 1, 0}));
  EXPECT_EQ(greedy_assignment(rtt, {3, 2}), (std::vector<uint32_t>{1, 1, 0}));
  EXPECT_DOUBLE_EQ(total_latency(rtt, {1, 1, 0}), 11.0);
  EXPECT_DOUBLE_EQ(max_latency(rtt, {1, 1, 1}), 1.0);
  EXPECT_THROW(total_latency(rtt, {0, 2, 0}), elsa::error) << "edge 2 does not exist";
  EXPECT_THROW(max_latency(rtt, {0, 0}), elsa::error);
}

TEST(MoveSlowClients, MovesExactlyTheLateClientsToANearerEdgeWithRoom) {
  // Edges hold 2, 2, 3 (loads 2, 1, 3 at the start); deadline 60. In id order:
  //   c0 on 2 at 100: edge 0 (10) is full, edge 1 (50) has room -> moves to 1, which is now full.
  //   c1 on 0 at 20: in time, stays although edges 1 and 2 are nearer.
  //   c2 on 2 at 90: edges 0 and 1 are full, stays.
  //   c3 on 0 at 70: edge 2 has room (c0 left) but is slower (95), stays.
  //   c4 on 2 at 80: edge 0 (5) is full, stays.
  //   c5 on 1 at 61: edge 2 (30) has room -> moves.
  const auto rtt = matrix(6, 3, {10, 50, 100, 20, 5, 5, 30, 40, 90, 70, 80, 95, 5, 99, 80, 99, 61, 30});
  std::vector<uint32_t> edge_of{2, 0, 2, 0, 2, 1};
  const std::vector<uint32_t> capacity{2, 2, 3};
  const auto moved = move_slow_clients(edge_of, rtt, capacity, 60.0);
  EXPECT_EQ(moved, (std::vector<uint32_t>{0, 5}));
  EXPECT_EQ(edge_of, (std::vector<uint32_t>{1, 0, 2, 0, 2, 2}));
  EXPECT_TRUE(within_capacity(edge_of, capacity));
  EXPECT_TRUE(move_slow_clients(edge_of, rtt, capacity, 1000.0).empty()) << "nobody late";
  auto wrong = edge_of;
  wrong.pop_back();
  EXPECT_THROW(move_slow_clients(wrong, rtt, capacity, 60.0), elsa::error);
  EXPECT_THROW(move_slow_clients(edge_of, rtt, {2, 2}, 60.0), elsa::error);
}

TEST(MoveSlowClients, OnlyLateClientsMoveAndEachGetsFaster) {
  std::mt19937_64 rng(mix_seed(52, 1));
  for (int trial = 0; trial < 100; ++trial) {
    const auto model = latency_model::seeded(40, 4, 5, 200, 0, mix_seed(trial, 2));
    const std::vector<uint32_t> capacity{12, 12, 12, 12};
    auto edge_of = round_robin_assignment(model.base, capacity);
    const auto before = edge_of;
    const double deadline = 50.0 + 100.0 * uniform_open0(rng);
    const auto moved = move_slow_clients(edge_of, model.base, capacity, deadline);
    EXPECT_TRUE(within_capacity(edge_of, capacity));
    std::size_t next = 0;
    for (uint32_t c = 0; c < 40; ++c) {
      const bool was_moved = next < moved.size() && moved[next] == c;
      next += was_moved;
      if (was_moved) {
        EXPECT_GT(model.base(c, before[c]), deadline);
        EXPECT_LT(model.base(c, edge_of[c]), model.base(c, before[c]));
      } else {
        EXPECT_EQ(edge_of[c], before[c]) << "client " << c;
      }
    }
    EXPECT_EQ(next, moved.size()) << "moved clients in id order";
  }
}

TEST(LatencyModel, IsDeterministicForASeedAndDrawsWithinItsBounds) {
  const auto a = latency_model::seeded(50, 5, 10, 80, 5, 42);
  const auto b = latency_model::seeded(50, 5, 10, 80, 5, 42);
  const auto other = latency_model::seeded(50, 5, 10, 80, 5, 43);
  ASSERT_EQ(a.base.ms.size(), 250u);
  EXPECT_EQ(a.base.ms, b.base.ms);
  std::size_t differ = 0;
  double sum = 0.0;
  for (std::size_t i = 0; i < a.base.ms.size(); ++i) {
    differ += a.base.ms[i] != other.base.ms[i];
    EXPECT_GE(a.base.ms[i], 10.0);
    EXPECT_LE(a.base.ms[i], 80.0);
    sum += a.base.ms[i];
  }
  EXPECT_EQ(differ, a.base.ms.size()) << "another seed, other links";
  EXPECT_NEAR(sum / 250.0, 45.0, 4.0) << "uniform over [10, 80]: sd of the mean 1.3";
  double lo = INFINITY, hi = -INFINITY;
  for (uint64_t n = 0; n < 1000; ++n) {
    const double s = a.sample(3, 2, n);
    EXPECT_GE(s, a.base(3, 2));
    EXPECT_LE(s, a.base(3, 2) + 5.0);
    lo = std::min(lo, s - a.base(3, 2));
    hi = std::max(hi, s - a.base(3, 2));
  }
  EXPECT_GT(hi - lo, 4.5) << "jitter spans [0, 5]";
}

TEST(LatencyModel, SampleIsAPureFunctionOfLinkAndIndex) {
  const auto a = latency_model::seeded(20, 4, 10, 80, 5, 7);
  const double first = a.sample(5, 1, 17);
  for (uint64_t n = 0; n < 50; ++n)
    a.sample(static_cast<uint32_t>(n % 20), static_cast<uint32_t>(n % 4), n);
  EXPECT_EQ(a.sample(5, 1, 17), first) << "other measurements do not change it";
  EXPECT_EQ(latency_model::seeded(20, 4, 10, 80, 5, 7).sample(5, 1, 17), first) << "a fresh model agrees";
  EXPECT_NE(a.sample(5, 1, 18), first);
  EXPECT_NE(a.sample(5, 2, 17) - a.base(5, 2), first - a.base(5, 1)) << "other links jitter independently";
  EXPECT_NE(latency_model::seeded(20, 4, 10, 80, 5, 8).sample(5, 1, 17), first);
  const auto still = latency_model::seeded(4, 2, 30, 30, 0, 1);
  EXPECT_EQ(still.sample(3, 1, 99), 30.0) << "no jitter, one base";
  EXPECT_THROW(a.sample(20, 0, 0), elsa::error);
  EXPECT_THROW(a.sample(0, 4, 0), elsa::error);
  EXPECT_THROW(latency_model::seeded(4, 2, 50, 30, 0, 1), elsa::error) << "min above max";
  EXPECT_THROW(latency_model::seeded(4, 2, 10, 30, -1, 1), elsa::error) << "negative jitter";
}

TEST(MinCostAssignment, SolvesAThousandClientsOnTenEdgesQuickly) {
  const auto model = latency_model::seeded(1000, 10, 5, 200, 0, 2024);
  const std::vector<uint32_t> capacity(10, 100); // exactly full: the hardest case for the shortest paths
  const auto start = std::chrono::steady_clock::now();
  const auto best = min_cost_assignment(model.base, capacity);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "min-cost assignment 1000 x 10: " << seconds << " s\n";
  RecordProperty("seconds_1000x10", std::to_string(seconds));
  EXPECT_LT(seconds, 5.0);
  EXPECT_TRUE(within_capacity(best, capacity));
  const double total = total_latency(model.base, best);
  EXPECT_LT(total, total_latency(model.base, greedy_assignment(model.base, capacity)));
  // Optimal implies no single exchange of two clients' edges helps.
  for (uint32_t x = 0; x < 1000; ++x)
    for (uint32_t y = x + 1; y < 1000; ++y) {
      const double now = model.base(x, best[x]) + model.base(y, best[y]);
      const double swapped = model.base(x, best[y]) + model.base(y, best[x]);
      ASSERT_GE(swapped, now - 1e-9) << x << " " << y;
    }
}

} // namespace
} // namespace elsa::cluster
