// Reliable delivery's rules (core/run/delivery): on only under network faults with retry_ms > 0; the
// checksum catches every damage net_faults can do; waits double from retry_ms up to 8x and stop at
// round_deadline_ms; a receiver takes each id once, copies and ids older than its window refused; and the
// run record counts duplicates and undelivered messages per line and in the summary.
#include "core/run/delivery.hpp"

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/run/net_faults.hpp"
#include "core/run/events.hpp"
#include "core/run/run_record.hpp"

namespace {

using namespace elsa;

TEST(Delivery, OnlyUnderNetworkFaultsWithRetries) {
  run::run_config cfg;
  EXPECT_FALSE(run::reliable_delivery(cfg));  // a clean network needs none
  cfg.net_drop = 0.2;
  EXPECT_TRUE(run::reliable_delivery(cfg));
  cfg.retry_ms = 0;  // what the faults cost without it
  EXPECT_FALSE(run::reliable_delivery(cfg));
}

TEST(Delivery, TheChecksumCatchesEveryDamage) {
  std::mt19937_64 rng(7);
  std::vector<std::byte> bytes(4096);
  for (auto& b : bytes)
    b = static_cast<std::byte>(rng() & 0xff);
  const auto sum = run::checksum(bytes.data(), bytes.size());
  EXPECT_EQ(sum, run::checksum(bytes.data(), bytes.size()));
  EXPECT_NE(run::checksum(nullptr, 0), 0u);
  for (uint64_t seed = 0; seed < 2000; ++seed)
    for (auto f : {run::net_fault::flip, run::net_fault::truncate}) {
      const auto damaged = run::damage(bytes.data(), bytes.size(), f, seed);
      EXPECT_NE(run::checksum(damaged.data(), damaged.size()), sum) << run::to_string(f) << " seed " << seed;
    }
}

// The sends of one message never acknowledged, as actors/transmit.hpp on_resend makes them: the waits so far.
std::vector<int64_t> waits_until_given_up(const run::run_config& cfg) {
  std::vector<int64_t> waits;
  int64_t waited = 0;
  for (uint32_t attempt = 0;; ++attempt) {
    waits.push_back(run::ack_wait_ms(cfg, attempt));
    waited += waits.back();
    if (!run::may_resend(cfg, attempt, waited))
      return waits;
  }
}

TEST(Delivery, WaitsDoubleUpToEightTimesAndStopWithinTheRoundDeadline) {
  run::run_config cfg;
  cfg.retry_ms = 250;
  cfg.round_deadline_ms = 10000;
  EXPECT_EQ(run::ack_wait_ms(cfg, 0), 250);
  EXPECT_EQ(run::ack_wait_ms(cfg, 1), 500);
  EXPECT_EQ(run::ack_wait_ms(cfg, 2), 1000);
  EXPECT_EQ(run::ack_wait_ms(cfg, 3), 2000);
  EXPECT_EQ(run::ack_wait_ms(cfg, 30), 2000);
  // 250 + 500 + 1000 + 2000 x 3 = 7750, and one more wait (2000) still ends by 10000; the next would not.
  EXPECT_EQ(waits_until_given_up(cfg), (std::vector<int64_t>{250, 500, 1000, 2000, 2000, 2000, 2000}));
  // However short the waits, a message is sent at most max_sends times.
  cfg.retry_ms = 1;
  cfg.round_deadline_ms = 120000;
  EXPECT_EQ(waits_until_given_up(cfg).size(), static_cast<std::size_t>(run::max_sends));
}

TEST(Delivery, EachIdIsTakenOnce) {
  run::seen_ids seen;
  EXPECT_TRUE(seen.first(1));
  EXPECT_TRUE(seen.first(3));
  EXPECT_FALSE(seen.first(1));
  EXPECT_TRUE(seen.first(2));  // out of order is fine
  EXPECT_FALSE(seen.first(3));
  // A gap at 4 (a message still on its way) stays open while up to `window` later ids come ...
  const uint64_t w = run::seen_ids::window;
  for (uint64_t id = 5; id < 5 + w; ++id)
    ASSERT_TRUE(seen.first(id));
  EXPECT_FALSE(seen.first(5 + w - 1));
  EXPECT_TRUE(seen.first(4)) << "a late message is still new";
  EXPECT_FALSE(seen.first(4));
  // ... and closes once more than `window` have: an id that old counts as a copy.
  const uint64_t gap = 5 + w;
  for (uint64_t id = gap + 1; id <= gap + w + 1; ++id)
    ASSERT_TRUE(seen.first(id));
  EXPECT_FALSE(seen.first(gap));
  EXPECT_TRUE(seen.first(gap + w + 2));
}

TEST(Delivery, TheRecordCountsResendsDuplicatesAndUndeliveredMessages) {
  run::run_config cfg;
  cfg.rounds = 2;
  cfg.kappa2 = 2;
  run::run_record rec(cfg, {"spam"}, {0.5});
  rec.add(run::resent_event{0, 1, "edge 0", "client 2", "adapter_update"}.to_json(), 1.0);
  rec.add(run::duplicate_event{0, "client 2", "edge 0", "adapter_update"}.to_json(), 1.0);
  rec.add(run::duplicate_event{1, "edge 0", "client 2", "adapter_update"}.to_json(), 1.0);
  rec.add(run::undelivered_event{1, 8, "edge 1", "cloud", "adapter_update"}.to_json(), 1.0);
  EXPECT_EQ(rec.add({{"type", "round_closed"}, {"round", 0}, {"cloud_round", false}}, 1.0).size(), 1u);
  rec.add({{"type", "round_closed"}, {"round", 1}, {"cloud_round", true}}, 1.0);
  const auto lines = rec.add({{"type", "cloud_round"}, {"round", 1}}, 2.0);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["duplicates"], 1);
  EXPECT_EQ(lines[0]["undelivered"], 1);
  EXPECT_FALSE(lines[0].contains("resent"));
  const auto s = rec.summary(3.0);
  EXPECT_EQ(s.value("resent", int64_t{0}), 1);
  EXPECT_EQ(s.value("duplicates", int64_t{0}), 2);
  EXPECT_EQ(s.value("undelivered", int64_t{0}), 1);
}

} // namespace
