// Behaviour clustering in whole runs, deterministic and threaded on a real clock: clients of two tasks start
// in one cluster, fingerprint at the end of each cloud round, are re-clustered and scored; metrics lines from
// the first clustering on carry the clusters and their ARI, the edges aggregate with the coordinator's trust,
// a mixed cluster aggregates (heads per task) and every task gets a test score. A byzantine client that
// sends noise loses trust against the honest ones.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

// Six clients with small shards, short evaluations and 40 probes, fingerprinting every cloud round.
run::run_config small_behaviour_run(const std::string& name, int64_t rounds, int64_t kappa2, int64_t clusters) {
  auto cfg = small_run(name);
  cfg.clients = 6;
  cfg.rounds = rounds;
  cfg.kappa1 = 3;
  cfg.kappa2 = kappa2;
  cfg.max_train_per_client = 120;
  cfg.test_examples = 100;
  cfg.eval_examples = 64;
  cfg.clustering = "behaviour";
  cfg.clusters = clusters;
  cfg.probes = 40;
  return cfg;
}

run::run_config two_tasks(const std::string& name, bool deterministic) {
  auto cfg = small_behaviour_run(name, 4, 2, 2);
  cfg.deterministic = deterministic;
  cfg.tasks = {"spam", "genre"};
  cfg.partition = "by_task";
  // Edges wait for the re-clustering in fingerprint rounds; on a busy machine the probes can take longer
  // than small_run's 10 s deadline, which would close the round first (a legitimate path, not this test's).
  cfg.round_deadline_ms = 120000;
  return cfg;
}

void expect_clustered_run(const run::run_config& cfg, const actors::run_result& r) {
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  ASSERT_TRUE(r.summary.value("finished", false));
  const auto clusterings = events_of(cfg, "clustering");
  ASSERT_EQ(clusterings.size(), 2u) << "one per cloud round";
  for (const auto& c : clusterings) {
    EXPECT_EQ(c["fingerprints"], 6) << c.dump();
    EXPECT_EQ(c["clusters"].size(), 6u);
    EXPECT_EQ(c["k"], 2);
    EXPECT_EQ(c["trust"].size(), 6u);
  }
  ASSERT_EQ(r.metrics.size(), 4u);
  EXPECT_FALSE(r.metrics[0].contains("clusters")) << "before the first clustering";
  for (std::size_t i = 1; i < 4; ++i) {
    ASSERT_TRUE(r.metrics[i].contains("clusters")) << i;
    EXPECT_GE(r.metrics[i]["ari"].get<double>(), -1.0);
    EXPECT_LE(r.metrics[i]["ari"].get<double>(), 1.0);
  }
  // In each fingerprint round the edges aggregated by the new clusters: an edge's aggregates are exactly
  // the clusters its clients (client c on edge c mod 2) were just placed in.
  for (const auto& c : clusterings) {
    for (const auto& e : events_of(cfg, "edge_round")) {
      if (e["round"] != c["round"])
        continue;
      std::set<std::string> expected, got;
      for (const auto& [id, k] : c["clusters"].items())
        if (std::stoi(id) % 2 == e["edge"].get<int>())
          expected.insert(std::to_string(k.get<int>()));
      for (const auto& [k, digest] : e["aggregate_digests"].items())
        got.insert(k);
      EXPECT_EQ(got, expected) << "round " << c["round"] << " edge " << e["edge"];
    }
  }
  // The edges aggregated every round (a mixed cluster too: heads per task) with the coordinator's trust.
  for (const auto& m : r.metrics)
    EXPECT_EQ(m["aggregated"].size(), 6u) << m.dump();
  EXPECT_EQ(r.metrics[2]["trust"].size(), 6u);
  for (const char* task : {"spam", "genre"})
    EXPECT_GT(r.summary["tasks"][task].value("test_examples", 0), 0) << task;
  EXPECT_EQ(r.summary["client_task"]["1"], "genre");
  EXPECT_EQ(r.summary["clusterings"], 2);
  // The cloud keeps max_clusters slots (8) but broadcasts adapters only for the clusters clients are in: after
  // cloud round 1 each edge sent up one set (every client still in the starting cluster) and gets the 2
  // clusters' sets back (each with both tasks' heads): about 3x the upload, where all 8 slots made it 12x.
  ASSERT_EQ(cfg.max_clusters, 8);
  const auto adapters = [](const nlohmann::json& m, const char* tier) {
    const auto& kinds = m["bytes_by_kind"];
    return kinds.contains(tier) && kinds[tier].is_object() ? kinds[tier].value("adapters", 0.0) : 0.0;
  };
  int broadcasts = 0;
  for (const auto& m : r.metrics) {
    const auto down = adapters(m, "cloud_to_edge");
    if (down == 0)
      continue;
    ++broadcasts;
    EXPECT_LT(down, 4.0 * adapters(m, "edge_to_cloud")) << m.dump();
  }
  EXPECT_EQ(broadcasts, 1) << "after cloud round 1 of 2";
}

TEST(Clustering, ADeterministicRunFingerprintsClustersAndScoresEveryTask) {
  const auto cfg = two_tasks("clustering_deterministic", true);
  const auto r = run_quietly(cfg);
  expect_clustered_run(cfg, r);
  // Bit-for-bit again.
  const auto again = run_quietly(cfg);
  EXPECT_EQ(again.metrics.back()["clusters"], r.metrics.back()["clusters"]);
  EXPECT_EQ(again.summary["tasks"], r.summary["tasks"]);
}

TEST(Clustering, AThreadedRunOnARealClockDoesTheSame) {
  const auto cfg = two_tasks("clustering_threaded", false);
  expect_clustered_run(cfg, run_quietly(cfg));
}

// Sketched uploads with behaviour clustering: a re-clustering may merge clients of several old clusters, so
// the uploads of fingerprint rounds go dense and every other round's are sketched, a sketched cloud round after
// a re-clustering included (fingerprints after cloud rounds 1 and 3 of 3, edge rounds 1 and 5).
TEST(Clustering, WithSketchedUploadsFingerprintRoundsGoDenseAndTheOthersSketched) {
  auto cfg = small_behaviour_run("clustering_sketch", 6, 2, 2);
  cfg.deterministic = true;
  cfg.tasks = {"spam", "genre"};
  cfg.partition = "by_task";
  cfg.round_deadline_ms = 120000;
  cfg.recluster_every = 2;
  cfg.adapters = "sketch";
  cfg.sketch_ratio = 12.0;
  const auto r = run_quietly(cfg);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  ASSERT_TRUE(r.summary.value("finished", false));
  EXPECT_EQ(r.summary["clusterings"], 2);
  ASSERT_EQ(r.metrics.size(), 6u);
  const auto ratio = [](const nlohmann::json& line, const char* tier) {
    return line["dense_bytes_by_kind"][tier]["adapters"].get<double>()
           / line["bytes_by_kind"][tier]["adapters"].get<double>();
  };
  for (int64_t i = 0; i < 6; ++i) {
    const auto& m = r.metrics[static_cast<std::size_t>(i)];
    const bool fingerprint = cfg.fingerprint_round(i);
    EXPECT_EQ(fingerprint, i == 1 || i == 5) << i;
    EXPECT_EQ(m["aggregated"].size(), 6u) << m.dump();
    if (fingerprint)
      EXPECT_NEAR(ratio(m, "client_to_edge"), 1.0, 0.01) << i;
    else
      EXPECT_GT(ratio(m, "client_to_edge"), 3.0) << i;
    if (i % 2 == 1) {
      if (fingerprint)
        EXPECT_NEAR(ratio(m, "edge_to_cloud"), 1.0, 0.01) << i;
      else
        EXPECT_GT(ratio(m, "edge_to_cloud"), 3.0) << i;
    }
  }
  // The same sketched run with the task clusters (no re-clustering, so every sketch has one reference): a sketch
  // taken against the wrong reference after a re-clustering would not land near it. (Against dense uploads the
  // sketch with the top-k decode cost genre 9 to 13 points in a run this short: 0.56 against 0.65 and 0.69.)
  auto fixed_cfg = cfg;
  fixed_cfg.clustering = "task";
  fixed_cfg.out_dir = cfg.out_dir.string() + "_task";
  std::filesystem::remove_all(fixed_cfg.out_dir);
  const auto fixed = run_quietly(fixed_cfg);
  ASSERT_TRUE(fixed.summary.value("finished", false));
  for (const char* task : {"spam", "genre"}) {
    EXPECT_GT(r.summary["tasks"][task].value("test_examples", 0), 0) << task;
    EXPECT_GT(r.summary["tasks"][task].value("test_accuracy", 0.0),
              fixed.summary["tasks"][task].value("test_accuracy", 1.0) - 0.05)
      << task << ": behaviour " << r.summary["tasks"][task].dump() << ", task " << fixed.summary["tasks"][task].dump();
  }
}

TEST(Clustering, ANoiseSendingByzantineClientEndsWithTheLowestTrust) {
  auto cfg = small_behaviour_run("clustering_byzantine", 6, 1, 1);
  cfg.byzantine = {4};
  cfg.byzantine_mode = "random_update";
  cfg.byzantine_scale = 10.0;
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false));
  EXPECT_EQ(r.summary["byzantine"], nlohmann::json::array({4}));
  // Trust is noisy from one fingerprinting to the next with six clients; over the run the attacker's is the
  // lowest, and it was left out at least once.
  const auto clusterings = events_of(cfg, "clustering");
  ASSERT_EQ(clusterings.size(), 6u);
  std::map<std::string, double> mean;
  bool excluded = false;
  for (const auto& c : clusterings) {
    for (const auto& [id, t] : c["trust"].items())
      mean[id] += t.get<double>() / 6.0;
    for (const auto& x : c["excluded"])
      excluded |= x.get<int>() == 4;
  }
  ASSERT_EQ(mean.size(), 6u);
  for (const auto& [id, t] : mean) {
    if (id != "4") {
      EXPECT_LT(mean["4"], t) << "client " << id;
    }
  }
  EXPECT_TRUE(excluded);
}

} // namespace
} // namespace elsa::testing
