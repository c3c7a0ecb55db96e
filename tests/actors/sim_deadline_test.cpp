// [profiles] enforce_deadline through whole runs, deterministic and threaded on the real clock: stragglers
// come from the device profiles. An edge leaves out of its round's aggregate exactly the uploads that the
// record's simulated clock says missed [profiles] deadline_s (judged from the upload's sim_seconds and the
// body steps the edge served, so edge and record agree by construction), keeps them for the next round under
// the staleness policy, and the enforced round no longer waits for them on the simulated clock. The clock's
// arithmetic is unit-tested in tests/sim/clock_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

// Clients 0 and 1 (one per edge, round-robin placement) on a device 25x slower in compute and 10x in uplink
// than the other six.
run::run_config slow_and_fast(const std::string& name) {
  auto cfg = small_run(name);
  cfg.rounds = 2;
  cfg.kappa1 = 3;
  slow_and_fast_devices(cfg, 2, 50);
  return cfg;
}

const std::set<int64_t> slow{0, 1};

// slow_and_fast with [profiles] deadline_s = `deadline` enforced.
run::run_config enforcing(const std::string& name, double deadline) {
  auto cfg = slow_and_fast(name);
  cfg.deadline_s = deadline;
  cfg.enforce_deadline = true;
  return cfg;
}

// A deadline halfway between the fast clients' latest and the slow clients' earliest upload, edge work
// included, from a run without one: every round the slow clients miss it and the fast ones meet it.
double deadline_between(const actors::run_result& r) {
  double fast_end = 0, slow_end = 1e18;
  for (const auto& l : r.metrics) {
    std::map<int64_t, double> edge_work;
    for (const auto& [c, v] : l["sim_clients"].items())
      edge_work[v["edge"].get<int64_t>()] += v["edge_s"].get<double>();
    for (const auto& [c, v] : l["sim_clients"].items()) {
      const double end = v["compute_s"].get<double>() + v["comm_s"].get<double>() + edge_work[v["edge"].get<int64_t>()];
      if (slow.count(std::stoll(c)))
        slow_end = std::min(slow_end, end);
      else
        fast_end = std::max(fast_end, end);
    }
  }
  EXPECT_LT(fast_end * 1.5, slow_end) << "the profiles should set the slow clients well apart";
  return (fast_end + slow_end) / 2;
}

std::set<int64_t> ids(const nlohmann::json& list) {
  std::set<int64_t> out;
  for (const auto& c : list)
    out.insert(c.get<int64_t>());
  return out;
}

// Per line: the record's missed deadlines, and what the line says was left out and aggregated (under the
// staleness policy `aggregated` also names the clients whose upload of the round before was added).
void expect_slow_left_out(const actors::run_result& r, const run::run_config& cfg, bool staleness = false) {
  ASSERT_EQ(r.metrics.size(), static_cast<std::size_t>(cfg.rounds));
  for (const auto& l : r.metrics) {
    std::set<int64_t> missed;
    for (const auto& [c, v] : l["sim_clients"].items())
      if (!v["met_deadline"].get<bool>())
        missed.insert(std::stoll(c));
    EXPECT_EQ(missed, slow) << l.dump();
    EXPECT_EQ(ids(l["sim_late"]), slow) << "the edges left out what the record says missed";
    const bool first = l["round"].get<int64_t>() == 0;
    for (auto c : ids(l["aggregated"]))
      EXPECT_TRUE(!slow.count(c) || (staleness && !first)) << "client " << c << " aggregated in round " << l["round"];
    EXPECT_EQ(l["aggregated"].size(), staleness && !first ? 8u : 6u) << l.dump();
    EXPECT_TRUE(l["stragglers"].empty()) << "nobody was late on this machine";
  }
  EXPECT_EQ(r.summary["sim_late_uploads"], 2 * cfg.rounds);
}

TEST(SimDeadline, TheProfilesMakeTheStragglersAndTheEnforcedRoundDoesNotWaitForThem) {
  auto cfg = slow_and_fast("sim_deadline_free");
  const auto free = run_quietly(cfg);
  ASSERT_TRUE(free.summary.value("finished", false));
  ASSERT_EQ(free.metrics.size(), 2u);
  for (const auto& l : free.metrics) {
    EXPECT_EQ(l["aggregated"].size(), 8u) << "no deadline: every upload counts";
    EXPECT_FALSE(l.contains("sim_late"));
  }
  const double deadline = deadline_between(free);

  cfg = enforcing("sim_deadline_enforced", deadline);
  const auto enforced = run_quietly(cfg);
  ASSERT_TRUE(enforced.summary.value("finished", false));
  EXPECT_TRUE(enforced.errors.empty()) << enforced.errors.front().dump();
  expect_slow_left_out(enforced, cfg);
  // Every enforced round closes at the deadline (the slow clients would have taken longer).
  for (std::size_t i = 0; i < enforced.metrics.size(); ++i) {
    EXPECT_LT(enforced.metrics[i]["sim_round_s"].get<double>(), free.metrics[i]["sim_round_s"].get<double>());
    EXPECT_GE(enforced.metrics[i]["sim_round_s"].get<double>(), deadline);
  }
  EXPECT_LT(enforced.summary["sim_time_s"].get<double>(), free.summary["sim_time_s"].get<double>());
  const double majority = enforced.summary["tasks"]["spam"].value("majority_accuracy", 1.0);
  EXPECT_GT(enforced.summary["tasks"]["spam"].value("test_accuracy", 0.0), majority) << enforced.summary.dump(2);

  // Recorded only (the default): the same clients miss, and every upload is aggregated.
  cfg = slow_and_fast("sim_deadline_recorded");
  cfg.deadline_s = deadline;
  const auto recorded = run_quietly(cfg);
  for (const auto& l : recorded.metrics) {
    EXPECT_EQ(l["aggregated"].size(), 8u);
    EXPECT_FALSE(l["sim_clients"]["0"]["met_deadline"].get<bool>());
    EXPECT_TRUE(l["sim_clients"]["2"]["met_deadline"].get<bool>());
  }
  EXPECT_DOUBLE_EQ(recorded.summary["sim_time_s"].get<double>(), free.summary["sim_time_s"].get<double>());
}

TEST(SimDeadline, UnderTheStalenessPolicyALateUploadCountsInTheNextRound) {
  const double deadline = deadline_between(run_quietly(slow_and_fast("sim_deadline_staleness_free")));
  auto cfg = enforcing("sim_deadline_staleness", deadline);
  cfg.rounds = 4;
  cfg.straggler_policy_name = "staleness";
  cfg.max_staleness = 1;
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false));
  expect_slow_left_out(r, cfg, true);
  // Round 0 has nothing stale; from round 1 on each edge adds its slow client's upload of the round before.
  EXPECT_EQ(r.metrics[0]["stale_aggregated"], 0);
  for (std::size_t i = 1; i < r.metrics.size(); ++i)
    EXPECT_EQ(r.metrics[i]["stale_aggregated"], 2) << r.metrics[i].dump();
}

TEST(SimDeadline, AThreadedRunOnARealClockLeavesOutTheSameUploads) {
  const double deadline = deadline_between(run_quietly(slow_and_fast("sim_deadline_threaded_free")));
  auto cfg = enforcing("sim_deadline_threaded", deadline);
  cfg.deterministic = false;
  cfg.threads = 2;
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false));
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  expect_slow_left_out(r, cfg);
}

// Per round and edge, the clients whose upload plus the edge's body work for all its uploading clients ends
// after `deadline`, from a run's record (upload_s, edge_s).
std::vector<std::set<int64_t>> late_by_record(const actors::run_result& r, double deadline) {
  std::vector<std::set<int64_t>> out;
  for (const auto& l : r.metrics) {
    std::map<int64_t, double> work;
    for (const auto& [c, v] : l["sim_clients"].items())
      work[v["edge"].get<int64_t>()] += v["edge_s"].get<double>();
    std::set<int64_t> late;
    for (const auto& [c, v] : l["sim_clients"].items())
      if (v["upload_s"].get<double>() + work[v["edge"].get<int64_t>()] > deadline)
        late.insert(std::stoll(c));
    out.push_back(late);
  }
  return out;
}

// The edge's own bookkeeping (the steps and positions it served, each client's split under the dynamic
// planner) against the record's, at a deadline exactly one client's end and one double below it: the edge
// leaves out exactly the clients the record's numbers put past it, every round (both sides compute the
// same bits; JSON keeps doubles exactly).
TEST(SimDeadline, TheEdgeJudgesByTheRecordsNumbersToTheLastDigits) {
  auto cfg = slow_and_fast("sim_deadline_tight_free");
  cfg.split_mode = "dynamic";
  const auto free = run_quietly(cfg);
  ASSERT_TRUE(free.summary.value("finished", false));
  // Round 0, edge 0: the end of its fast client that finishes last.
  const auto& first = free.metrics.at(0)["sim_clients"];
  double work = 0, end = 0;
  std::set<std::vector<int>> splits;
  for (const auto& [c, v] : first.items()) {
    splits.insert(v["split"].get<std::vector<int>>());
    if (v["edge"] == 0)
      work += v["edge_s"].get<double>();
  }
  EXPECT_GT(splits.size(), 1u) << "the planner should split the devices differently";
  for (const auto& [c, v] : first.items())
    if (v["edge"] == 0 && !slow.count(std::stoll(c)))
      end = std::max(end, v["upload_s"].get<double>() + work);
  const auto on_time = late_by_record(free, end);
  const auto late = late_by_record(free, std::nextafter(end, 0.0));
  // (Clients of the same class, split and batches end at the same double: one less makes them all late.)
  ASSERT_GT(late.at(0).size(), on_time.at(0).size()) << "one double less makes that client late";

  for (double deadline : {end, std::nextafter(end, 0.0)}) {
    const auto want = late_by_record(free, deadline);
    cfg = enforcing("sim_deadline_tight", deadline);
    cfg.split_mode = "dynamic";
    const auto r = run_quietly(cfg);
    ASSERT_EQ(r.metrics.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(ids(r.metrics[i]["sim_late"]), want[i]) << "round " << i << ", deadline " << deadline;
      // The simulated numbers do not depend on what was aggregated: the record of the enforced run agrees.
      EXPECT_EQ(late_by_record(r, deadline)[i], want[i]) << "round " << i;
    }
  }
}

TEST(SimDeadline, EnforcingNeedsADeadline) {
  auto cfg = slow_and_fast("sim_deadline_none");
  cfg.enforce_deadline = true;
  try {
    run_quietly(cfg);
    FAIL() << "a run enforcing no deadline started";
  } catch (const elsa::error& e) {
    EXPECT_NE(std::string(e.what()).find("enforce_deadline"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("deadline_s"), std::string::npos) << e.what();
  }
}

} // namespace
} // namespace elsa::testing
