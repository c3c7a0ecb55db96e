// The simulated clock of an edge round (core/sim/clock.hpp), composed by hand here from the cost model's
// per-step counts (themselves checked against an independent count in cost_model_test.cpp): a client's
// compute, link and edge seconds, the round as the slowest client plus the edge's work for all, the step shape
// taken from the padded positions, memory at the longest batch, and the deadline.
#include "core/sim/clock.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "tests/sim/shapes.hpp"

namespace elsa::sim {
namespace {

using testing::shipped_shape;

device_profile device(const char* name, double gflops, double up_mbps, double down_mbps, double latency_ms) {
  return {name, gflops * 1e9, 1e9, up_mbps * 1e6 / 8, down_mbps * 1e6 / 8, latency_ms / 1e3};
}

// Client 0 (slow, at (1, 1), 5 steps of 8 x 40) and client 1 (fast, at (1, 2), 3 steps of 8 x 64, longest
// batch 96) on an edge of 20 GFLOP/s.
std::vector<client_usage> two_clients() {
  client_usage slow;
  slow.client = 0;
  slow.at = {1, 1};
  slow.steps = 5;
  slow.positions = 5 * 8 * 40;
  slow.batch = 8;
  slow.bytes_up = 3'000'000;
  slow.bytes_down = 1'000'000;
  slow.messages = 22;
  slow.device = device("slow", 2, 8, 16, 30);
  client_usage fast = slow;
  fast.client = 1;
  fast.at = {1, 2};
  fast.steps = 3;
  fast.positions = 3 * 8 * 64;
  fast.max_seq_len = 96;
  fast.bytes_up = 500'000;
  fast.bytes_down = 700'000;
  fast.messages = 14;
  fast.device = device("fast", 32, 80, 160, 5);
  return {slow, fast};
}

TEST(SimClock, AnEdgeRoundIsTheSlowestClientPlusTheEdgesWorkForAll) {
  const auto m = shipped_shape();
  const auto t = edge_round(m, two_clients(), 20e9, 0);
  ASSERT_EQ(t.clients.size(), 2u);
  const auto f0 = training_step_flops(m, {8, 40}, {1, 1});
  const auto f1 = training_step_flops(m, {8, 64}, {1, 2});
  const auto& c0 = t.clients.at(0);
  const auto& c1 = t.clients.at(1);
  EXPECT_DOUBLE_EQ(c0.flops, 5 * f0.client);
  EXPECT_DOUBLE_EQ(c0.compute_s, 5 * f0.client / 2e9);
  EXPECT_DOUBLE_EQ(c0.edge_s, 5 * f0.edge / 20e9);
  // 3 MB over 1 MB/s, 1 MB over 2 MB/s, 22 messages of 30 ms.
  EXPECT_NEAR(c0.comm_s, 3.0 + 0.5 + 0.66, 1e-12);
  EXPECT_DOUBLE_EQ(c0.step_s, (c0.compute_s + c0.comm_s) / 5);
  EXPECT_DOUBLE_EQ(c1.compute_s, 3 * f1.client / 32e9);
  EXPECT_DOUBLE_EQ(c1.edge_s, 3 * f1.edge / 20e9);
  EXPECT_NEAR(c1.comm_s, 0.05 + 0.035 + 0.07, 1e-12);
  // The slow client's own time, then the edge's work for both (not the larger of the two, not a share).
  ASSERT_GT(c0.compute_s + c0.comm_s, c1.compute_s + c1.comm_s);
  EXPECT_DOUBLE_EQ(t.seconds, c0.compute_s + c0.comm_s + c0.edge_s + c1.edge_s);
  // Memory at each client's longest batch (the mean one when none is reported).
  EXPECT_EQ(c0.memory_bytes, client_memory_bytes(m, {8, 40}, {1, 1}));
  EXPECT_EQ(c1.memory_bytes, client_memory_bytes(m, {8, 96}, {1, 2}));
  EXPECT_GT(c1.memory_bytes, client_memory_bytes(m, {8, 64}, {1, 2}));
  EXPECT_TRUE(c0.met_deadline);
  EXPECT_TRUE(c1.met_deadline);
}

TEST(SimClock, TheStepShapeIsTheMeanPaddedLength) {
  const auto m = shipped_shape();
  auto u = two_clients();
  u[0].positions = 5 * 8 * 40 + 5 * 8 * 3 / 5;  // mean length 40.6: rounds to 41
  const auto t = edge_round(m, {u[0]}, 20e9, 0);
  EXPECT_DOUBLE_EQ(t.clients.at(0).flops, 5 * training_step_flops(m, {8, 41}, {1, 1}).client);
}

TEST(SimClock, TheDeadlineCountsTheClientsOwnTimeAndTheEdgesWholeWork) {
  const auto m = shipped_shape();
  const auto all = edge_round(m, two_clients(), 20e9, 0);
  const auto& c0 = all.clients.at(0);
  const auto& c1 = all.clients.at(1);
  const double edge_work = c0.edge_s + c1.edge_s;
  // Between the two clients' finishing times: the slow one misses, the fast one meets it.
  const double deadline = (c0.compute_s + c0.comm_s + c1.compute_s + c1.comm_s) / 2 + edge_work;
  const auto t = edge_round(m, two_clients(), 20e9, deadline);
  EXPECT_FALSE(t.clients.at(0).met_deadline);
  EXPECT_TRUE(t.clients.at(1).met_deadline);
  EXPECT_DOUBLE_EQ(t.seconds, all.seconds) << "recorded only: the round still waits for the slow client";
  // Just above the fast client's own time plus the edge's work: still met; just below: missed.
  const double fast_end = c1.compute_s + c1.comm_s + edge_work;
  EXPECT_TRUE(edge_round(m, two_clients(), 20e9, fast_end * 1.0001).clients.at(1).met_deadline);
  EXPECT_FALSE(edge_round(m, two_clients(), 20e9, fast_end * 0.9999).clients.at(1).met_deadline);
}

// The aggregate coming back after the upload is part of the round, not of whether the upload was on time;
// a late client the edge left out no longer holds the round.
TEST(SimClock, TheDeadlineIsTheUploadsAndAnEnforcedOneEndsTheRound) {
  const auto m = shipped_shape();
  auto u = two_clients();
  const auto before = edge_round(m, u, 20e9, 0);
  const auto& c1 = before.clients.at(1);
  const double edge_work = before.clients.at(0).edge_s + c1.edge_s;
  const double fast_end = c1.compute_s + c1.comm_s + edge_work;
  // 2 MB of aggregate and one message after the upload: 2 MB / (160 Mbit/s) + 5 ms more for client 1.
  u[1].bytes_down += 2'000'000;
  u[1].messages += 1;
  u[1].bytes_after_upload = 2'000'000;
  u[1].messages_after_upload = 1;
  const auto t = edge_round(m, u, 20e9, fast_end * 1.0001);
  EXPECT_NEAR(t.clients.at(1).comm_s, c1.comm_s + 0.1 + 0.005, 1e-12);
  EXPECT_TRUE(t.clients.at(1).met_deadline) << "the download after the upload does not count";
  EXPECT_EQ(until_upload_s(t.clients.at(1), u[1]), c1.compute_s + c1.comm_s) << "the same bits as the client's";
  EXPECT_FALSE(t.clients.at(0).met_deadline);
  EXPECT_DOUBLE_EQ(t.seconds, before.seconds) << "not enforced: the round waits for the slow client";
  // Client 0 left out: the deadline, or the fast client's whole round if that ends later.
  const std::set<uint32_t> slow_out{0};
  const auto enforced = edge_round(m, u, 20e9, fast_end * 1.0001, &slow_out);
  const double fast_round = t.clients.at(1).compute_s + t.clients.at(1).comm_s + edge_work;
  EXPECT_DOUBLE_EQ(enforced.seconds, std::max(fast_end * 1.0001, fast_round));
  EXPECT_LT(enforced.seconds, before.seconds);
  // Nobody left out: the round is as long as without a deadline.
  const std::set<uint32_t> none;
  EXPECT_DOUBLE_EQ(edge_round(m, u, 20e9, fast_end * 1.0001, &none).seconds, t.seconds);
}

// What an edge computes from its own view (the upload's seconds, the body steps it served) decides the same
// clients late as the record's clock.
TEST(SimClock, AnEdgesLateUploadsAreTheClocksMissedDeadlines) {
  const auto m = shipped_shape();
  const auto u = two_clients();
  const auto all = edge_round(m, u, 20e9, 0);
  std::map<uint32_t, upload_time> uploads;
  for (const auto& c : u) {
    const auto& t = all.clients.at(c.client);
    const double e = edge_seconds(m, c.at, c.where, c.batch, c.steps, c.positions, 20e9);
    EXPECT_DOUBLE_EQ(e, t.edge_s);
    uploads[c.client] = {until_upload_s(t, c), e};
  }
  const auto& c0 = all.clients.at(0);
  const auto& c1 = all.clients.at(1);
  const double edge_work = c0.edge_s + c1.edge_s;
  const double between = (c0.compute_s + c0.comm_s + c1.compute_s + c1.comm_s) / 2 + edge_work;
  std::set<std::size_t> counts;
  for (double deadline : {edge_work / 2, between, all.seconds * 2}) {
    const auto clock = edge_round(m, u, 20e9, deadline);
    std::vector<uint32_t> missed;
    for (const auto& [c, t] : clock.clients)
      if (!t.met_deadline)
        missed.push_back(c);
    EXPECT_EQ(late_uploads(uploads, deadline), missed) << "deadline " << deadline;
    counts.insert(missed.size());
  }
  EXPECT_EQ(counts, (std::set<std::size_t>{0, 1, 2})) << "none, one and both late";
  EXPECT_TRUE(late_uploads(uploads, 0).empty());
  EXPECT_EQ(edge_seconds(m, {1, 1}, layout::u_shaped, 8, 0, 0, 20e9), 0.0);
}

TEST(SimClock, AClientWithoutStepsPaysOnlyItsLink) {
  auto u = two_clients();
  u[0].steps = 0;
  u[0].positions = 0;
  const auto t = edge_round(shipped_shape(), {u[0]}, 20e9, 0);
  const auto& c = t.clients.at(0);
  EXPECT_EQ(c.compute_s, 0.0);
  EXPECT_EQ(c.edge_s, 0.0);
  EXPECT_EQ(c.step_s, 0.0);
  EXPECT_NEAR(t.seconds, 3.0 + 0.5 + 0.66, 1e-12);
}

TEST(SimClock, TransferSecondsAreBytesOverBandwidthPlusLatencies) {
  EXPECT_DOUBLE_EQ(transfer_seconds(250'000'000, 125e6, 2, 0.02), 2.04);
  EXPECT_DOUBLE_EQ(transfer_seconds(0, 1.0, 0, 1.0), 0.0);
}

// -- [topology] mode = "async": FedBuff flushes on the simulated clock --

TEST(SimClockAsync, AFlushTakesTheBufferEarliestArrivalsAndTheRestWait) {
  // The wave's edge work (0.5 + 0.5 + 0.5) delays every arrival: 1 + 1.5, 3 + 1.5, 10 + 1.5.
  const std::map<uint32_t, upload_time> wave = {{0, {1.0, 0.5}}, {1, {3.0, 0.5}}, {2, {10.0, 0.5}}};
  const auto f = fedbuff_flush(wave, 4, {}, 2);
  ASSERT_EQ(f.taken.size(), 2u);
  EXPECT_EQ(f.taken[0], (waiting_upload{0, 4, 2.5}));
  EXPECT_EQ(f.taken[1], (waiting_upload{1, 4, 4.5}));
  EXPECT_DOUBLE_EQ(f.seconds, 4.5);
  ASSERT_EQ(f.waiting.size(), 1u);
  EXPECT_EQ(f.waiting[0].client, 2u);
  EXPECT_EQ(f.waiting[0].round, 4u);
  EXPECT_DOUBLE_EQ(f.waiting[0].remaining_s, 11.5 - 4.5);
}

TEST(SimClockAsync, AWaitingUploadThatArrivesFirstIsTakenBeforeTheNewOnes) {
  const std::vector<waiting_upload> waiting = {{5, 2, 1.0}, {6, 1, 9.0}};
  const auto f = fedbuff_flush({{0, {3.0, 0.0}}, {1, {2.0, 0.0}}}, 3, waiting, 2);
  ASSERT_EQ(f.taken.size(), 2u);
  EXPECT_EQ(f.taken[0], (waiting_upload{5, 2, 1.0}));
  EXPECT_EQ(f.taken[1], (waiting_upload{1, 3, 2.0}));
  EXPECT_DOUBLE_EQ(f.seconds, 2.0);
  ASSERT_EQ(f.waiting.size(), 2u);
  EXPECT_EQ(f.waiting[0], (waiting_upload{0, 3, 1.0}));
  EXPECT_EQ(f.waiting[1], (waiting_upload{6, 1, 7.0}));
}

TEST(SimClockAsync, FewerUploadsThanTheBufferAreAllTakenAndTiesGoToTheLowerId) {
  const auto f = fedbuff_flush({{3, {2.0, 0.0}}, {1, {2.0, 0.0}}}, 0, {}, 8);
  ASSERT_EQ(f.taken.size(), 2u);
  EXPECT_EQ(f.taken[0].client, 1u);
  EXPECT_EQ(f.taken[1].client, 3u);
  EXPECT_DOUBLE_EQ(f.seconds, 2.0);
  EXPECT_TRUE(f.waiting.empty());
  const auto none = fedbuff_flush({}, 0, {}, 2);
  EXPECT_TRUE(none.taken.empty());
  EXPECT_DOUBLE_EQ(none.seconds, 0.0);
}

// Flushes chained round after round (times relative to each flush) against the same FedBuff run kept on one
// absolute clock: client c takes d[c] seconds a round; after each flush, the clients taken start again.
TEST(SimClockAsync, ChainedFlushesAreFedBuffOnOneAbsoluteClock) {
  const std::vector<double> d = {1.0, 1.5, 4.0, 7.0, 2.5, 11.0};
  const std::size_t buffer = 2;
  // The reference: absolute arrival times, the k earliest of what is on its way taken at the k-th's time.
  std::map<uint32_t, double> arrival;
  double now = 0;
  std::vector<uint32_t> starting = {0, 1, 2, 3, 4, 5};
  // The clock under test.
  std::vector<waiting_upload> waiting;
  double total = 0;
  for (uint32_t round = 0; round < 12; ++round) {
    std::map<uint32_t, upload_time> wave;
    for (auto c : starting) {
      arrival[c] = now + d[c];
      wave[c] = {d[c], 0.0};
    }
    std::vector<std::pair<double, uint32_t>> order;
    for (const auto& [c, t] : arrival)
      order.push_back({t, c});
    std::sort(order.begin(), order.end());
    order.resize(std::min(buffer, order.size()));
    now = order.back().first;
    starting.clear();
    for (const auto& [t, c] : order) {
      starting.push_back(c);
      arrival.erase(c);
    }
    const auto f = fedbuff_flush(wave, round, waiting, buffer);
    total += f.seconds;
    waiting = f.waiting;
    ASSERT_EQ(f.taken.size(), order.size()) << "round " << round;
    for (std::size_t i = 0; i < order.size(); ++i)
      EXPECT_EQ(f.taken[i].client, order[i].second) << "round " << round;
    EXPECT_NEAR(total, now, 1e-9) << "round " << round;
    ASSERT_EQ(waiting.size(), arrival.size());
    for (const auto& w : waiting)
      EXPECT_NEAR(w.remaining_s, arrival.at(w.client) - now, 1e-9) << "client " << w.client << " round " << round;
  }
  EXPECT_GT(total, 0.0);
}

} // namespace
} // namespace elsa::sim
