// Whole ELSA runs in one process, on real spam data with the shipped base model, under CAF's deterministic
// scheduler: learning beats the majority baseline, the cloud only receives adapters, faults (dropouts,
// a straggler, a dead edge, malformed bytes) are survived and recorded, and reruns are bit-identical.
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include <caf/send.hpp>

#include "actors/interfaces.hpp"
#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

double test_accuracy(const actors::run_result& r) {
  return r.summary["tasks"]["spam"].value("test_accuracy", 0.0);
}

double majority(const actors::run_result& r) {
  return r.summary["tasks"]["spam"].value("majority_accuracy", 1.0);
}

TEST(Runtime, LearnsSpamAndTheCloudOnlyReceivesAdapters) {
  const auto cfg = small_run("learns");
  const auto r = run_quietly(cfg);
  ASSERT_EQ(r.metrics.size(), static_cast<size_t>(cfg.rounds));
  EXPECT_TRUE(r.summary.value("finished", false));
  // Clearly better than always answering "ham" (0.70 of the test split).
  EXPECT_GT(test_accuracy(r), majority(r) + 0.10) << r.summary.dump(2);
  // Of the protocol only adapter updates reached the cloud (one per edge and cluster per cloud round), besides
  // the coordinator's registration and the peer table naming the edges.
  const auto& received = r.summary["cloud_received"];
  ASSERT_EQ(received.size(), 3u) << received.dump();
  EXPECT_EQ(received.value("adapter_update", 0), cfg.edges * (cfg.rounds / cfg.kappa2));
  EXPECT_EQ(received.value("registration", 0), 1);
  EXPECT_EQ(received.value("peer_table", 0), 1);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  // Every round: all 8 clients reported all their steps, and bytes moved on every tier they should.
  for (const auto& line : r.metrics) {
    EXPECT_EQ(line["clients_reported"], 8);
    EXPECT_EQ(line["steps"], 8 * cfg.kappa1);
    EXPECT_GT(line["bytes"]["client_to_edge"].get<int64_t>(), 0);
    EXPECT_EQ(line["bytes"]["edge_to_cloud"].get<int64_t>() > 0, line["cloud_round"].get<bool>());
  }
  EXPECT_TRUE(std::filesystem::exists(cfg.out_dir / "adapters/spam/adapter_model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(cfg.out_dir / "metrics.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(cfg.out_dir / "summary.json"));
}

TEST(Runtime, SurvivesTwoDropoutsAndAStraggler) {
  auto cfg = small_run("faults");
  cfg.dropouts = {2, 5};
  cfg.dropout_round = 1;
  cfg.dropout_step = 2;  // mid-round: after 2 of their 6 steps
  cfg.stragglers = {6};
  // Misses every deadline, but its update arrives during the next round, so it is never taken for dead.
  cfg.straggler_delay_ms = 3 * cfg.round_deadline_ms / 2;
  const auto r = run_quietly(cfg);
  ASSERT_EQ(r.metrics.size(), static_cast<size_t>(cfg.rounds)) << "every round completes and is recorded";
  EXPECT_EQ(r.summary["dropouts"], nlohmann::json::array({2, 5}));
  for (const auto& line : r.metrics) {
    const int64_t round = line["round"];
    // The straggler misses every deadline; the dropouts are gone from round 1 on.
    EXPECT_EQ(line["stragglers"], nlohmann::json::array({6})) << line.dump();
    EXPECT_EQ(line["clients_reported"], round >= 1 ? 5 : 7) << line.dump();
    // Edge 0 (clients 0, 2, 4, 6) waits for its deadline and closes with a quorum; edge 1 loses clients 5
    // (and 1 is fine), so it completes once its live clients reported.
    EXPECT_EQ(line["close_reasons"].value("quorum", 0), 1) << line.dump();
    EXPECT_EQ(line["close_reasons"].value("complete", 0), 1) << line.dump();
  }
  EXPECT_GT(test_accuracy(r), majority(r) + 0.05) << r.summary.dump(2);
}

TEST(Runtime, LateUpdatesCanBeStalenessWeighted) {
  auto cfg = small_run("staleness");
  cfg.rounds = 2;
  cfg.kappa1 = 2;
  cfg.stragglers = {6};
  cfg.straggler_delay_ms = 3 * cfg.round_deadline_ms / 2;
  cfg.straggler_policy_name = "staleness";
  const auto r = run_quietly(cfg);
  ASSERT_EQ(r.metrics.size(), 2u);
  // Round 0's late update arrives during round 1 and enters its aggregation with weight * decay.
  EXPECT_EQ(r.metrics[1]["late_arrivals"], nlohmann::json::array({6})) << r.metrics[1].dump();
  EXPECT_EQ(r.metrics[1]["stale_aggregated"], 1) << r.metrics[1].dump();
  cfg.straggler_policy_name = "drop";
  cfg.out_dir += "_drop";
  const auto dropped = run_quietly(cfg);
  EXPECT_EQ(dropped.metrics[1]["stale_aggregated"], 0) << dropped.metrics[1].dump();
}

TEST(Runtime, TrustUpdatesChangeWhoIsAggregated) {
  auto cfg = small_run("trust");
  cfg.rounds = 2;
  cfg.kappa1 = 2;
  actors::run_hooks hooks;
  hooks.before_start = [&cfg](const actors::directory& peers) {
    // The coordinator's voice: client 0 excluded, client 2 trusted half as much.
    messages::trust_update up;
    up.round = 0;
    up.scores = {{0, 0.0, true}, {2, 0.5, false}};
    messages::codec_limits limits;
    limits.max_clients = static_cast<uint32_t>(cfg.clients);
    limits.max_edges = static_cast<uint32_t>(cfg.edges);
    auto bytes = messages::codec{limits}.encode(messages::participant{messages::tier::coordinator, 0}, up);
    ASSERT_TRUE(bytes.ok());
    for (const auto& e : peers.edges)
      caf::send_as(peers.coordinator, e, messages::deliver_atom::value, *bytes);
  };
  const auto r = run_quietly(cfg, hooks);
  ASSERT_EQ(r.metrics.size(), 2u);
  for (const auto& line : r.metrics) {
    EXPECT_EQ(line["aggregated"], nlohmann::json::array({1, 2, 3, 4, 5, 6, 7})) << line.dump();
    EXPECT_DOUBLE_EQ(line["trust"]["2"].get<double>(), 0.5) << line.dump();
    EXPECT_EQ(line["clients_reported"], 8) << "an excluded client still trains; it is only left out";
  }
}

TEST(Runtime, SilentDropoutsAreMarkedDownAfterMissedDeadlines) {
  auto cfg = small_run("silent");
  cfg.dropouts = {1};
  cfg.dropout_mode_name = "silent";
  cfg.dropout_round = 0;
  cfg.down_after_missed = 2;
  const auto r = run_quietly(cfg);
  ASSERT_EQ(r.metrics.size(), static_cast<size_t>(cfg.rounds));
  EXPECT_EQ(r.metrics[0]["missing"], nlohmann::json::array({1}));
  EXPECT_EQ(r.metrics[1]["down"], nlohmann::json::array({1}));
  // Once down it is no longer waited for: later rounds complete without a deadline.
  EXPECT_EQ(r.metrics[3]["close_reasons"].value("complete", 0), 2) << r.metrics[3].dump();
}

TEST(Runtime, ClientsOfADeadEdgeAreReassigned) {
  auto cfg = small_run("edge_down");
  cfg.edge_failures = {1};
  cfg.edge_failure_round = 1;
  const auto r = run_quietly(cfg);
  ASSERT_EQ(r.metrics.size(), static_cast<size_t>(cfg.rounds));
  // From round 2 on, edge 0 serves all 8 clients.
  EXPECT_EQ(r.metrics[2]["clients_reported"], 8) << r.metrics[2].dump();
  EXPECT_EQ(r.metrics[3]["clients_reported"], 8) << r.metrics[3].dump();
  EXPECT_TRUE(error_actors(r).count("coordinator")) << "the coordinator records the edge going down";
  EXPECT_GT(test_accuracy(r), majority(r) + 0.05) << r.summary.dump(2);
}

TEST(Runtime, MalformedBytesToEachRoleAreRecordedAndTheRunGoesOn) {
  auto cfg = small_run("malformed");
  cfg.rounds = 2;
  cfg.kappa1 = 2;
  cfg.malformed_to = {"client", "edge", "coordinator", "cloud"};
  const auto r = run_quietly(cfg);
  ASSERT_EQ(r.metrics.size(), 2u);
  EXPECT_TRUE(r.summary.value("finished", false));
  const auto who = error_actors(r);
  for (const char* role : {"client 0", "edge 0", "coordinator", "cloud"})
    EXPECT_TRUE(who.count(role)) << role << " did not record the malformed message";
  for (const auto& e : r.errors)
    EXPECT_EQ(e.value("code", "").rfind("malformed_message/", 0), 0u) << e.dump();
  EXPECT_EQ(r.summary["cloud_received"].value("undecodable", 0), 1);
}

TEST(Runtime, TwoTasksTrainOneClusterEach) {
  auto cfg = small_run("two_tasks");
  cfg.tasks = {"spam", "supersense"};
  cfg.partition = "by_task";
  cfg.clients = 4;
  cfg.rounds = 2;
  cfg.kappa1 = 2;
  cfg.test_examples = 128;
  const auto r = run_quietly(cfg);
  ASSERT_EQ(r.metrics.size(), 2u);
  // Each edge sends one update per cluster (= task) to the cloud; each task is scored with its own head.
  EXPECT_EQ(r.summary["cloud_received"].value("adapter_update", 0), 4);
  for (const char* task : {"spam", "supersense"}) {
    EXPECT_EQ(r.summary["tasks"][task].value("test_examples", 0), 128) << task;
    EXPECT_TRUE(r.metrics[1]["accuracy"].contains(task)) << r.metrics[1].dump();
    EXPECT_TRUE(r.metrics[0]["train_loss_by_task"].contains(task)) << r.metrics[0].dump();
    EXPECT_TRUE(std::filesystem::exists(cfg.out_dir / "adapters" / task / "adapter_model.safetensors")) << task;
  }
}

// One cluster for several tasks (clustering = "none", the baselines' and elsa_no_clustering's setting): the
// clients register their tasks (1 here, with one cluster id) and every task gets its own head in the one set.
TEST(Runtime, TwoTasksShareOneClusterWithAHeadEach) {
  auto cfg = small_run("two_tasks_one_cluster");
  cfg.tasks = {"spam", "supersense"};
  cfg.partition = "by_task";
  cfg.clustering = "none";
  cfg.clients = 4;
  cfg.rounds = 2;
  cfg.kappa1 = 2;
  cfg.test_examples = 128;
  const auto r = run_quietly(cfg);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  ASSERT_EQ(r.metrics.size(), 2u);
  EXPECT_EQ(r.summary["cloud_received"].value("adapter_update", 0), 2) << "one cluster: one update per edge";
  for (const char* task : {"spam", "supersense"}) {
    EXPECT_EQ(r.summary["tasks"][task].value("test_examples", 0), 128) << task;
    EXPECT_TRUE(r.metrics[1]["accuracy"].contains(task)) << r.metrics[1].dump();
  }
}

TEST(Runtime, DeterministicRunsAreBitIdentical) {
  auto a_cfg = small_run("determinism_a");
  a_cfg.rounds = 2;
  a_cfg.kappa1 = 3;
  auto b_cfg = a_cfg;
  b_cfg.out_dir = std::filesystem::temp_directory_path() / "elsa_actors_test_determinism_b";
  std::filesystem::remove_all(b_cfg.out_dir);
  const auto a = run_quietly(a_cfg);
  const auto b = run_quietly(b_cfg);
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    auto x = a.metrics[i], y = b.metrics[i];
    x.erase("elapsed_s");
    y.erase("elapsed_s");
    EXPECT_EQ(x, y) << "round " << i;
  }
  const auto fa = file_bytes(a_cfg.out_dir / "adapters/spam/adapter_model.safetensors");
  EXPECT_FALSE(fa.empty());
  EXPECT_EQ(fa, file_bytes(b_cfg.out_dir / "adapters/spam/adapter_model.safetensors"));
}

} // namespace
} // namespace elsa::testing
