// The split planner (core/sim/planner.hpp): the joint plan of an edge's clients against brute force over
// every joint assignment on seeded random instances, memory budgets, a slower client never taking more
// blocks, the error for a budget no split fits, and the feasible splits of a model.
#include "core/sim/planner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/errors.hpp"

namespace elsa::sim {
namespace {

const std::vector<std::string> all_targets = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};

model_shape four_blocks() {
  return {4, 192, 6, 768, 8192, 128, 8, all_targets, 2}; // the shipped model
}

model_shape six_blocks() {
  return {6, 96, 4, 384, 2048, 64, 4, {"c_attn", "mlp.c_proj"}, 3};
}

std::vector<std::pair<int64_t, int64_t>> pairs(const std::vector<split>& s) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (auto x : s)
    out.emplace_back(x.a, x.b);
  return out;
}

TEST(FeasibleSplits, ListEverySplitThatLeavesTheEdgeABlock) {
  using v = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(pairs(feasible_splits(4, 1)), (v{{1, 1}, {1, 2}, {2, 1}}));
  EXPECT_EQ(pairs(feasible_splits(4, 0)), (v{{1, 1}, {1, 2}, {2, 1}})); // a >= 1 always
  EXPECT_EQ(pairs(feasible_splits(3, 1)), (v{{1, 1}}));
  EXPECT_EQ(pairs(feasible_splits(6, 3)), (v{{3, 1}, {3, 2}, {4, 1}}));
  EXPECT_TRUE(feasible_splits(2, 1).empty());
  EXPECT_TRUE(feasible_splits(4, 3).empty());
}

TEST(CostOf, IsComputeOverSpeedAndFourTransfers) {
  const auto m = four_blocks();
  const step_shape st{8, 96};
  const device_profile d{"phone", 2e9, 1e9, 1e6, 4e6, 0.01};
  const auto c = cost_of(m, st, 2, d, 1e11, {1, 2});
  const auto f = training_step_flops(m, st, {1, 2});
  const double bytes = 8 * 96 * 192 * 2;
  EXPECT_DOUBLE_EQ(c.client_s, f.client / 2e9);
  EXPECT_DOUBLE_EQ(c.edge_s, f.edge / 1e11);
  EXPECT_NEAR(c.comm_s, 2 * (bytes / 1e6 + 0.01) + 2 * (bytes / 4e6 + 0.01), 1e-12);
  auto broken = d;
  broken.up_bytes_per_s = 0;
  EXPECT_THROW(cost_of(m, st, 2, broken, 1e11, {1, 1}), elsa::error);
}

// A random device: speeds, links and latencies across orders of magnitude; memory between a little under
// the smallest split's need and a little over the largest's, so that budgets bind.
device_profile random_device(std::mt19937& rng, const std::vector<int64_t>& memory, int i) {
  auto log_uniform = [&rng](double lo, double hi) {
    return std::pow(10.0, std::uniform_real_distribution<double>(std::log10(lo), std::log10(hi))(rng));
  };
  const auto [lo, hi] = std::minmax_element(memory.begin(), memory.end());
  device_profile d;
  d.name = "device " + std::to_string(i);
  d.flops_per_s = log_uniform(1e8, 1e12);
  d.memory_bytes
    = std::uniform_real_distribution<double>(static_cast<double>(*lo), 1.1 * static_cast<double>(*hi))(rng);
  d.up_bytes_per_s = log_uniform(1e4, 1e8);
  d.down_bytes_per_s = log_uniform(1e4, 1e8);
  d.latency_s = log_uniform(1e-4, 1e-1);
  return d;
}

// max of own time + sum of edge time, from cost_of: the objective written out again.
double objective(const std::vector<step_cost>& costs) {
  double slowest = 0, edge = 0;
  for (const auto& c : costs) {
    slowest = std::max(slowest, c.client_s + c.comm_s);
    edge += c.edge_s;
  }
  return slowest + edge;
}

// The best objective over every joint assignment of fitting splits (infinity when some client fits none).
double brute_force(const model_shape& m, const step_shape& st, const std::vector<device_profile>& clients,
                   double edge_flops, int64_t a_min) {
  const auto splits = feasible_splits(m.n_layer, a_min);
  std::vector<std::vector<step_cost>> fitting(clients.size());
  for (std::size_t i = 0; i < clients.size(); ++i)
    for (auto s : splits)
      if (static_cast<double>(client_memory_bytes(m, st, s)) <= clients[i].memory_bytes)
        fitting[i].push_back(cost_of(m, st, 4, clients[i], edge_flops, s));
  for (const auto& f : fitting)
    if (f.empty())
      return std::numeric_limits<double>::infinity();
  std::vector<std::size_t> pick(clients.size(), 0);
  double best = std::numeric_limits<double>::infinity();
  for (;;) {
    std::vector<step_cost> costs;
    for (std::size_t i = 0; i < clients.size(); ++i)
      costs.push_back(fitting[i][pick[i]]);
    best = std::min(best, objective(costs));
    std::size_t i = 0;
    while (i < clients.size() && ++pick[i] == fitting[i].size())
      pick[i++] = 0;
    if (i == clients.size())
      return best;
  }
}

TEST(PlanEdge, EqualsBruteForceAndKeepsEveryBudget) {
  std::mt19937 rng(20240611);
  int binding = 0, varied = 0;
  for (int trial = 0; trial < 240; ++trial) {
    const auto m = trial % 2 == 0 ? four_blocks() : six_blocks();
    const step_shape st{1 + static_cast<int64_t>(rng() % 8), 8 + static_cast<int64_t>(rng() % 89)};
    const int64_t a_min = m.n_layer == 6 && trial % 4 == 1 ? 2 : 1;
    const auto splits = feasible_splits(m.n_layer, a_min);
    std::vector<int64_t> memory;
    for (auto s : splits)
      memory.push_back(client_memory_bytes(m, st, s));
    const int n = 2 + static_cast<int>(rng() % 4);
    std::vector<device_profile> clients;
    for (int i = 0; i < n; ++i)
      clients.push_back(random_device(rng, memory, i));
    const double edge_flops = std::pow(10.0, std::uniform_real_distribution<double>(10, 13)(rng));
    const double best = brute_force(m, st, clients, edge_flops, a_min);
    ASSERT_TRUE(std::isfinite(best)) << "every budget is at least the smallest split's need";
    const auto plan = plan_edge(m, st, 4, clients, edge_flops, a_min);
    ASSERT_EQ(plan.size(), clients.size());
    for (std::size_t i = 0; i < plan.size(); ++i) {
      EXPECT_GE(plan[i].a, a_min);
      EXPECT_LE(static_cast<double>(client_memory_bytes(m, st, plan[i])), clients[i].memory_bytes)
        << "trial " << trial << " client " << i;
    }
    std::vector<step_cost> costs;
    for (std::size_t i = 0; i < plan.size(); ++i)
      costs.push_back(cost_of(m, st, 4, clients[i], edge_flops, plan[i]));
    const double value = edge_step_seconds(m, st, 4, clients, edge_flops, plan);
    EXPECT_DOUBLE_EQ(value, objective(costs));
    EXPECT_NEAR(value, best, 1e-12 * best) << "trial " << trial;
    const auto most = *std::max_element(memory.begin(), memory.end());
    binding += std::any_of(clients.begin(), clients.end(), [most](const device_profile& d) {
      return d.memory_bytes < static_cast<double>(most);
    });
    varied += std::any_of(plan.begin(), plan.end(), [&plan](split s) { return s != plan.front(); });
  }
  // The instances exercise the problem: budgets often rule splits out, and plans often mix splits.
  EXPECT_GT(binding, 120) << binding;
  EXPECT_GT(varied, 120) << varied;
}

// Two clients alike but for compute (one has a quarter of the other's FLOP/s): the slow one never runs more
// blocks. Its own time at any split is at least the fast one's, so at every threshold its choices are a
// subset of the fast one's.
TEST(PlanEdge, ASlowerClientGetsNoMoreClientBlocks) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 120; ++trial) {
    const auto m = trial % 2 == 0 ? four_blocks() : six_blocks();
    const step_shape st{8, 8 + static_cast<int64_t>(rng() % 89)};
    std::vector<int64_t> memory;
    for (auto s : feasible_splits(m.n_layer, 1))
      memory.push_back(client_memory_bytes(m, st, s));
    std::vector<device_profile> clients;
    for (int i = 0; i < 3; ++i)
      clients.push_back(random_device(rng, memory, i));
    auto slow = clients[0];
    slow.name = "slow";
    slow.flops_per_s /= 4;
    clients.insert(clients.begin() + 1, slow); // clients[0] and clients[1] differ only in compute
    const double edge_flops = std::pow(10.0, std::uniform_real_distribution<double>(10, 13)(rng));
    const auto plan = plan_edge(m, st, 4, clients, edge_flops, 1);
    EXPECT_LE(plan[1].a + plan[1].b, plan[0].a + plan[0].b) << "trial " << trial;
  }
}

TEST(PlanEdge, ASlowerClientGetsStrictlyFewerBlocksWhereItMatters) {
  // The shipped model. Client work is 3.2 GFLOP at two client blocks and 4.9 at three; the edge's, 3.4 and
  // 1.7. With the edge at 5 GFLOP/s, a fast client (10 GFLOP/s) takes three blocks off the edge, but a slow
  // one (2.5 GFLOP/s) would then be the straggler: the best plan leaves it two.
  const auto m = four_blocks();
  const step_shape st{8, 96};
  const device_profile fast{"fast", 10e9, 1e9, 1e9, 1e9, 0};
  auto slow = fast;
  slow.name = "slow";
  slow.flops_per_s /= 4;
  const auto plan = plan_edge(m, st, 4, {fast, slow}, 5e9, 1);
  EXPECT_EQ(plan[0].a + plan[0].b, 3);
  EXPECT_EQ(plan[1].a + plan[1].b, 2);
  EXPECT_LT(edge_step_seconds(m, st, 4, {fast, slow}, 5e9, plan),
            edge_step_seconds(m, st, 4, {fast, slow}, 5e9, {plan[0], plan[0]}));
}

TEST(PlanEdge, ABudgetNoSplitFitsNamesTheClientAndWhatItNeeds) {
  const auto m = four_blocks();
  const step_shape st{8, 96};
  device_profile roomy{"roomy", 1e10, 1e9, 1e7, 1e7, 0.01};
  auto tiny = roomy;
  tiny.name = "tiny watch";
  tiny.memory_bytes = 4e6;
  const auto needed = client_memory_bytes(m, st, {1, 1}); // the smallest split
  for (auto s : feasible_splits(4, 1))
    ASSERT_LE(needed, client_memory_bytes(m, st, s));
  try {
    plan_edge(m, st, 4, {roomy, tiny}, 1e11, 1);
    FAIL() << "a budget no split fits must be an error";
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
    const std::string what = e.what();
    EXPECT_NE(what.find("tiny watch has 4000000 bytes"), std::string::npos) << what;
    EXPECT_NE(what.find(std::to_string(needed)), std::string::npos) << what;
  }
  tiny.name.clear();  // unnamed: its index
  try {
    plan_edge(m, st, 4, {roomy, tiny}, 1e11, 1);
    FAIL() << "a budget no split fits must be an error";
  } catch (const elsa::error& e) {
    EXPECT_NE(std::string(e.what()).find("client 1 has"), std::string::npos) << e.what();
  }
  EXPECT_THROW(plan_edge(m, st, 4, {roomy}, 1e11, 3), elsa::error); // no split at a_min = 3
}

TEST(EdgeStepSeconds, IsTheSlowestClientPlusTheEdgesWorkForAll) {
  const auto m = four_blocks();
  const step_shape st{8, 96};
  const std::vector<device_profile> clients
    = {{"a", 1e9, 1e9, 1e6, 1e6, 0.01}, {"b", 4e9, 1e9, 1e7, 1e7, 0.001}};
  const std::vector<split> plan = {{1, 1}, {2, 1}};
  const auto c0 = cost_of(m, st, 4, clients[0], 2e10, plan[0]);
  const auto c1 = cost_of(m, st, 4, clients[1], 2e10, plan[1]);
  EXPECT_DOUBLE_EQ(edge_step_seconds(m, st, 4, clients, 2e10, plan),
                   std::max(c0.client_s + c0.comm_s, c1.client_s + c1.comm_s) + c0.edge_s + c1.edge_s);
  EXPECT_THROW(edge_step_seconds(m, st, 4, clients, 2e10, {{1, 1}}), elsa::error);
}

} // namespace
} // namespace elsa::sim
