// [topology] clients_per_round (issue 17): each edge round the coordinator draws that many of the clients on
// live edges (seeded), the edges open only those, and the record lists them. On the deterministic scheduler
// and threaded on the real clock (the mode users run): every sampled client reports, the others do no work and
// get no adapters (a drawn client gets its cluster's newest at its round's opening).
#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include <gtest/gtest.h>

#include "core/fed/sampling.hpp"
#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

TEST(Sampling, OnlyTheSampledClientsWorkAndEachOfThemReports) {
  for (bool deterministic : {true, false}) {
    SCOPED_TRACE(deterministic ? "deterministic" : "threaded");
    auto cfg = small_run(deterministic ? "sampling_det" : "sampling_threaded");
    cfg.deterministic = deterministic;
    cfg.kappa1 = 2;
    cfg.clients_per_round = 3;
    std::mutex m;
    std::map<int64_t, std::multiset<int64_t>> worked;  // round -> clients that reported steps
    actors::run_hooks hooks;
    hooks.on_event = [&](const nlohmann::json& ev, const actors::directory&) {
      if (ev.value("type", "") == "client_round" && ev.value("steps", 0) > 0) {
        std::lock_guard<std::mutex> lock(m);
        worked[ev["round"].get<int64_t>()].insert(ev["client"].get<int64_t>());
      }
    };
    const auto r = run_quietly(cfg, hooks);
    ASSERT_EQ(r.metrics.size(), static_cast<std::size_t>(cfg.rounds));
    EXPECT_EQ(r.summary["finished"], true);
    std::set<std::vector<uint32_t>> draws;
    for (const auto& line : r.metrics) {
      const auto round = line["round"].get<int64_t>();
      ASSERT_TRUE(line.contains("sampled")) << line.dump();
      const auto sampled = line["sampled"].get<std::vector<uint32_t>>();
      // The coordinator's seeded draw among all 8 clients (both edges live).
      EXPECT_EQ(sampled, fed::sample_clients({0, 1, 2, 3, 4, 5, 6, 7}, 3, cfg.seed, static_cast<uint32_t>(round)));
      draws.insert(sampled);
      EXPECT_EQ(line["clients_expected"], 3) << line.dump();
      EXPECT_EQ(line["clients_reported"], 3) << line.dump();
      EXPECT_EQ(line["steps"], 3 * cfg.kappa1) << line.dump();
      EXPECT_EQ(worked[round], std::multiset<int64_t>(sampled.begin(), sampled.end())) << "round " << round;
      // Only the sampled clients' updates were aggregated (so only they carry weight).
      auto aggregated = line["aggregated"].get<std::vector<uint32_t>>();
      std::sort(aggregated.begin(), aggregated.end());
      EXPECT_EQ(aggregated, sampled) << line.dump();
    }
    EXPECT_GT(draws.size(), 1u) << "the draw changes from round to round";
    // New adapters reach a client when it is drawn, not every client every round: every round makes new ones
    // (an edge aggregate or the cloud's), so each round each of the 3 drawn clients gets exactly one message
    // of its cluster's adapters (the size of an edge's upload to the cloud: one cluster here), at its round's
    // opening.
    // Pushed to all 8, they would be 8 messages a round; sent only at a client's first draw, fewer.
    auto adapter_bytes = [](const nlohmann::json& line, const char* way) -> int64_t {
      const auto& by_kind = line.at("bytes_by_kind");
      return by_kind.contains(way) && by_kind[way].is_object() ? by_kind[way].value("adapters", int64_t{0}) : 0;
    };
    int64_t message = 0;  // one edge's upload in a cloud round
    for (const auto& line : r.metrics)
      if (const auto b = adapter_bytes(line, "edge_to_cloud") / cfg.edges; b > 0)
        message = message == 0 ? b : std::min(message, b);
    ASSERT_GT(message, 0) << r.metrics.back().dump();
    for (const auto& line : r.metrics)  // (envelopes differ by a few bytes)
      EXPECT_NEAR(adapter_bytes(line, "edge_to_client"), 3 * message, 3 * 64)
        << "round " << line["round"] << ", sampled " << line["sampled"];
    const auto& spam = r.summary["tasks"]["spam"];
    EXPECT_GT(spam.value("test_accuracy", 0.0), spam.value("majority_accuracy", 1.0)) << r.summary.dump(2);
  }
}

} // namespace
} // namespace elsa::testing
