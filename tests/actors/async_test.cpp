// [topology] mode = "async" (FedBuff at each edge on the simulated clock) through whole runs, deterministic and
// threaded on the real clock. Each edge round ends with a flush of the buffer_size uploads that reach the edge
// first on the simulated clock; the others wait and their clients get no opening until theirs is taken; no
// upload is lost or taken twice, a taken one's lag is the rounds since it was trained, and the run does not
// wait for its slowest devices. The flush's arithmetic is unit-tested in tests/sim/clock_test.cpp and
// tests/fed/async_buffer_test.cpp.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/sim/clock.hpp"
#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

// Clients 0 and 1 (one per edge, round-robin placement) on a device 4x slower in compute and 10x in uplink
// than the other six; FedBuff with a buffer of 2 of each edge's 4 clients.
run::run_config async_run(const std::string& name) {
  auto cfg = small_run(name);
  cfg.rounds = 6;
  cfg.kappa1 = 3;
  cfg.kappa2 = 2;
  slow_and_fast_devices(cfg, 8, 32);
  cfg.topology_mode = "async";
  cfg.buffer_size = 2;
  return cfg;
}

std::set<int64_t> ids(const nlohmann::json& list) {
  std::set<int64_t> out;
  for (const auto& c : list)
    out.insert(c.get<int64_t>());
  return out;
}

std::set<int64_t> keys(const nlohmann::json& object) {
  std::set<int64_t> out;
  for (const auto& [k, v] : object.items())
    out.insert(std::stoll(k));
  return out;
}

// The flushes replayed from the record alone: per edge, each line's trained clients timed by the record's
// `upload_s` and `edge_s` (the same bits the client sends and the edge counts), with what waited before. Per
// line, the uploads taken (all edges), those left waiting, and the latest flush.
struct replay_line {
  std::set<int64_t> taken, waiting;
  double flush_s = 0;
};

std::vector<replay_line> replayed(const actors::run_result& r, const run::run_config& cfg) {
  std::vector<replay_line> out;
  std::map<int64_t, std::vector<sim::waiting_upload>> waiting;  // edge -> its waiting uploads
  std::map<int64_t, std::size_t> clients;                        // edge -> its clients (round-robin)
  for (int64_t c = 0; c < cfg.clients; ++c)
    clients[c % cfg.edges] += 1;
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    std::map<int64_t, std::map<uint32_t, sim::upload_time>> wave;
    for (const auto& [c, v] : r.metrics[i]["sim_clients"].items())
      wave[v["edge"].get<int64_t>()][static_cast<uint32_t>(std::stoul(c))] = {v["upload_s"].get<double>(),
                                                                              v["edge_s"].get<double>()};
    replay_line line;
    for (const auto& [edge, n] : clients) {
      const auto f = sim::fedbuff_flush(wave[edge], static_cast<uint32_t>(i), waiting[edge], cfg.async_buffer(n));
      for (const auto& t : f.taken)
        line.taken.insert(t.client);
      for (const auto& w : f.waiting)
        line.waiting.insert(w.client);
      line.flush_s = std::max(line.flush_s, f.seconds);
      waiting[edge] = f.waiting;
    }
    out.push_back(line);
  }
  return out;
}

// Per run (its out_dir): (round, edge) -> the digests of the edge's aggregates, from its edge_round events.
std::map<std::string, std::map<std::pair<int64_t, int64_t>, nlohmann::json>> edge_digests;

actors::run_result run_digesting(const run::run_config& cfg) {
  actors::run_hooks hooks;
  auto& mine = edge_digests[cfg.out_dir.string()];
  mine.clear();
  hooks.on_event = [&mine](const nlohmann::json& ev, const actors::directory&) {
    if (ev.value("type", "") == "edge_round")
      mine[{ev["round"].get<int64_t>(), ev["edge"].get<int64_t>()}] = ev["aggregate_digests"];
  };
  return run_quietly(cfg, hooks);
}

// What every async record must show, whatever the clock: each line aggregates two uploads per edge; whoever
// waits after a round trains in none until its upload is taken; each taken upload was trained `staleness`
// rounds before, by a client that trained then; every upload made is taken once or still waits at the end.
void expect_fedbuff(const actors::run_result& r, const run::run_config& cfg) {
  ASSERT_TRUE(r.summary.value("finished", false));
  ASSERT_EQ(r.metrics.size(), static_cast<std::size_t>(cfg.rounds));
  std::map<int64_t, int64_t> made, taken;  // client -> uploads
  std::set<int64_t> waiting;
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    const auto& l = r.metrics[i];
    const auto trained = keys(l["sim_clients"]);
    for (auto c : trained) {
      made[c] += 1;
      EXPECT_FALSE(waiting.count(c)) << "client " << c << " trained in round " << i << " while its upload waited";
    }
    EXPECT_EQ(l["aggregated"].size(), 4u) << l.dump();
    const auto aggregated = ids(l["aggregated"]);
    EXPECT_EQ(keys(l["staleness"]), aggregated) << l.dump();
    for (const auto& [c, lag] : l["staleness"].items()) {
      const auto from = static_cast<int64_t>(i) - lag.get<int64_t>();
      ASSERT_GE(from, 0);
      EXPECT_TRUE(r.metrics[static_cast<std::size_t>(from)]["sim_clients"].contains(c))
          << "client " << c << "'s upload taken in round " << i << " with lag " << lag << " was not trained then";
      taken[std::stoll(c)] += 1;
    }
    waiting = ids(l["waiting"]);
    for (auto c : aggregated)
      EXPECT_FALSE(waiting.count(c)) << "client " << c << " taken and waiting in round " << i;
  }
  for (const auto& [c, n] : made)
    EXPECT_EQ(n, taken[c] + (waiting.count(c) ? 1 : 0)) << "client " << c << "'s uploads: made " << n;
  // The edges decided what the record's simulated numbers say.
  const auto replay = replayed(r, cfg);
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    EXPECT_EQ(ids(r.metrics[i]["aggregated"]), replay[i].taken) << "round " << i;
    EXPECT_EQ(ids(r.metrics[i]["waiting"]), replay[i].waiting) << "round " << i;
    // The round is the latest flush plus the aggregate's way back (under 0.4 MB on a 50 Mbit/s link, plus its
    // latency) and, in a cloud round, the edge-cloud transfers (20 ms latency each way).
    const double round_s = r.metrics[i]["sim_round_s"].get<double>();
    EXPECT_GE(round_s, replay[i].flush_s) << "round " << i;
    EXPECT_LT(round_s, replay[i].flush_s + 0.5) << "round " << i;
  }
}

TEST(AsyncEdges, AnEdgeAggregatesTheEarliestUploadsAndDoesNotWaitForTheSlowDevices) {
  auto cfg = async_run("async_det");
  const auto r = run_quietly(cfg);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  expect_fedbuff(r, cfg);
  // Round 0: everyone trains; the slow clients' uploads come last and wait.
  const auto& first = r.metrics.at(0);
  EXPECT_EQ(keys(first["sim_clients"]).size(), 8u);
  for (auto c : {0, 1})
    EXPECT_TRUE(ids(first["waiting"]).count(c)) << first.dump();
  // The slow clients' uploads are taken later, lagging.
  int64_t slow_lagging = 0;
  for (const auto& l : r.metrics)
    for (const auto& [c, lag] : l["staleness"].items())
      slow_lagging += (c == "0" || c == "1") && lag.get<int64_t>() > 0 ? 1 : 0;
  EXPECT_GT(slow_lagging, 0) << "the slow clients' uploads should be aggregated, late";
  const double majority = r.summary["tasks"]["spam"].value("majority_accuracy", 1.0);
  EXPECT_GT(r.summary["tasks"]["spam"].value("test_accuracy", 0.0), majority) << r.summary.dump(2);

  // The same rounds synchronously wait for the slow clients every round: more simulated time.
  auto sync = cfg;
  sync.topology_mode = "sync";
  sync.out_dir = cfg.out_dir.string() + "_sync";
  const auto s = run_quietly(sync);
  ASSERT_TRUE(s.summary.value("finished", false));
  EXPECT_LT(r.summary["sim_time_s"].get<double>(), s.summary["sim_time_s"].get<double>());
  for (const auto& l : s.metrics)
    EXPECT_FALSE(l.contains("waiting"));

  // Reproducible: a second deterministic run makes the same decisions and the same numbers.
  cfg.out_dir = cfg.out_dir.string() + "_again";
  const auto again = run_quietly(cfg);
  ASSERT_EQ(again.metrics.size(), r.metrics.size());
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    EXPECT_EQ(again.metrics[i]["aggregated"], r.metrics[i]["aggregated"]);
    EXPECT_EQ(again.metrics[i]["staleness"], r.metrics[i]["staleness"]);
    EXPECT_EQ(again.metrics[i]["sim_time_s"], r.metrics[i]["sim_time_s"]);
    EXPECT_EQ(again.metrics[i]["train_loss"], r.metrics[i]["train_loss"]);
  }
}

// Threaded on the real clock, the flushes follow the simulated clock, not the order uploads reach the edge:
// the fast devices' uploads are held back 300 ms on the machine ([faults] stragglers, within the real-clock
// deadline), so the slow devices' reach their edges first, and still the same uploads are taken in the same
// rounds, to the same aggregates, as in the deterministic run.
TEST(AsyncEdges, AThreadedRunOnARealClockFlushesAsTheDeterministicOne) {
  const auto with_fast_held_back = [](const std::string& name) {
    auto cfg = async_run(name);
    cfg.stragglers = {2, 3, 4, 5, 6, 7};
    cfg.straggler_delay_ms = 300;
    return cfg;
  };
  auto det_cfg = with_fast_held_back("async_threaded_det");
  const auto det = run_digesting(det_cfg);
  auto cfg = with_fast_held_back("async_threaded");
  cfg.deterministic = false;
  cfg.threads = 2;
  const auto r = run_digesting(cfg);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  expect_fedbuff(r, cfg);
  ASSERT_EQ(r.metrics.size(), det.metrics.size());
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    EXPECT_EQ(ids(r.metrics[i]["aggregated"]), ids(det.metrics[i]["aggregated"])) << "round " << i;
    EXPECT_EQ(r.metrics[i]["staleness"], det.metrics[i]["staleness"]) << "round " << i;
    EXPECT_EQ(ids(r.metrics[i]["waiting"]), ids(det.metrics[i]["waiting"])) << "round " << i;
    EXPECT_TRUE(r.metrics[i]["stragglers"].empty()) << "nobody missed the real-clock deadline";
  }
  EXPECT_EQ(edge_digests.at(cfg.out_dir.string()), edge_digests.at(det_cfg.out_dir.string()))
      << "the same uploads, rebased and weighted the same";
}

// A client that goes silent mid-round makes its edge close at the real-clock deadline on quorum: the flush
// still takes what arrived and what waited (nothing it takes is lost to a quorum recheck), and every other
// client's uploads are each taken once or still wait at the end.
TEST(AsyncEdges, ADeadlineCloseOnQuorumStillFlushesWhatWaits) {
  auto cfg = async_run("async_silent");
  // Round 4 at edge 0: clients 0 (slow) and 6 (fast) train while the fast 2 and 4 wait, 6 goes silent, and
  // the deadline's flush takes 2 and 4, none of the round's own uploads (the async_det run's schedule).
  cfg.silent_dropouts = {6};
  cfg.dropout_round = 4;
  cfg.dropout_step = 1;
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false));
  ASSERT_EQ(r.metrics.size(), static_cast<std::size_t>(cfg.rounds));
  const auto& round4 = r.metrics[4];
  EXPECT_EQ(round4["close_reasons"].value("quorum", 0), 1) << round4.dump();
  EXPECT_TRUE(ids(round4["aggregated"]).count(2) && ids(round4["aggregated"]).count(4)) << round4.dump();
  std::map<int64_t, int64_t> made, taken;
  for (const auto& l : r.metrics) {
    EXPECT_EQ(l["aggregated"].size(), 4u) << "two uploads per edge, every round: " << l.dump();
    for (auto c : keys(l["sim_clients"]))
      made[c] += 1;
    for (const auto& [c, lag] : l["staleness"].items())
      taken[std::stoll(c)] += 1;
  }
  const auto waiting = ids(r.metrics.back()["waiting"]);
  for (const auto& [c, n] : made)
    if (c != 6)
      EXPECT_EQ(n, taken[c] + (waiting.count(c) ? 1 : 0)) << "client " << c;
}

TEST(AsyncEdges, WhatAsyncDoesNotCombineWithIsRefusedInOneLine) {
  const auto refused = [](run::run_config cfg, const char* key, const char* also = "async") {
    try {
      run_quietly(cfg);
      ADD_FAILURE() << "started with " << key;
    } catch (const elsa::error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(also), std::string::npos) << e.what();
    }
  };
  auto cfg = async_run("async_refused");
  cfg.deadline_s = 10;
  cfg.enforce_deadline = true;
  refused(cfg, "enforce_deadline");
  cfg = async_run("async_refused");
  cfg.adapters = "sketch";
  refused(cfg, "adapters");
  cfg = async_run("async_refused");
  cfg.clients_per_round = 4;
  refused(cfg, "mode");
  cfg = async_run("async_refused");
  cfg.straggler_policy_name = "staleness";
  refused(cfg, "straggler_policy");
  cfg = async_run("async_refused");
  cfg.buffer_size = 9;
  refused(cfg, "buffer_size", "exceeds clients = 8");
}

} // namespace
} // namespace elsa::testing
