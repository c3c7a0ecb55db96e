// Aggregation policy: one bad update (wrong shape, NaN, inflated sample count, too stale, excluded) is
// rejected with its reason while the rest of the cluster is averaged; weights follow samples x trust x
// staleness decay, checked on the averaged values; sample counts count exactly the updates averaged.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/fed/aggregation.hpp"
#include "tests/fed/adapter_helpers.hpp"

namespace elsa::fed {
namespace {

client_update update(uint32_t client, uint32_t round, uint64_t samples, float a0, float a1, float b) {
  return {client, round, 0, samples, {f32("a", {a0, a1}), f32("b", {b})}};
}

aggregation_inputs inputs(uint32_t round) {
  aggregation_inputs in;
  in.round = round;
  in.policy.trust_weighting = true;
  in.policy.staleness_decay = 0.5;
  in.policy.max_staleness = 1;
  return in;
}

const rejected_update* rejection_of(const aggregation_result& r, uint32_t client) {
  for (const auto& x : r.rejected)
    if (x.client == client)
      return &x;
  return nullptr;
}

TEST(Aggregation, CleanUpdatesAreAveragedBySamples) {
  const std::vector<client_update> ups = {update(0, 3, 10, 1, 2, 3), update(1, 3, 30, 5, 6, 7)};
  const auto r = aggregate_updates(ups, inputs(3));
  ASSERT_EQ(r.clusters.size(), 1u);
  EXPECT_TRUE(r.rejected.empty());
  const auto& agg = r.clusters.at(0);
  EXPECT_EQ(values(agg.adapters[0]), (std::vector<float>{4, 5}));
  EXPECT_EQ(values(agg.adapters[1]), (std::vector<float>{6}));
  EXPECT_EQ(agg.samples, 40u);
  EXPECT_EQ(agg.clients, (std::vector<uint32_t>{0, 1}));
  EXPECT_DOUBLE_EQ(agg.weights.at(1), 0.75);
}

TEST(Aggregation, WrongShapeIsRejectedAndTheRestAggregated) {
  std::vector<client_update> ups = {update(0, 3, 10, 1, 2, 3), update(1, 3, 10, 5, 6, 7)};
  ups.push_back({2, 3, 0, 10, {f32("a", {9, 9, 9}), f32("b", {9})}});
  const auto r = aggregate_updates(ups, inputs(3));
  const auto* bad = rejection_of(r, 2);
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->why, rejection::wrong_shape);
  EXPECT_NE(bad->text.find("'a'"), std::string::npos) << bad->text;
  const auto& agg = r.clusters.at(0);
  EXPECT_EQ(values(agg.adapters[0]), (std::vector<float>{3, 4}));
  EXPECT_EQ(agg.samples, 20u);  // the rejected update's samples are not counted
}

TEST(Aggregation, WrongNamesAreRejected) {
  std::vector<client_update> ups = {update(0, 3, 10, 1, 2, 3)};
  ups.push_back({1, 3, 0, 10, {f32("a", {1, 2}), f32("z", {1})}});
  const auto r = aggregate_updates(ups, inputs(3));
  ASSERT_NE(rejection_of(r, 1), nullptr);
  EXPECT_EQ(rejection_of(r, 1)->why, rejection::wrong_names);
  EXPECT_EQ(r.clusters.at(0).clients, (std::vector<uint32_t>{0}));
}

TEST(Aggregation, NaNAndInfinityAreRejected) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<client_update> ups = {update(0, 3, 10, 1, 2, 3), update(1, 3, 10, nan, 0, 0),
                                          update(2, 3, 10, 0, 0, -inf)};
  const auto r = aggregate_updates(ups, inputs(3));
  ASSERT_EQ(r.rejected.size(), 2u);
  EXPECT_EQ(rejection_of(r, 1)->why, rejection::not_finite);
  EXPECT_EQ(rejection_of(r, 2)->why, rejection::not_finite);
  EXPECT_EQ(values(r.clusters.at(0).adapters[0]), (std::vector<float>{1, 2}));
}

TEST(Aggregation, HalfPrecisionInfinityIsRejected) {
  const uint16_t half_inf = 0x7C00, half_one = 0x3C00;
  const uint16_t bad[] = {half_one, half_inf};
  client_update u{0, 3, 0, 10, {{"a", messages::tensor_bytes::copy_of(messages::dtype::f16, {2}, bad, sizeof(bad))}}};
  adapter_layout layout{{"a"}, {{2}}};
  auto r = validate(u, layout, 10);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->why, rejection::not_finite);
  const uint16_t good[] = {half_one, half_one};
  u.adapters[0].tensor = messages::tensor_bytes::copy_of(messages::dtype::f16, {2}, good, sizeof(good));
  EXPECT_FALSE(validate(u, layout, 10).has_value());
}

TEST(Aggregation, InflatedSampleCountIsRejected) {
  const std::vector<client_update> ups = {update(0, 3, 10, 1, 2, 3), update(1, 3, 1000000, 100, 100, 100)};
  auto in = inputs(3);
  in.registered_samples = {{0, 10}, {1, 12}};
  const auto r = aggregate_updates(ups, in);
  ASSERT_NE(rejection_of(r, 1), nullptr);
  EXPECT_EQ(rejection_of(r, 1)->why, rejection::inflated_samples);
  EXPECT_NE(rejection_of(r, 1)->text.find("registered 12"), std::string::npos);
  EXPECT_EQ(values(r.clusters.at(0).adapters[0]), (std::vector<float>{1, 2}));
}

TEST(Aggregation, StaleUpdateIsDownWeightedByTheDecay) {
  // Client 1 trained in round 2, aggregated in round 3: weight 10 x 0.5 = 5 against client 0's 10.
  const std::vector<client_update> ups = {update(0, 3, 10, 0, 0, 0), update(1, 2, 10, 3, 6, 9)};
  const auto r = aggregate_updates(ups, inputs(3));
  const auto& agg = r.clusters.at(0);
  EXPECT_EQ(values(agg.adapters[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(values(agg.adapters[1]), (std::vector<float>{3}));
  EXPECT_EQ(agg.stale, (std::vector<uint32_t>{1}));
}

TEST(Aggregation, UpdatesOlderThanMaxStalenessOrFromTheFutureAreRejected) {
  const std::vector<client_update> ups = {update(0, 3, 10, 1, 2, 3), update(1, 1, 10, 9, 9, 9),
                                          update(2, 4, 10, 9, 9, 9)};
  const auto r = aggregate_updates(ups, inputs(3));
  EXPECT_EQ(rejection_of(r, 1)->why, rejection::too_stale);
  EXPECT_EQ(rejection_of(r, 2)->why, rejection::too_stale);
  EXPECT_EQ(r.clusters.at(0).clients, (std::vector<uint32_t>{0}));
}

TEST(Aggregation, OnlyTheNewestUpdateOfAClientCounts) {
  const std::vector<client_update> ups = {update(0, 2, 10, 9, 9, 9), update(0, 3, 10, 1, 2, 3)};
  const auto r = aggregate_updates(ups, inputs(3));
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].round, 2u);
  EXPECT_EQ(values(r.clusters.at(0).adapters[0]), (std::vector<float>{1, 2}));
}

TEST(Aggregation, TrustScalesWeightsAndExclusionRemoves) {
  const std::vector<client_update> ups = {update(0, 3, 10, 0, 0, 0), update(1, 3, 10, 4, 4, 4),
                                          update(2, 3, 10, 100, 100, 100)};
  auto in = inputs(3);
  in.trust = {{0, 1.0}, {1, 3.0}};
  in.excluded = {2};
  auto r = aggregate_updates(ups, in);
  EXPECT_EQ(rejection_of(r, 2)->why, rejection::excluded);
  EXPECT_EQ(values(r.clusters.at(0).adapters[0]), (std::vector<float>{3, 3}));  // (0 + 3*4) / 4
  // Without trust weighting the same scores change nothing.
  in.policy.trust_weighting = false;
  r = aggregate_updates(ups, in);
  EXPECT_EQ(values(r.clusters.at(0).adapters[0]), (std::vector<float>{2, 2}));
  // Zero trust gives zero weight: rejected as such.
  in.policy.trust_weighting = true;
  in.trust[1] = 0.0;
  r = aggregate_updates(ups, in);
  EXPECT_EQ(rejection_of(r, 1)->why, rejection::zero_weight);
}

TEST(Aggregation, ClustersAreAveragedApart) {
  std::vector<client_update> ups = {update(0, 3, 10, 1, 1, 1), update(1, 3, 10, 3, 3, 3)};
  ups[1].cluster = 1;
  const auto r = aggregate_updates(ups, inputs(3));
  ASSERT_EQ(r.clusters.size(), 2u);
  EXPECT_EQ(values(r.clusters.at(0).adapters[0]), (std::vector<float>{1, 1}));
  EXPECT_EQ(values(r.clusters.at(1).adapters[0]), (std::vector<float>{3, 3}));
}

TEST(Aggregation, AGivenLayoutOverridesTheFirstUpdate) {
  // The first update is the odd one: with the cluster's layout known, it is the one rejected.
  std::vector<client_update> ups = {{0, 3, 0, 10, {f32("a", {9, 9, 9}), f32("b", {9})}}, update(1, 3, 10, 1, 2, 3)};
  auto in = inputs(3);
  in.layouts[0] = layout_of(update(5, 3, 1, 0, 0, 0).adapters);
  const auto r = aggregate_updates(ups, in);
  EXPECT_EQ(rejection_of(r, 0)->why, rejection::wrong_shape);
  EXPECT_EQ(r.clusters.at(0).clients, (std::vector<uint32_t>{1}));
}

TEST(Aggregation, OneSenderMayUpdateSeveralClusters) {
  // At the cloud an edge sends one aggregate per cluster: both count, and texts name an edge.
  std::vector<client_update> ups = {update(0, 3, 10, 1, 1, 1), update(0, 3, 10, 3, 3, 3),
                                    {1, 3, 0, 10, {f32("a", {9, 9, 9}), f32("b", {9})}}};
  ups[1].cluster = 1;
  auto in = inputs(3);
  in.sender_kind = "edge";
  const auto r = aggregate_updates(ups, in);
  ASSERT_EQ(r.clusters.size(), 2u);
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].text.rfind("edge 1:", 0), 0u) << r.rejected[0].text;
}

TEST(Aggregation, Quorum) {
  EXPECT_FALSE(quorum_met(0, 0, 0.5));
  EXPECT_FALSE(quorum_met(1, 4, 0.5));
  EXPECT_TRUE(quorum_met(2, 4, 0.5));
  EXPECT_TRUE(quorum_met(1, 1, 1.0));
  EXPECT_FALSE(quorum_met(3, 4, 1.0));
}

TEST(Aggregation, FedBuffWeighsALaggingUpdateByOneOverTheRootOfOnePlusItsLag) {
  aggregation_policy p;
  p.trust_weighting = false;
  p.polynomial_staleness = true;
  p.staleness_decay = 0.25;  // not used by the polynomial weight
  EXPECT_DOUBLE_EQ(update_weight(update(0, 7, 12, 0, 0, 0), 7, {}, p), 12.0);
  EXPECT_DOUBLE_EQ(update_weight(update(0, 4, 12, 0, 0, 0), 7, {}, p), 12.0 / 2.0);  // lag 3
  EXPECT_DOUBLE_EQ(update_weight(update(0, 8, 12, 0, 0, 0), 7, {}, p), 0.0);         // from a future round
  // Averaged: samples 10 now and 10 three rounds late -> weights 10 and 5.
  auto in = inputs(7);
  in.policy = p;
  in.policy.max_staleness = 100;
  const auto r = aggregate_updates({update(0, 7, 10, 3, 0, 0), update(1, 4, 10, 0, 3, 0)}, in);
  ASSERT_EQ(r.clusters.size(), 1u);
  const auto a = values(r.clusters.at(0).adapters[0]);
  EXPECT_NEAR(a[0], 3.0 * 10 / 15, 1e-6);
  EXPECT_NEAR(a[1], 3.0 * 5 / 15, 1e-6);
}

} // namespace
} // namespace elsa::fed
