// Network faults decided per link and message (core/run/net_faults): the same arguments give the same fate,
// rates follow the configured probabilities, a partition loses everything to and from its members inside
// its window only, damage flips 1 to 8 bits or cuts the bytes short; and the run record writes a line for a
// round that never ran, so lines keep coming after a lost opening.
#include "core/run/net_faults.hpp"

#include <gtest/gtest.h>

#include "core/run/run_record.hpp"

namespace {

using namespace elsa;
using messages::participant;
using messages::tier;

const participant client3{tier::client, 3}, edge1{tier::edge, 1}, coordinator{tier::coordinator, 0};

TEST(NetFaults, OffByDefaultAndNothingHappens) {
  run::run_config cfg;
  EXPECT_FALSE(run::network_faults_on(cfg));
  for (uint64_t seq = 0; seq < 100; ++seq)
    EXPECT_TRUE(run::decide(cfg, client3, edge1, seq, 0).faults.empty());
  cfg.net_delay = 0.5;  // a delay probability without a delay is nothing
  EXPECT_FALSE(run::network_faults_on(cfg));
  cfg.partition_edges = {1};  // a partition of no rounds is nothing
  EXPECT_FALSE(run::network_faults_on(cfg));
}

TEST(NetFaults, SameArgumentsSameFateRatesFollowTheConfig) {
  run::run_config cfg;
  cfg.net_drop = 0.2;
  cfg.net_delay = 0.1;
  cfg.net_delay_ms = 50;
  cfg.net_duplicate = 0.05;
  cfg.net_corrupt = 0.04;
  ASSERT_TRUE(run::network_faults_on(cfg));
  constexpr int n = 40000;
  int lost = 0, delayed = 0, duplicated = 0, flipped = 0, truncated = 0, differs = 0;
  for (uint64_t seq = 0; seq < n; ++seq) {
    const auto a = run::decide(cfg, client3, edge1, seq, 2);
    const auto b = run::decide(cfg, client3, edge1, seq, 2);
    ASSERT_EQ(a.faults, b.faults);
    ASSERT_EQ(a.delay_ms, b.delay_ms);
    ASSERT_EQ(a.damage_seed, b.damage_seed);
    differs += run::decide(cfg, edge1, client3, seq, 2).faults != a.faults ? 1 : 0;  // the other direction
    lost += a.lost;
    delayed += a.has(run::net_fault::delay);
    duplicated += a.has(run::net_fault::duplicate);
    flipped += a.has(run::net_fault::flip);
    truncated += a.has(run::net_fault::truncate);
    if (a.lost)
      EXPECT_EQ(a.faults, std::vector<run::net_fault>{run::net_fault::drop});
    if (a.has(run::net_fault::delay)) {
      EXPECT_GE(a.delay_ms, 1);
      EXPECT_LE(a.delay_ms, 100);
    }
  }
  // Delivered messages (80%) carry the others at their own rates.
  EXPECT_NEAR(lost / double(n), 0.2, 0.01);
  EXPECT_NEAR(delayed / double(n), 0.8 * 0.1, 0.01);
  EXPECT_NEAR(duplicated / double(n), 0.8 * 0.05, 0.006);
  EXPECT_NEAR((flipped + truncated) / double(n), 0.8 * 0.04, 0.006);
  EXPECT_NEAR(flipped / double(flipped + truncated), 0.5, 0.06);
  EXPECT_GT(differs, n / 10) << "each link draws its own fates";
  // Another seed, other fates.
  auto other = cfg;
  other.seed = cfg.seed + 1;
  int same = 0;
  for (uint64_t seq = 0; seq < 1000; ++seq)
    same += run::decide(other, client3, edge1, seq, 2).faults == run::decide(cfg, client3, edge1, seq, 2).faults;
  EXPECT_LT(same, 900);
}

TEST(NetFaults, APartitionLosesEverythingToAndFromItsMembersInItsWindowOnly) {
  run::run_config cfg;
  cfg.partition_edges = {1};
  cfg.partition_clients = {5};
  cfg.partition_round = 3;
  cfg.partition_rounds = 2;
  ASSERT_TRUE(run::network_faults_on(cfg));
  for (uint32_t round = 0; round < 8; ++round) {
    const bool cut = round == 3 || round == 4;
    EXPECT_EQ(run::partitioned(cfg, edge1, round), cut) << round;
    const auto to_edge = run::decide(cfg, client3, edge1, 0, round);
    const auto from_edge = run::decide(cfg, edge1, coordinator, 7, round);
    const auto from_client5 = run::decide(cfg, participant{tier::client, 5}, participant{tier::edge, 0}, 1, round);
    EXPECT_EQ(to_edge.lost, cut) << round;
    EXPECT_EQ(from_edge.lost, cut) << round;
    EXPECT_EQ(from_client5.lost, cut) << round;
    if (cut)
      EXPECT_EQ(to_edge.faults, std::vector<run::net_fault>{run::net_fault::partition});
    EXPECT_FALSE(run::decide(cfg, client3, participant{tier::edge, 0}, 0, round).lost) << "others are not cut";
  }
}

TEST(NetFaults, DamageFlipsOneToEightBitsOrCutsShort) {
  std::vector<std::byte> bytes(256);
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::byte>(i * 37);
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const auto flipped = run::damage(bytes.data(), bytes.size(), run::net_fault::flip, seed);
    ASSERT_EQ(flipped.size(), bytes.size());
    int bits = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i)
      bits += __builtin_popcount(static_cast<unsigned>(flipped[i] ^ bytes[i]));
    EXPECT_LE(bits, 8);  // (two flips of one bit cancel, so 0 can happen: the next loop counts changes)
    const auto cut = run::damage(bytes.data(), bytes.size(), run::net_fault::truncate, seed);
    ASSERT_LT(cut.size(), bytes.size());
    EXPECT_TRUE(std::equal(cut.begin(), cut.end(), bytes.begin()));
    EXPECT_EQ(run::damage(bytes.data(), bytes.size(), run::net_fault::flip, seed), flipped) << "seeded";
  }
  int changed = 0;
  for (uint64_t seed = 0; seed < 200; ++seed)
    changed += run::damage(bytes.data(), bytes.size(), run::net_fault::flip, seed) != bytes;
  EXPECT_GE(changed, 190);
  EXPECT_TRUE(run::damage(bytes.data(), 0, run::net_fault::flip, 1).empty());
}

nlohmann::json closed(int64_t round, bool cloud) {
  return {{"type", "round_closed"}, {"round", round}, {"cloud_round", cloud}};
}

TEST(NetFaultsRecord, RoundsThatNeverRanGetALineAndFaultsAreCounted) {
  run::run_config cfg;
  cfg.rounds = 6;
  cfg.kappa2 = 2;
  run::run_record rec(cfg, {"spam"}, {0.5});
  EXPECT_EQ(rec.add(closed(0, false), 1.0).size(), 1u);
  EXPECT_TRUE(rec.add(closed(1, true), 1.0).empty()) << "a cloud round's line waits for the cloud";
  EXPECT_EQ(rec.add({{"type", "cloud_round"}, {"round", 1}}, 1.0).size(), 1u);
  rec.add({{"type", "net_fault"}, {"round", 2}, {"faults", {"drop"}}}, 1.5);
  rec.add({{"type", "net_fault"}, {"round", 2}, {"faults", {"delay", "duplicate"}}}, 1.5);
  // Cloud round 1 (edge rounds 2, 3) never opened; cloud round 2 (4, 5) ran.
  EXPECT_TRUE(rec.add(closed(4, false), 2.0).empty()) << "round 2 has not closed yet";
  EXPECT_TRUE(rec.add(closed(5, true), 2.0).empty());
  const auto lines = rec.add({{"type", "cloud_round"}, {"round", 5}}, 2.0);
  ASSERT_EQ(lines.size(), 4u);
  for (int k = 0; k < 4; ++k)
    EXPECT_EQ(lines[k]["round"], k + 2);
  EXPECT_EQ(lines[0]["close_reasons"], (nlohmann::json{{"not_run", 1}}));
  EXPECT_EQ(lines[1]["close_reasons"], (nlohmann::json{{"not_run", 1}}));
  EXPECT_EQ(lines[1]["cloud_round"], true);
  EXPECT_EQ(lines[0]["net_faults"], (nlohmann::json{{"delay", 1}, {"drop", 1}, {"duplicate", 1}}));
  EXPECT_FALSE(lines[2].contains("net_faults"));
  const auto s = rec.summary(3.0);
  EXPECT_EQ(s["net_faults"], (nlohmann::json{{"delay", 1}, {"drop", 1}, {"duplicate", 1}}));
  EXPECT_EQ(s["rounds_recorded"], 6);
}

TEST(NetFaultsRecord, TheFinalEventWritesEveryRoundLeft) {
  run::run_config cfg;
  cfg.rounds = 4;
  cfg.kappa2 = 2;
  run::run_record rec(cfg, {"spam"}, {0.5});
  rec.add(closed(0, false), 1.0);
  const auto lines = rec.add({{"type", "final"}, {"test", nlohmann::json::object()}}, 2.0);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines.back()["round"], 3);
  EXPECT_EQ(rec.summary(2.0)["rounds_recorded"], 4);
}

} // namespace
