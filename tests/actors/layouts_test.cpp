// The baselines' layouts as whole runs ([split] layout, the experiments' fedavg_lora, hierfavg_lora and
// splitfed_lora): whole-model clients train alone and send their edge nothing but adapters; a two-part
// split's clients send activations with their labels and get gradients back, nothing else per step. Both
// learn spam, on the deterministic scheduler and threaded on the real clock, and the simulated clock charges
// each side for what it ran.
#include <gtest/gtest.h>

#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

double test_accuracy(const actors::run_result& r) {
  return r.summary["tasks"]["spam"].value("test_accuracy", 0.0);
}

double majority(const actors::run_result& r) {
  return r.summary["tasks"]["spam"].value("majority_accuracy", 1.0);
}

int64_t bytes(const nlohmann::json& line, const char* tier, const char* kind) {
  const auto& t = line["bytes_by_kind"][tier];
  return t.is_object() ? t.value(kind, int64_t{0}) : 0;
}

run::run_config layout_run(const std::string& name, const std::string& layout) {
  auto cfg = small_run(name);
  cfg.split_layout = layout;
  return cfg;
}

TEST(Layouts, WholeModelClientsTrainAloneAndSendTheirEdgeOnlyAdapters) {
  const auto cfg = layout_run("layout_whole", "whole_model");
  const auto r = run_quietly(cfg);
  ASSERT_EQ(r.metrics.size(), static_cast<size_t>(cfg.rounds));
  EXPECT_TRUE(r.summary.value("finished", false));
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  EXPECT_GT(test_accuracy(r), majority(r) + 0.10) << r.summary.dump(2);
  for (const auto& line : r.metrics) {
    EXPECT_EQ(line["steps"], 8 * cfg.kappa1);
    EXPECT_GT(bytes(line, "client_to_edge", "adapters"), 0);
    EXPECT_EQ(bytes(line, "client_to_edge", "activations"), 0) << line.dump();
    EXPECT_EQ(bytes(line, "client_to_edge", "gradients"), 0);
    EXPECT_EQ(bytes(line, "edge_to_client", "activations"), 0);
    EXPECT_EQ(bytes(line, "edge_to_client", "gradients"), 0);
    for (const auto& [c, sim] : line["sim_clients"].items()) {
      EXPECT_EQ(sim["edge_s"].get<double>(), 0.0) << "the edge computes nothing for client " << c;
      EXPECT_GT(sim["compute_s"].get<double>(), 0.0);
    }
  }
}

TEST(Layouts, TwoPartClientsSendActivationsWithLabelsAndGetGradientsBack) {
  const auto cfg = layout_run("layout_two_part", "two_part");
  const auto r = run_quietly(cfg);
  ASSERT_EQ(r.metrics.size(), static_cast<size_t>(cfg.rounds));
  EXPECT_TRUE(r.summary.value("finished", false));
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  EXPECT_GT(test_accuracy(r), majority(r) + 0.10) << r.summary.dump(2);
  const auto u = run_quietly(layout_run("layout_u_shaped", "u_shaped"));
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    const auto& line = r.metrics[i];
    EXPECT_EQ(line["steps"], 8 * cfg.kappa1);
    EXPECT_GT(bytes(line, "client_to_edge", "activations"), 0);
    EXPECT_EQ(bytes(line, "client_to_edge", "gradients"), 0) << "no tail: the client sends no gradient";
    EXPECT_EQ(bytes(line, "edge_to_client", "activations"), 0) << "the edge's reply is the head gradient";
    EXPECT_GT(bytes(line, "edge_to_client", "gradients"), 0);
    // Half the per-step messages of the U-shape, and its client computes less (no tail, no classifier).
    EXPECT_LT(bytes(line, "client_to_edge", "activations") + bytes(line, "edge_to_client", "gradients"),
              0.6 * (bytes(u.metrics[i], "client_to_edge", "activations")
                     + bytes(u.metrics[i], "client_to_edge", "gradients")
                     + bytes(u.metrics[i], "edge_to_client", "activations")
                     + bytes(u.metrics[i], "edge_to_client", "gradients")));
    for (const auto& [c, sim] : line["sim_clients"].items()) {
      EXPECT_EQ(sim["split"], nlohmann::json::array({1, 0})) << "client " << c;
      EXPECT_LT(sim["flops"].get<double>(), u.metrics[i]["sim_clients"][c]["flops"].get<double>()) << "client " << c;
      EXPECT_GT(sim["edge_s"].get<double>(), 0.0);
    }
  }
}

TEST(Layouts, BothBaselineLayoutsRunThreadedOnTheRealClock) {
  for (const char* layout : {"whole_model", "two_part"}) {
    auto cfg = layout_run(std::string("layout_threaded_") + layout, layout);
    cfg.deterministic = false;
    cfg.threads = 2;
    cfg.rounds = 2;
    cfg.max_len = 48;
    cfg.round_deadline_ms = 30000;
    cfg.step_deadline_ms = 20000;
    const auto r = run_quietly(cfg);
    ASSERT_TRUE(r.summary.value("finished", false)) << layout;
    EXPECT_TRUE(r.errors.empty()) << layout << ": " << r.errors.front().dump();
    ASSERT_EQ(r.metrics.size(), 2u) << layout;
    EXPECT_EQ(r.metrics[1]["clients_reported"], 8) << layout;
    EXPECT_GT(test_accuracy(r), majority(r)) << layout;
  }
}

} // namespace
} // namespace elsa::testing
