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

TEST(Delivery, WaitsDoubleUpToEightTimesAndStopAtTheRoundDeadline) {
  run::run_config cfg;
  cfg.retry_ms = 250;
  cfg.round_deadline_ms = 10000;
  EXPECT_EQ(run::ack_wait_ms(cfg, 0), 250);
  EXPECT_EQ(run::ack_wait_ms(cfg, 1), 500);
  EXPECT_EQ(run::ack_wait_ms(cfg, 2), 1000);
  EXPECT_EQ(run::ack_wait_ms(cfg, 3), 2000);
  EXPECT_EQ(run::ack_wait_ms(cfg, 30), 2000);
  int64_t waited = 0;
  uint32_t sends = 1;
  while (true) {
    waited += run::ack_wait_ms(cfg, sends - 1);
    if (!run::may_resend(cfg, waited))
      break;
    ++sends;
  }
  // 250 + 500 + 1000 + 2000 x 4 = 9750 < 10000; the next wait ends at 11750.
  EXPECT_EQ(sends, 8u);
}

TEST(Delivery, EachIdIsTakenOnce) {
  run::seen_ids seen;
  EXPECT_TRUE(seen.first(1));
  EXPECT_TRUE(seen.first(3));
  EXPECT_FALSE(seen.first(1));
  EXPECT_TRUE(seen.first(2));  // out of order is fine
  EXPECT_FALSE(seen.first(3));
  for (uint64_t id = 4; id < 4 + run::seen_ids::window; ++id)
    ASSERT_TRUE(seen.first(id));
  EXPECT_FALSE(seen.first(5));  // still in the window: a copy
  // 1 .. 3 fell out of the window: an id that old is a copy by now, not a new message.
  EXPECT_FALSE(seen.first(1));
  EXPECT_TRUE(seen.first(10 + run::seen_ids::window));
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
