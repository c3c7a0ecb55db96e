// The run record: events from the actors become one metrics line per round, in order, with a cloud round's
// line waiting for its evaluation; totals in the summary; unknown events are errors.
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "core/run/events.hpp"
#include "core/run/run_record.hpp"

namespace elsa::run {
namespace {

using nlohmann::json;

run_config two_rounds() {
  run_config cfg;
  cfg.rounds = 2;
  cfg.kappa2 = 2;
  return cfg;
}

TEST(RunRecord, OneLinePerRoundInOrder) {
  run_record rec(two_rounds(), {"spam"}, {0.7});
  EXPECT_TRUE(rec.add({{"type", "client_round"}, {"round", 0}, {"client", 0}, {"task", "spam"}, {"steps", 3}, {"loss", 0.5},
                       {"tokens", 100}, {"bytes_up", 1000}}, 1.0).empty());
  EXPECT_TRUE(rec.add({{"type", "client_round"}, {"round", 0}, {"client", 1}, {"task", "party"}, {"steps", 3}, {"loss", 0.7},
                       {"tokens", 50}, {"bytes_up", 10}}, 1.0).empty());
  EXPECT_TRUE(rec.add({{"type", "edge_round"}, {"round", 0}, {"edge", 0}, {"reason", "quorum"}, {"reported", 2},
                       {"expected", 3}, {"late", {4}}, {"missing", {4}}, {"down", json::array()},
                       {"bytes_down", 7}, {"bytes_cloud", 0}}, 1.0).empty());
  // Round 1 events may come before round 0 closes; they wait.
  EXPECT_TRUE(rec.add({{"type", "round_closed"}, {"round", 1}, {"cloud_round", true}, {"edges", 1}}, 1.5).empty());
  const auto lines = rec.add({{"type", "round_closed"}, {"round", 0}, {"cloud_round", false}, {"edges", 1},
                              {"bytes_control", 5}}, 2.0);
  ASSERT_EQ(lines.size(), 1u);
  const auto& l = lines[0];
  EXPECT_EQ(l["round"], 0);
  EXPECT_DOUBLE_EQ(l["train_loss"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(l["train_loss_by_task"]["spam"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(l["train_loss_by_task"]["party"].get<double>(), 0.7);
  EXPECT_EQ(l["steps"], 6);
  EXPECT_EQ(l["tokens"], 150);
  EXPECT_EQ(l["stragglers"], json::array({4}));
  EXPECT_EQ(l["close_reasons"]["quorum"], 1);
  EXPECT_EQ(l["bytes"]["client_to_edge"], 1010);
  EXPECT_EQ(l["bytes"]["edge_to_client"], 7);
  EXPECT_EQ(l["bytes"]["control"], 5);
  EXPECT_TRUE(l["accuracy"].is_null());
  EXPECT_DOUBLE_EQ(l["elapsed_s"].get<double>(), 2.0);
  // Round 1 is a cloud round: its line waits for the evaluation.
  const auto cloud = rec.add({{"type", "cloud_round"}, {"round", 1}, {"edges_reported", 1}, {"bytes_down", 9},
                              {"accuracy", {{"spam", 0.9}}}, {"loss", {{"spam", 0.3}}}}, 3.0);
  ASSERT_EQ(cloud.size(), 1u);
  EXPECT_DOUBLE_EQ(cloud[0]["accuracy"]["spam"].get<double>(), 0.9);
  EXPECT_EQ(cloud[0]["bytes"]["cloud_to_edge"], 9);
  EXPECT_NE(rec.progress_line(cloud[0]).find("spam acc 0.900"), std::string::npos) << rec.progress_line(cloud[0]);
  EXPECT_FALSE(rec.finished());
  rec.add({{"type", "final"}, {"test", {{"spam", {{"accuracy", 0.91}, {"macro_f1", 0.88}, {"loss", 0.2}, {"count", 10}}}}},
           {"cloud_received", {{"adapter_update", 2}}}}, 3.5);
  EXPECT_TRUE(rec.finished());
  const auto s = rec.summary(4.0);
  EXPECT_EQ(s["rounds_recorded"], 2);
  EXPECT_DOUBLE_EQ(s["tasks"]["spam"]["test_accuracy"].get<double>(), 0.91);
  EXPECT_DOUBLE_EQ(s["tasks"]["spam"]["majority_accuracy"].get<double>(), 0.7);
  EXPECT_EQ(s["bytes"]["client_to_edge"], 1010);
  EXPECT_EQ(s["late_updates"], 1);
  EXPECT_EQ(s["cloud_received"]["adapter_update"], 2);
  EXPECT_NE(rec.summary_table(4.0).find("| spam | 0.9100 |"), std::string::npos) << rec.summary_table(4.0);
}

// The cloud scores a round beside the next one: its cloud_round event says `validating` and the scores come in a
// validation event, before or after it. The line waits for both; its elapsed_s is when the round's training was
// over, not when the scores came; a later round's line follows it out.
TEST(RunRecord, ACloudRoundsLineWaitsForItsValidationAndKeepsItsOwnTime) {
  run_config cfg;
  cfg.rounds = 4;
  cfg.kappa2 = 2;
  run_record rec(cfg, {"spam"}, {0.7});
  const auto closed = [](int r, bool cloud) {
    return json{{"type", "round_closed"}, {"round", r}, {"cloud_round", cloud}, {"edges", 1}};
  };
  EXPECT_EQ(rec.add(closed(0, false), 1.0).size(), 1u);
  EXPECT_TRUE(rec.add(closed(1, true), 2.0).empty());
  EXPECT_TRUE(rec.add({{"type", "cloud_round"}, {"round", 1}, {"validating", true}, {"bytes_down", 9}}, 3.0).empty());
  EXPECT_TRUE(rec.add(closed(2, false), 4.0).empty());  // waits behind round 1's scores
  auto lines = rec.add({{"type", "validation"}, {"round", 1}, {"accuracy", {{"spam", 0.8}}}, {"loss", {{"spam", 0.4}}},
                        {"eval_seconds", 0.7}}, 5.0);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["round"], 1);
  EXPECT_DOUBLE_EQ(lines[0]["accuracy"]["spam"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(lines[0]["eval_loss"]["spam"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(lines[0]["eval_s"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(lines[0]["elapsed_s"].get<double>(), 3.0);  // aggregated at 3 s, scored by 5 s
  EXPECT_EQ(lines[0]["bytes"]["cloud_to_edge"], 9);
  EXPECT_DOUBLE_EQ(lines[1]["elapsed_s"].get<double>(), 4.0);
  // Scores before the cloud_round event (it waited for a re-clustering): kept until it comes.
  EXPECT_TRUE(rec.add({{"type", "validation"}, {"round", 3}, {"accuracy", {{"spam", 0.9}}}}, 6.0).empty());
  EXPECT_TRUE(rec.add(closed(3, true), 7.0).empty());
  lines = rec.add({{"type", "cloud_round"}, {"round", 3}, {"validating", true}}, 8.0);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_DOUBLE_EQ(lines[0]["accuracy"]["spam"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(lines[0]["elapsed_s"].get<double>(), 8.0);
  // Scores for a round already written change nothing.
  EXPECT_TRUE(rec.add({{"type", "validation"}, {"round", 1}, {"accuracy", {{"spam", 0.1}}}}, 9.0).empty());
  EXPECT_DOUBLE_EQ(rec.lines()[1]["accuracy"]["spam"].get<double>(), 0.8);
}

// A run that ends while a round's scores are missing still writes its line (empty accuracy).
TEST(RunRecord, TheEndWritesARoundWhoseScoresNeverCame) {
  run_record rec(two_rounds(), {"spam"}, {0.7});
  rec.add({{"type", "round_closed"}, {"round", 0}, {"cloud_round", false}, {"edges", 1}}, 1.0);
  rec.add({{"type", "round_closed"}, {"round", 1}, {"cloud_round", true}, {"edges", 1}}, 2.0);
  EXPECT_TRUE(rec.add({{"type", "cloud_round"}, {"round", 1}, {"validating", true}}, 3.0).empty());
  const auto lines = rec.add({{"type", "final"}, {"test", json::object()}}, 4.0);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0]["accuracy"].empty());
  EXPECT_DOUBLE_EQ(lines[0]["elapsed_s"].get<double>(), 3.0);
  EXPECT_TRUE(rec.finished());
}

// Bytes by kind: the typed events' counts reach the lines and the summary per tier and kind, with the
// dense-equivalent sizes giving each tier's compression ratio.
TEST(RunRecord, BytesByKindAndCompression) {
  run_record rec(two_rounds(), {"spam"}, {0.7});
  client_round_event c;
  c.round = 0;
  c.up.add(byte_kind::activations, 100, 190);  // fp16: about half
  c.up.add(byte_kind::gradients, 50, 50);
  c.up.add(byte_kind::adapters, 40, 200);      // a sketch
  c.bytes_up = c.up.total();
  rec.add(c.to_json(), 1.0);
  edge_round_event e;
  e.round = 0;
  e.to_clients.add(byte_kind::activations, 30, 30);
  e.to_clients.add(byte_kind::control, 5, 5);
  e.bytes_down = e.to_clients.total();
  rec.add(e.to_json(), 1.0);
  const auto lines = rec.add({{"type", "round_closed"}, {"round", 0}, {"cloud_round", false}}, 1.0);
  ASSERT_EQ(lines.size(), 1u);
  const auto& l = lines[0];
  EXPECT_EQ(l["bytes"]["client_to_edge"], 190);
  EXPECT_EQ(l["bytes_by_kind"]["client_to_edge"]["activations"], 100);
  EXPECT_EQ(l["bytes_by_kind"]["client_to_edge"]["adapters"], 40);
  EXPECT_EQ(l["bytes_by_kind"]["edge_to_client"]["control"], 5);
  EXPECT_DOUBLE_EQ(l["compression"]["client_to_edge"].get<double>(), 440.0 / 190.0);
  EXPECT_DOUBLE_EQ(l["compression"]["edge_to_client"].get<double>(), 1.0);
  cloud_round_event k;
  k.round = 1;
  k.down.add(byte_kind::adapters, 10, 80);
  k.bytes_down = k.down.total();
  rec.add({{"type", "round_closed"}, {"round", 1}, {"cloud_round", true}}, 2.0);
  rec.add(validation_event{1, {}, {}, 0.0}.to_json(), 2.0);  // the cloud's event says its scores come apart
  ASSERT_EQ(rec.add(k.to_json(), 2.0).size(), 1u);
  const auto s = rec.summary(2.0);
  EXPECT_EQ(s["bytes_by_kind"]["client_to_edge"]["gradients"], 50);
  EXPECT_EQ(s["bytes_by_kind"]["cloud_to_edge"]["adapters"], 10);
  EXPECT_EQ(s["bytes_by_kind"]["edge_to_cloud"]["adapters"], 0);  // every tier and kind is present
  EXPECT_EQ(s["dense_bytes_by_kind"]["client_to_edge"]["adapters"], 200);
  EXPECT_DOUBLE_EQ(s["compression"]["cloud_to_edge"].get<double>(), 8.0);
  // The kinds add up to the tier totals.
  int64_t sum = 0;
  for (const auto& [kind, n] : s["bytes_by_kind"]["client_to_edge"].items())
    sum += n.get<int64_t>();
  EXPECT_EQ(sum, s["bytes"]["client_to_edge"].get<int64_t>());
}

TEST(RunRecord, ErrorsAreKeptAndCounted) {
  run_record rec(two_rounds(), {"spam"}, {0.7});
  rec.add({{"type", "error"}, {"round", 0}, {"actor", "edge 1"}, {"code", "malformed_message/byte_length"},
           {"text", "x"}}, 0.1);
  ASSERT_EQ(rec.errors().size(), 1u);
  EXPECT_EQ(rec.errors()[0]["actor"], "edge 1");
  const auto lines = rec.add({{"type", "round_closed"}, {"round", 0}, {"cloud_round", false}}, 0.2);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["errors"], 1);
  EXPECT_THROW(rec.add({{"type", "nonsense"}}, 0.3), elsa::error);
}

TEST(RunRecord, LinesAfterAClusteringCarryItsClustersAndTheirAriAgainstTheTasks) {
  run_config cfg;
  cfg.rounds = 2;
  cfg.kappa2 = 1;
  run_record rec(cfg, {"spam", "genre"}, {0.7, 0.3});
  rec.set_truth({"spam", "spam", "genre", "genre"}, {0, 1, 0, 1}, {3});
  auto close = [&](int round) {
    return rec.add({{"type", "round_closed"}, {"round", round}, {"cloud_round", true}, {"edges", 1}}, 1.0).size()
           + rec.add({{"type", "cloud_round"}, {"round", round}}, 1.0).size();
  };
  EXPECT_EQ(close(0), 1u);
  EXPECT_FALSE(rec.lines()[0].contains("clusters")) << "no clustering yet";
  // Clusters {0, 1} and {2, 3}: the tasks exactly, under other ids.
  rec.add({{"type", "clustering"}, {"round", 1}, {"clusters", {{"0", 4}, {"1", 4}, {"2", 1}, {"3", 1}}},
           {"trust", {{"3", 0.2}}}},
          1.0);
  EXPECT_EQ(close(1), 1u);
  const auto& l = rec.lines()[1];
  EXPECT_EQ(l["clusters"]["2"], 1);
  EXPECT_DOUBLE_EQ(l["ari"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(l["trust"]["3"].get<double>(), 0.2);
  const auto s = rec.summary(1.0);
  EXPECT_EQ(s["client_task"]["2"], "genre");
  EXPECT_EQ(s["byzantine"], json::array({3}));
  EXPECT_DOUBLE_EQ(s["ari"].get<double>(), 1.0);
}

TEST(RunRecord, OneTasksClusteringIsScoredAgainstTheLabelGroups) {
  run_config cfg;
  cfg.rounds = 1;
  cfg.kappa2 = 1;
  run_record rec(cfg, {"spam"}, {0.7});
  rec.set_truth({"spam", "spam", "spam", "spam"}, {0, 1, 0, 1}, {});
  // Clusters {0, 1} and {2, 3} cut across the label groups {0, 2} and {1, 3}.
  rec.add({{"type", "clustering"}, {"round", 0}, {"clusters", {{"0", 0}, {"1", 0}, {"2", 1}, {"3", 1}}}}, 1.0);
  rec.add({{"type", "round_closed"}, {"round", 0}, {"cloud_round", true}, {"edges", 1}}, 1.0);
  rec.add({{"type", "cloud_round"}, {"round", 0}}, 1.0);
  ASSERT_EQ(rec.lines().size(), 1u);
  EXPECT_LT(rec.lines()[0]["ari"].get<double>(), 0.0);
}

TEST(RunRecord, LinesFromAPlacementOnCarryItsAssignmentAndLatency) {
  run_config cfg;
  cfg.rounds = 3;
  cfg.kappa2 = 1;
  run_record rec(cfg, {"spam"}, {0.7});
  auto close = [&](int round) {
    rec.add({{"type", "round_closed"}, {"round", round}, {"cloud_round", true}, {"edges", 2}}, 1.0);
    rec.add({{"type", "cloud_round"}, {"round", round}}, 1.0);
  };
  placement_event first;
  first.round = 0;
  first.policy = "latency";
  first.reason = "measured";
  first.assignment = {{0, 1}, {1, 0}};
  first.rtt_ms = {{0, {40.0, 10.0}}, {1, {5.0, NAN}}};
  first.latency_total_ms = 15;
  first.latency_max_ms = 10;
  const auto written = first.to_json();
  EXPECT_TRUE(written["rtt_ms"]["1"][1].is_null()) << "an unmeasured link is null, not NaN";
  rec.add(written, 1.0);
  close(0);
  close(1);  // no new placement: the last one still holds
  placement_event later = first;
  later.round = 2;
  later.reason = "stragglers";
  later.assignment = {{0, 1}, {1, 1}};
  later.moved = {1};
  later.latency_total_ms = 22;
  later.latency_max_ms = 12;
  rec.add(later.to_json(), 1.0);
  close(2);
  ASSERT_EQ(rec.lines().size(), 3u);
  EXPECT_EQ(rec.lines()[0]["assignment"]["0"], 1);
  EXPECT_DOUBLE_EQ(rec.lines()[1]["latency_total_ms"].get<double>(), 15);
  EXPECT_EQ(rec.lines()[2]["assignment"]["1"], 1);
  EXPECT_DOUBLE_EQ(rec.lines()[2]["latency_max_ms"].get<double>(), 12);
  EXPECT_DOUBLE_EQ(rec.summary(1.0)["latency_total_ms"].get<double>(), 22);
  const auto table = rec.summary_table(1.0);
  EXPECT_NE(table.find("placement latency: client-edge RTT total 22.0 ms, max 12.0 ms"), std::string::npos) << table;
}


// The simulated clock: with the model's shape set, a line carries the round's simulated seconds as
// sim::edge_round computes them from the clients' events (their devices from [profiles], the edge's adapter
// bytes shared among its clients), accumulated into sim_time_s; a cloud round adds the edge-cloud transfer; the
// summary has the time to the target accuracy.
TEST(RunRecord, SimulatedClockFollowsTheEventsAndTheProfiles) {
  auto cfg = two_rounds();
  cfg.clients = 2;
  cfg.class_names = {"slow", "fast"};
  cfg.class_gflops = {1, 4};
  cfg.class_memory_mb = {100, 100};
  cfg.class_up_mbps = {8, 80};
  cfg.class_down_mbps = {16, 160};
  cfg.class_latency_ms = {10, 1};
  cfg.client_classes = {"slow", "fast"};
  cfg.edge_gflops = {50};
  cfg.target_accuracy = 0.8;
  const sim::model_shape shape = sim::shape_of(model::gpt2_config{}, run_config::default_lora(), 2);
  run_record rec(cfg, {"spam"}, {0.7});
  rec.set_model(shape);
  std::vector<sim::client_usage> expect;
  for (uint32_t c = 0; c < 2; ++c) {
    client_round_event e;
    e.round = 0;
    e.client = c;
    e.steps = 5;
    e.head_blocks = 1;
    e.tail_blocks = 1 + c;
    e.positions = 5 * 8 * 40;
    e.bytes_up = 1'000'000;
    e.bytes_down = 2'000'000;
    e.messages = 22;
    rec.add(e.to_json(), 1.0);
    sim::client_usage u;
    u.client = c;
    u.at = {1, 1 + c};
    u.steps = 5;
    u.positions = 5 * 8 * 40;
    u.batch = cfg.batch_size;
    u.bytes_up = 1'000'000;
    u.bytes_down = 2'000'000 + 500;  // its half of the edge's 1,000 adapter bytes
    u.messages = 23;
    u.device = cfg.client_device(c, 0);
    expect.push_back(u);
  }
  rec.add({{"type", "edge_round"}, {"round", 0}, {"edge", 0}, {"reason", "complete"}, {"reported", 2}, {"expected", 2},
           {"bytes_down", 1000}, {"bytes_down_by_kind", {{"adapters", 1000}}}, {"bytes_cloud", 0}}, 1.0);
  auto lines = rec.add({{"type", "round_closed"}, {"round", 0}, {"cloud_round", false}, {"edges", 1}}, 1.0);
  ASSERT_EQ(lines.size(), 1u);
  const auto t = sim::edge_round(shape, expect, 50e9, 0);
  ASSERT_GT(t.seconds, 0);
  EXPECT_DOUBLE_EQ(lines[0]["sim_round_s"].get<double>(), t.seconds);
  EXPECT_DOUBLE_EQ(lines[0]["sim_time_s"].get<double>(), t.seconds);
  const auto& slow = lines[0]["sim_clients"]["0"];
  EXPECT_EQ(slow["class"], "slow");
  EXPECT_EQ(slow["split"], json::array({1, 1}));
  EXPECT_EQ(lines[0]["sim_clients"]["1"]["split"], json::array({1, 2}));
  EXPECT_DOUBLE_EQ(slow["round_s"].get<double>(), t.clients.at(0).compute_s + t.clients.at(0).comm_s);
  EXPECT_TRUE(slow["memory_ok"].is_boolean());
  // The slow client's link: its bytes over 1 MB/s up and 2 MB/s down, 23 latencies of 10 ms.
  EXPECT_NEAR(slow["comm_s"].get<double>(), 1.0 + 2'000'500 / 2e6 + 0.23, 1e-9);
  // A cloud round: the edge's upload and the broadcast over the edge-cloud link, after the edge round.
  rec.add({{"type", "edge_round"}, {"round", 1}, {"edge", 0}, {"reason", "complete"}, {"bytes_cloud", 125'000'000}}, 2.0);
  rec.add({{"type", "round_closed"}, {"round", 1}, {"cloud_round", true}, {"edges", 1}}, 2.0);
  lines = rec.add({{"type", "cloud_round"}, {"round", 1}, {"bytes_down", 125'000'000}, {"accuracy", {{"spam", 0.85}}}}, 3.0);
  ASSERT_EQ(lines.size(), 1u);
  // 250 MB at 1000 Mbit/s (125 MB/s) is 2 s, plus 2 x 20 ms.
  EXPECT_NEAR(lines[0]["sim_round_s"].get<double>(), 2.04, 1e-9);
  EXPECT_NEAR(lines[0]["sim_time_s"].get<double>(), t.seconds + 2.04, 1e-9);
  const auto s = rec.summary(3.0);
  EXPECT_NEAR(s["sim_time_to_target_s"].get<double>(), t.seconds + 2.04, 1e-9);
  EXPECT_EQ(s["round_to_target"], 1);
  EXPECT_DOUBLE_EQ(s["target_accuracy"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(s["client_flops"]["0"].get<double>(), t.clients.at(0).flops);
  EXPECT_EQ(s["client_peak_memory_bytes"]["1"], t.clients.at(1).memory_bytes);
  // Never reached: null.
  run_record never(cfg, {"spam"}, {0.7});
  never.set_model(shape);
  EXPECT_TRUE(never.summary(0)["sim_time_to_target_s"].is_null());
}


// The time to the target: the first cloud round whose validation accuracy reaches it on every task, at the
// simulated time of that line (here each cloud round costs its edge-cloud transfer: 250 MB at 125 MB/s plus
// two latencies of 20 ms).
TEST(RunRecord, TimeToTargetIsTheFirstCloudRoundAtTargetOnEveryTask) {
  run_config cfg;
  cfg.rounds = 4;
  cfg.kappa2 = 1;
  cfg.target_accuracy = 0.8;
  run_record rec(cfg, {"spam", "party"}, {0.7, 0.5});
  rec.set_model(sim::shape_of(model::gpt2_config{}, run_config::default_lora(), 2));
  const std::vector<json> accuracy = {{{"spam", 0.9}, {"party", 0.7}},   // party below
                                      {{"spam", 0.85}, {"party", 0.81}}, // both: the target
                                      {{"spam", 0.95}, {"party", 0.9}},
                                      {{"spam", 0.5}, {"party", 0.5}}};
  for (int r = 0; r < 4; ++r) {
    rec.add({{"type", "edge_round"}, {"round", r}, {"edge", 0}, {"reason", "complete"}, {"bytes_cloud", 125'000'000}}, 1.0);
    rec.add({{"type", "round_closed"}, {"round", r}, {"cloud_round", true}, {"edges", 1}}, 1.0);
    const auto lines = rec.add({{"type", "cloud_round"}, {"round", r}, {"bytes_down", 125'000'000},
                                {"accuracy", accuracy[r]}}, 1.0);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NEAR(lines[0]["sim_time_s"].get<double>(), 2.04 * (r + 1), 1e-9);
    const auto s = rec.summary(1.0);
    if (r == 0) {
      EXPECT_TRUE(s["sim_time_to_target_s"].is_null()) << "one task below the target is not the target";
      EXPECT_TRUE(s["round_to_target"].is_null());
    } else {
      EXPECT_NEAR(s["sim_time_to_target_s"].get<double>(), 2 * 2.04, 1e-9);
      EXPECT_EQ(s["round_to_target"], 1);
    }
  }
  cfg.target_accuracy = 0.0;  // no target: null
  run_record none(cfg, {"spam"}, {0.7});
  none.set_model(sim::shape_of(model::gpt2_config{}, run_config::default_lora(), 2));
  EXPECT_TRUE(none.summary(0)["target_accuracy"].is_null());
}

// A straggler's report of the previous round lands in the oldest open round (at()); the clock adds its work
// to the same client's report of this round rather than counting the client twice.
TEST(RunRecord, TwoReportsOfOneClientInALineAddUp) {
  auto cfg = two_rounds();
  cfg.clients = 1;
  const auto shape = sim::shape_of(model::gpt2_config{}, run_config::default_lora(), 2);
  run_record rec(cfg, {"spam"}, {0.7});
  rec.set_model(shape);
  client_round_event e;
  e.client = 0;
  e.steps = 4;
  e.head_blocks = e.tail_blocks = 1;
  e.positions = 4 * 8 * 32;
  e.bytes_up = 1000;
  e.messages = 10;
  rec.add(e.to_json(), 1.0);
  rec.add(e.to_json(), 1.0);
  rec.add({{"type", "edge_round"}, {"round", 0}, {"edge", 0}, {"reason", "complete"}}, 1.0);
  const auto lines = rec.add({{"type", "round_closed"}, {"round", 0}, {"cloud_round", false}, {"edges", 1}}, 1.0);
  ASSERT_EQ(lines.size(), 1u);
  const auto& c = lines[0]["sim_clients"]["0"];
  EXPECT_EQ(c["steps"], 8);
  const auto per_step = sim::training_step_flops(shape, {cfg.batch_size, 32}, {1, 1});
  EXPECT_DOUBLE_EQ(c["flops"].get<double>(), 8 * per_step.client);
  EXPECT_DOUBLE_EQ(rec.summary(1.0)["client_flops"]["0"].get<double>(), 8 * per_step.client);
}

} // namespace
} // namespace elsa::run
