// Network faults from [faults] (issue 16 item 3) on a whole run, on the deterministic scheduler and threaded
// on the real clock: messages are lost, held back, duplicated, damaged and an edge is partitioned for a
// round, yet the run finishes with one metrics line per round; every injected fault is a net_fault event,
// counted the same in the lines and the summary; with reliable delivery damaged messages fail their checksum,
// lost ones are sent again and copies are ignored; at 20% loss no client round is lost (without it most are);
// and the deterministic run repeats itself fault for fault.
#include <map>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

struct observed {
  std::mutex m;
  std::vector<nlohmann::json> faults;
  std::vector<nlohmann::json> resent, duplicates, undelivered;
};

run::run_config faulty(const std::string& name, bool deterministic) {
  auto cfg = small_run(name);
  cfg.deterministic = deterministic;
  cfg.kappa1 = 3;
  cfg.net_drop = 0.03;
  cfg.net_delay = 0.1;
  cfg.net_delay_ms = 50;
  cfg.net_duplicate = 0.05;
  cfg.net_corrupt = 0.05;
  cfg.partition_edges = {1};
  cfg.partition_round = 2;
  cfg.partition_rounds = 1;
  cfg.round_deadline_ms = deterministic ? 10000 : 4000;
  cfg.step_deadline_ms = 3000;  // shorter than the round: a lost step request times out within its round
  return cfg;
}

// Sends the network lost or damaged (so never acknowledged) among messages other than step requests,
// acknowledgements included: on the deterministic scheduler (timers fire only when every actor is idle, so an
// acknowledgement is never merely late) each resend of such a message answers one of these. Were
// acknowledgements not taken, every message would be resent.
int64_t unacknowledged_sends(const observed& seen) {
  int64_t n = 0;
  for (const auto& ev : seen.faults) {
    if (ev["message"] == "split_tensor")
      continue;
    const auto f = ev["faults"].dump();
    n += f.find("drop") != std::string::npos || f.find("partition") != std::string::npos
         || f.find("flip") != std::string::npos || f.find("truncate") != std::string::npos;
  }
  return n;
}

actors::run_result run_observed(const run::run_config& cfg, observed& seen) {
  actors::run_hooks hooks;
  hooks.on_event = [&seen](const nlohmann::json& ev, const actors::directory&) {
    const auto type = ev.value("type", "");
    std::lock_guard<std::mutex> lock(seen.m);
    if (type == "net_fault")
      seen.faults.push_back(ev);
    else if (type == "resent")
      seen.resent.push_back(ev);
    else if (type == "duplicate")
      seen.duplicates.push_back(ev);
    else if (type == "undelivered")
      seen.undelivered.push_back(ev);
  };
  return run_quietly(cfg, hooks);
}

TEST(NetFaultsRun, ARunThroughABadNetworkFinishesAndRecordsEveryFault) {
  for (bool deterministic : {true, false}) {
    SCOPED_TRACE(deterministic ? "deterministic" : "threaded");
    const auto cfg = faulty(deterministic ? "net_faults_det" : "net_faults_threaded", deterministic);
    observed seen;
    const auto r = run_observed(cfg, seen);
    ASSERT_EQ(r.metrics.size(), static_cast<std::size_t>(cfg.rounds)) << r.summary.dump(2);
    for (std::size_t k = 0; k < r.metrics.size(); ++k)
      EXPECT_EQ(r.metrics[k]["round"], static_cast<int64_t>(k));
    EXPECT_EQ(r.summary["finished"], true);
    ASSERT_FALSE(seen.faults.empty());
    // Every fault event, counted by kind, is what the lines and the summary count.
    std::map<std::string, int64_t> by_kind;
    int64_t partitioned = 0, damaged = 0, duplicated = 0, steps_lost = 0, steps_damaged = 0, steps_hit = 0;
    for (const auto& ev : seen.faults) {
      const bool hurt = ev["faults"].dump().find("flip") != std::string::npos
                        || ev["faults"].dump().find("truncate") != std::string::npos;
      if (ev["message"] == "split_tensor") {
        ++steps_hit;
        steps_lost += ev["faults"][0] == "drop" || ev["faults"][0] == "partition";
        steps_damaged += hurt;
        // A step request can be lost or damaged, not held back or duplicated (CAF's request cannot be).
        EXPECT_EQ(ev["faults"].dump().find("delay"), std::string::npos) << ev.dump();
        EXPECT_EQ(ev["faults"].dump().find("duplicate"), std::string::npos) << ev.dump();
      }
      for (const auto& f : ev["faults"])
        by_kind[f.get<std::string>()] += 1;
      const bool cut = ev["faults"][0] == "partition";
      partitioned += cut;
      // A damaged acknowledgement is only lost (it carries no bytes of the protocol).
      damaged += hurt && ev["message"] != "ack";
      duplicated += ev["message"] != "ack" && ev["message"] != "split_tensor"
                    && ev["faults"].dump().find("duplicate") != std::string::npos;
      if (cut) {
        EXPECT_EQ(ev["round"], 2) << ev.dump();
        EXPECT_TRUE(ev["from"] == "edge 1" || ev["to"] == "edge 1") << ev.dump();
      }
      EXPECT_GT(ev["bytes"].get<int64_t>(), 0);
    }
    std::map<std::string, int64_t> in_lines;
    for (const auto& line : r.metrics)
      if (line.contains("net_faults"))
        for (const auto& [k, v] : line["net_faults"].items())
          in_lines[k] += v.get<int64_t>();
    EXPECT_EQ(in_lines, by_kind);
    using counts = std::map<std::string, int64_t>;
    EXPECT_EQ(r.summary["net_faults"].get<counts>(), by_kind);
    EXPECT_GT(partitioned, 0) << "edge 1 was cut off in round 2";
    EXPECT_GT(by_kind["drop"] + by_kind["delay"] + by_kind["duplicate"], 0);
    // Reliable delivery (on: faults with retry_ms > 0): damaged bytes fail their checksum at the receiver,
    // which refuses them (malformed_message, checksum) and does not acknowledge them.
    int64_t checksum_refused = 0, timed_out = 0;
    for (const auto& e : r.errors) {
      checksum_refused += e.value("code", "") == "malformed_message/checksum";
      timed_out += e.value("text", "").find("(lost on the network)") != std::string::npos;
    }
    EXPECT_GT(steps_hit, 0) << "split-step requests cross the faulty link too";
    if (damaged > 0) {
      EXPECT_GT(checksum_refused, 0) << damaged << " damaged messages, none refused";
    }
    EXPECT_LE(checksum_refused, damaged);
    // A lost or damaged step request is sent again (each resend a `resent` event) until step_deadline_ms,
    // then times out; so step resends and time-outs come only from step requests the network hit.
    int64_t step_resends = 0, other_resends = 0;
    for (const auto& ev : seen.resent) {
      (ev["message"] == "split_tensor" ? step_resends : other_resends) += 1;
      EXPECT_GE(ev["attempt"].get<int64_t>(), 1);
    }
    EXPECT_LE(step_resends + timed_out, steps_lost + steps_damaged);
    EXPECT_EQ(r.summary.value("resent", int64_t{0}), step_resends + other_resends);
    EXPECT_EQ(r.summary.value("duplicates", int64_t{0}), static_cast<int64_t>(seen.duplicates.size()));
    EXPECT_EQ(r.summary.value("undelivered", int64_t{0}), static_cast<int64_t>(seen.undelivered.size()));
    if (deterministic) {
      EXPECT_LE(other_resends, unacknowledged_sends(seen)) << "resent without a loss: acknowledgements not taken?";
      EXPECT_GT(step_resends, 0) << steps_lost << " step requests lost, none sent again";
      EXPECT_GT(other_resends, 0) << "lost one-way messages (or their acknowledgements) are sent again";
      if (duplicated > 0) {
        EXPECT_GT(seen.duplicates.size(), 0u) << duplicated << " messages delivered twice, no copy ignored";
      }
    }
    // Through all of it the model still learns.
    const auto& spam = r.summary["tasks"]["spam"];
    EXPECT_GT(spam.value("test_accuracy", 0.0), spam.value("majority_accuracy", 1.0)) << r.summary.dump(2);
    if (deterministic) {
      observed again;
      const auto r2 = run_observed(faulty("net_faults_det2", true), again);
      ASSERT_EQ(again.faults.size(), seen.faults.size()) << "the same seed, the same faults";
      for (std::size_t i = 0; i < seen.faults.size(); ++i) {
        auto a = seen.faults[i], b = again.faults[i];
        a.erase("elapsed_s");
        b.erase("elapsed_s");
        EXPECT_EQ(a, b) << i;
      }
      EXPECT_EQ(r2.summary["tasks"]["spam"]["test_accuracy"], spam["test_accuracy"]);
    }
  }
}

// Issue 16 item 2: a dropped message costs a resend, not a round. At 20% loss (plus damage and copies) every
// client of every round reports with reliable delivery; with it off (retry_ms = 0) the same network loses
// client rounds.
TEST(NetFaultsRun, ReliableDeliveryTurnsLossIntoResendsNotLostRounds) {
  auto lossy = [](const std::string& name, int64_t retry_ms) {
    auto cfg = small_run(name);
    cfg.kappa1 = 3;
    cfg.net_drop = 0.2;
    cfg.net_duplicate = 0.05;
    cfg.net_corrupt = 0.02;
    cfg.retry_ms = retry_ms;
    cfg.step_deadline_ms = 30000;  // simulated time: room for many resends of one step request
    cfg.round_deadline_ms = 120000;
    return cfg;
  };
  auto reported = [](const actors::run_result& r) {
    int64_t n = 0;
    for (const auto& line : r.metrics)
      n += line.value("clients_reported", int64_t{0});
    return n;
  };
  observed seen;
  const auto cfg = lossy("reliable_20", 1000);
  const auto r = run_observed(cfg, seen);
  ASSERT_EQ(r.metrics.size(), static_cast<std::size_t>(cfg.rounds)) << r.summary.dump(2);
  EXPECT_EQ(reported(r), cfg.clients * cfg.rounds) << r.summary.dump(2);
  EXPECT_TRUE(seen.undelivered.empty()) << seen.undelivered.front().dump();
  int64_t other_resends = 0;
  for (const auto& ev : seen.resent)
    other_resends += ev["message"] != "split_tensor";
  EXPECT_GT(other_resends, 10) << "lost openings, adapters and updates are sent again";
  EXPECT_LE(other_resends, unacknowledged_sends(seen)) << "resent without a loss: acknowledgements not taken?";
  EXPECT_GT(seen.duplicates.size(), 0u);
  for (const auto& line : r.metrics)
    EXPECT_EQ(line["close_reasons"], (nlohmann::json{{"complete", cfg.edges}})) << line.dump();
  observed unreliable;
  const auto r0 = run_observed(lossy("unreliable_20", 0), unreliable);
  EXPECT_TRUE(unreliable.resent.empty());
  EXPECT_LT(reported(r0), cfg.clients * cfg.rounds / 2) << "without resends most client rounds are lost";
  const auto& spam = r.summary["tasks"]["spam"];
  EXPECT_GT(spam.value("test_accuracy", 0.0), spam.value("majority_accuracy", 1.0)) << r.summary.dump(2);
}

} // namespace
} // namespace elsa::testing
