// Heads per task and one fingerprinting at the coordinator: a cluster that mixes tasks averages LoRA over
// all its clients and each head over its own task's clients; wire fingerprints are checked before they are
// clustered; planted behaviour groups come back as clusters with ids kept from the previous clustering; an
// outlier loses trust; the cloud's sets follow members to their new clusters; each task is scored with the
// cluster most of its clients are in.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/fed/aggregation.hpp"
#include "core/fed/behaviour.hpp"
#include "tests/fed/adapter_helpers.hpp"

namespace elsa::fed {
namespace {

messages::tensor_bytes f32_tensor(const std::vector<float>& v) {
  return messages::tensor_bytes::copy_of(messages::dtype::f32, {static_cast<int64_t>(v.size())}, v.data(),
                                         v.size() * sizeof(float));
}

messages::fingerprint gaussian(uint32_t client, std::vector<float> mean, std::vector<float> var) {
  messages::fingerprint fp;
  fp.client_id = client;
  fp.probe_count = 32;
  fp.form = messages::gaussian_fingerprint{f32_tensor(mean), f32_tensor(var)};
  return fp;
}

// Three planted groups of four clients in d = 6: means around 0, 3 and -3 in different dimensions.
std::map<uint32_t, messages::fingerprint> planted(uint64_t seed, double spread = 0.05) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, spread);
  std::map<uint32_t, messages::fingerprint> out;
  for (uint32_t c = 0; c < 12; ++c) {
    std::vector<float> mean(6, 0.0f), var(6, 1.0f);
    const uint32_t g = c % 3;
    if (g > 0)
      mean[2 * g] = g == 1 ? 3.0f : -3.0f;
    for (auto& m : mean)
      m += static_cast<float>(n(rng));
    out[c] = gaussian(c, mean, var);
  }
  return out;
}

TEST(HeadsPerTask, AMixedClusterAveragesLoraOverAllAndEachHeadOverItsTask) {
  aggregation_inputs in;
  in.round = 0;
  const std::vector<client_update> ups = {
    {0, 0, 0, 10, {f32("lora", {1, 1}), f32(head_name("spam"), {2})}},
    {1, 0, 0, 10, {f32("lora", {3, 3}), f32(head_name("spam"), {4})}},
    {2, 0, 0, 20, {f32("lora", {6, 6}), f32(head_name("genre"), {9, 9, 9})}},
  };
  const auto r = aggregate_updates(ups, in);
  ASSERT_TRUE(r.rejected.empty()) << r.rejected.front().text;
  const auto& set = r.clusters.at(0).adapters;
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(set[0].name, head_name("genre"));
  EXPECT_EQ(values(set[0]), (std::vector<float>{9, 9, 9}));  // client 2's only
  EXPECT_EQ(set[1].name, head_name("spam"));
  EXPECT_EQ(values(set[1]), (std::vector<float>{3}));  // clients 0 and 1, 10 samples each
  EXPECT_EQ(set[2].name, "lora");
  EXPECT_EQ(values(set[2]), (std::vector<float>{4, 4}));  // (10 + 30 + 120) / 40
}

TEST(HeadsPerTask, AHeadOfTheWrongShapeForItsTaskIsRejected) {
  aggregation_inputs in;
  in.round = 0;
  in.layouts[0] = layout_of({f32("lora", {0, 0}), f32(head_name("spam"), {0})});
  const std::vector<client_update> ups = {
    {0, 0, 0, 10, {f32("lora", {1, 1}), f32(head_name("spam"), {2})}},
    {1, 0, 0, 10, {f32("lora", {3, 3}), f32(head_name("spam"), {4, 4})}},
    {2, 0, 0, 10, {f32("lora", {3, 3}), f32("other", {4})}},
  };
  const auto r = aggregate_updates(ups, in);
  ASSERT_EQ(r.rejected.size(), 2u);
  EXPECT_EQ(r.rejected[0].why, rejection::wrong_shape);
  EXPECT_EQ(r.rejected[1].why, rejection::wrong_names);
  EXPECT_EQ(r.clusters.at(0).clients, (std::vector<uint32_t>{0}));
}

TEST(HeadsPerTask, AParticipantTakesTheLoraAndItsOwnTasksHeadUnderThePlainName) {
  const adapter_set set = {f32("lora", {1}), f32(head_name("genre"), {2}), f32(head_name("spam"), {3})};
  const auto mine = for_task(set, "spam");
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].name, "base_model.model.score.weight");
  EXPECT_EQ(values(mine[0]), (std::vector<float>{3}));
  EXPECT_EQ(mine[1].name, "lora");
  EXPECT_EQ(with_task_head(mine, "spam")[0].name, head_name("spam"));
  EXPECT_EQ(lora_only(set).size(), 1u);
  // overlay keeps what the newer set lacks.
  const auto both = overlay(set, {f32("lora", {7})});
  ASSERT_EQ(both.size(), 3u);
  EXPECT_EQ(values(both[2]), (std::vector<float>{7}));
  EXPECT_EQ(values(both[1]), (std::vector<float>{3}));
}

run::run_config behaviour_config(int64_t k) {
  run::run_config cfg;
  cfg.clustering = "behaviour";
  cfg.clusters = k;
  cfg.max_clusters = 5;
  return cfg;
}

TEST(Recluster, FindsThePlantedGroupsAndKeepsThePreviousIds) {
  std::map<uint32_t, uint32_t> before;
  for (uint32_t c = 0; c < 12; ++c)
    before[c] = (c % 3 + 1) % 3;  // the previous clustering had the groups under ids 1, 2, 0
  for (int64_t k : {3, 0}) {       // K given, and K by silhouette
    const auto out = recluster(planted(1), {}, before, {}, behaviour_config(k), 8);
    EXPECT_EQ(out.k, 3u);
    EXPECT_EQ(out.clusters, before) << "k = " << k;
    EXPECT_TRUE(out.rejected.empty());
    EXPECT_GT(out.silhouette, 0.5);
    for (const auto& [c, t] : out.trust)
      EXPECT_GT(t, 0.5) << "the first fingerprinting moves trust from 1 by at most half";
  }
}

TEST(Recluster, DisplacementFingerprintsAreGaussiansOnTheWire) {
  std::map<uint32_t, uint32_t> before;
  for (uint32_t c = 0; c < 12; ++c)
    before[c] = (c % 3 + 1) % 3;
  auto cfg = behaviour_config(3);
  cfg.fingerprint = "displacement";
  const auto out = recluster(planted(1), {}, before, {}, cfg, 8);
  EXPECT_TRUE(out.rejected.empty());
  EXPECT_EQ(out.clusters, before);
  messages::fingerprint pred;
  pred.client_id = 0;
  pred.form = messages::predictive_fingerprint{f32_tensor({0.5f, 0.5f})};
  auto now = planted(1);
  now[0] = pred;
  const auto wrong = recluster(now, {}, before, {}, cfg, 8);
  ASSERT_EQ(wrong.rejected.size(), 1u);
  EXPECT_NE(wrong.rejected[0].find("where the run uses gaussian ones"), std::string::npos) << wrong.rejected[0];
}

TEST(Recluster, AnOutlierAndADrifterLoseTrustAndFallUnderTauMin) {
  auto now = planted(2);
  auto previous = planted(3);
  // Client 4 sits far from its group; client 7 was elsewhere last time.
  now[4] = gaussian(4, {9, 9, 9, 9, 9, 9}, std::vector<float>(6, 1.0f));
  previous[7] = gaussian(7, {-8, 8, -8, 8, -8, 8}, std::vector<float>(6, 1.0f));
  std::map<uint32_t, uint32_t> before;
  for (uint32_t c = 0; c < 12; ++c)
    before[c] = 0;
  // K = 4: the outlier gets a cluster of its own, which does not save it (nobody vouches for it). Trust starts
  // at 1 and moves halfway to c: the two fall to about 0.5, the others stay above 0.55.
  auto cfg = behaviour_config(4);
  cfg.tau_min = 0.55;
  const auto out = recluster(now, previous, before, {}, cfg, 8);
  for (uint32_t c = 0; c < 12; ++c)
    if (c != 4 && c != 7) {
      EXPECT_LT(out.trust.at(4), out.trust.at(c)) << c;
      EXPECT_LT(out.trust.at(7), out.trust.at(c)) << c;
      EXPECT_FALSE(out.excluded.count(c)) << c;
    }
  EXPECT_TRUE(out.excluded.count(4));
  EXPECT_TRUE(out.excluded.count(7));
}

TEST(Recluster, BadFingerprintsAreRejectedAndTooFewLeaveEverythingAsItWas) {
  auto now = planted(4);
  now[0] = gaussian(0, {0, 0, 0, 0, 0, 0}, {1, 1, 0, 1, 1, 1});             // variance 0
  now[1] = gaussian(1, {0, 0, 0}, {1, 1, 1});                                // another dimension
  now[2] = gaussian(2, {0, NAN, 0, 0, 0, 0}, std::vector<float>(6, 1.0f));  // not finite
  messages::fingerprint pred;
  pred.client_id = 3;
  pred.form = messages::predictive_fingerprint{f32_tensor({0.5f, 0.5f})};
  now[3] = pred;  // the wrong form
  std::map<uint32_t, uint32_t> before;
  for (uint32_t c = 0; c < 12; ++c)
    before[c] = 0;
  const auto out = recluster(now, {}, before, {}, behaviour_config(3), 8);
  EXPECT_EQ(out.rejected.size(), 4u);
  for (uint32_t c = 0; c < 4; ++c)
    EXPECT_EQ(out.clusters.at(c), 0u) << "a rejected client keeps its cluster";
  const auto few = recluster({{5, now[5]}}, {}, before, {{5, 0.7}}, behaviour_config(3), 8);
  EXPECT_EQ(few.clusters, before);
  EXPECT_EQ(few.trust.at(5), 0.7);
  EXPECT_EQ(few.k, 0u);
}

TEST(Reseed, NewClustersStartFromTheSetsTheirMembersCameFrom) {
  // Before: clients 0-3 in cluster 0, 4-5 in cluster 1; tasks: 0, 1, 4 spam, 2, 3, 5 genre.
  // Sets are sorted by name: the genre head, the spam head, then "lora".
  const std::vector<adapter_set> global = {
    {f32(head_name("genre"), {10}), f32(head_name("spam"), {20}), f32("lora", {0})},
    {f32(head_name("genre"), {11}), f32(head_name("spam"), {21}), f32("lora", {1})},
    {f32(head_name("genre"), {12}), f32(head_name("spam"), {22}), f32("lora", {2})},
  };
  const std::map<uint32_t, uint32_t> before{{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 1}, {5, 1}};
  const std::map<uint32_t, uint32_t> task{{0, 0}, {1, 0}, {2, 1}, {3, 1}, {4, 0}, {5, 1}};
  // After: 0, 1, 4 (spam) in cluster 1; 2, 3, 5 (genre) in cluster 2; cluster 0 empty.
  const std::map<uint32_t, uint32_t> after{{0, 1}, {1, 1}, {4, 1}, {2, 2}, {3, 2}, {5, 2}};
  const auto out = reseed_clusters(global, before, after, task, {"spam", "genre"});
  EXPECT_EQ(values(out[0][2]), (std::vector<float>{0})) << "an empty cluster stays as it was";
  EXPECT_EQ(values(out[1][2]), (std::vector<float>{0})) << "cluster 1: LoRA of cluster 0 (2 of its 3 members)";
  EXPECT_EQ(values(out[1][1]), (std::vector<float>{20})) << "its spam head from cluster 0 too";
  EXPECT_EQ(values(out[1][0]), (std::vector<float>{11})) << "no genre client: its genre head stays";
  EXPECT_EQ(values(out[2][2]), (std::vector<float>{0}));
  EXPECT_EQ(values(out[2][0]), (std::vector<float>{10}));
  EXPECT_EQ(values(out[2][1]), (std::vector<float>{22})) << "no spam client: its spam head stays";
}

TEST(Reseed, EachTaskIsScoredWithTheClusterMostOfItsClientsAreIn) {
  const std::map<uint32_t, uint32_t> cluster_of{{0, 2}, {1, 2}, {2, 0}, {3, 1}, {4, 1}};
  const std::map<uint32_t, uint32_t> task_of{{0, 0}, {1, 0}, {2, 0}, {3, 1}, {4, 1}};
  EXPECT_EQ(cluster_for_task(0, cluster_of, task_of), 2u);
  EXPECT_EQ(cluster_for_task(1, cluster_of, task_of), 1u);
  EXPECT_FALSE(cluster_for_task(2, cluster_of, task_of).has_value());
  EXPECT_EQ(cluster_for_task(0, {{0, 3}, {1, 1}}, {{0, 0}, {1, 0}}), 1u) << "a tie goes to the lower id";
}

} // namespace
} // namespace elsa::fed

namespace elsa::fed {
namespace {

TEST(Clusters, ARunHasItsTasksOneOrKAndClientsStartInTheirTaskOrInZero) {
  run::run_config cfg;
  cfg.clients = 6;
  EXPECT_EQ(cluster_count(cfg, 3), 3u);
  EXPECT_EQ(starting_cluster(cfg, 2), 2u);
  cfg.clustering = "none";
  EXPECT_EQ(cluster_count(cfg, 3), 1u);
  EXPECT_EQ(starting_cluster(cfg, 2), 0u);
  cfg.clustering = "behaviour";
  cfg.max_clusters = 8;
  EXPECT_EQ(cluster_count(cfg, 3), 6u) << "never more than the clients";
  cfg.clusters = 4;
  EXPECT_EQ(cluster_count(cfg, 3), 4u);
  EXPECT_EQ(starting_cluster(cfg, 2), 0u);
}

} // namespace
} // namespace elsa::fed
