// Sketched adapter updates (core/fed/sketched.hpp): the plan follows the config and the cluster's layout,
// deltas and their application invert each other, a client's part and the edge's body part add up in one
// table to the sketch of the whole update, averaging aggregable sets averages the updates, the receiver's
// error feedback keeps what its decodes did not apply, a linear decode feeds nothing back, and an edge's cloud
// upload carries each of its rounds' tables once under either decode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "core/errors.hpp"
#include "core/fed/aggregation.hpp"
#include "core/fed/sketched.hpp"

namespace elsa::fed {
namespace {

messages::named_tensor f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v) {
  return {name, messages::tensor_bytes::copy_of(messages::dtype::f32, std::move(shape), v.data(), v.size() * 4)};
}

std::vector<float> vals(const messages::named_tensor& t) {
  std::vector<float> out(t.tensor.size_bytes() / 4);
  std::memcpy(out.data(), t.tensor.data(), t.tensor.size_bytes());
  return out;
}

std::vector<float> noise(std::mt19937_64& rng, std::size_t n, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v)
    x = d(rng);
  return v;
}

// A cluster set: two "head/tail" LoRA tensors, one "body" tensor and a task head (sorted by name).
adapter_set cluster(std::mt19937_64& rng) {
  return {f32("base_model.model.score.spam.weight", {2, 4}, noise(rng, 8, 1)),
          f32("base_model.model.transformer.h.0.lora_A", {4, 8}, noise(rng, 32, 1)),
          f32("base_model.model.transformer.h.1.lora_A", {4, 8}, noise(rng, 32, 1)),
          f32("base_model.model.transformer.h.2.lora_A", {4, 8}, noise(rng, 32, 1))};
}

// `set` with `dx` added to entry i's values.
adapter_set moved(adapter_set set, std::size_t i, const std::vector<float>& dx) {
  auto v = vals(set[i]);
  for (std::size_t j = 0; j < v.size(); ++j)
    v[j] += dx[j];
  set[i] = f32(set[i].name, set[i].tensor.shape(), v);
  return set;
}

// One round's update of a cluster whose adapters were `start`, split as it is trained: the client holds
// entries 0 (its head), 1 and 3 (its blocks), the edge's body slot entry 2; `whole` is the cluster's set
// with every entry moved.
struct split_update {
  adapter_set start, client_now, body_now, whole;
};

split_update a_split_update(std::mt19937_64& rng) {
  split_update u;
  u.start = cluster(rng);
  u.client_now = moved(moved(moved(u.start, 0, noise(rng, 8, 1)), 1, noise(rng, 32, 0.1f)), 3, noise(rng, 32, 0.1f));
  u.client_now.erase(u.client_now.begin() + 2);
  u.body_now = {moved(u.start, 2, noise(rng, 32, 0.1f))[2]};
  u.whole = {u.client_now[0], u.client_now[1], u.body_now[0], u.client_now[2]};
  return u;
}

float largest_gap(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  return a.size() == b.size() ? worst : std::numeric_limits<float>::infinity();
}

run::run_config sketch_config() {
  run::run_config cfg;
  cfg.adapters = "sketch";
  cfg.sketch_rows = 5;
  cfg.sketch_ratio = 4;
  return cfg;
}

// A 5 x 30 table (k = 10 for top_k) under the given decode.
run::run_config small_table_config(const std::string& decode) {
  auto cfg = sketch_config();
  cfg.sketch_cols = 30;
  cfg.sketch_k = 10;
  cfg.sketch_decode = decode;
  return cfg;
}

TEST(Sketched, ThePlanFollowsTheConfigAndTheLora) {
  std::mt19937_64 rng{1};
  auto cfg = sketch_config();
  const auto p = plan_sketch(cfg, cluster(rng));
  EXPECT_EQ(p.layout.size(), 3u);  // LoRA only: the head travels exact
  EXPECT_EQ(p.shape.dim, 96u);
  EXPECT_EQ(p.shape.rows, 5u);
  EXPECT_EQ(p.shape.cols, 5u);     // ceil(96 / (5 x 4))
  EXPECT_EQ(p.k, 1u);              // sketch_k = 0: cols / rows
  cfg.sketch_cols = 40;
  cfg.sketch_k = 7;
  const auto q = plan_sketch(cfg, cluster(rng));
  EXPECT_EQ(q.shape.cols, 40u);
  EXPECT_EQ(q.k, 7u);
  EXPECT_EQ(q.shape.seed, p.shape.seed);  // from [run] seed: every party agrees
  EXPECT_TRUE(p.linear);                  // sketch_decode defaults to linear ...
  EXPECT_DOUBLE_EQ(p.gain, 6.0);
  cfg.sketch_decode = "top_k";
  cfg.sketch_gain = 2.0;
  const auto r = plan_sketch(cfg, cluster(rng));
  EXPECT_FALSE(r.linear);
  EXPECT_DOUBLE_EQ(r.gain, 2.0);
  EXPECT_THROW(plan_sketch(cfg, {cluster(rng)[0]}), elsa::error);  // a head only: nothing to sketch
}

TEST(Sketched, PartsAddUpToTheSketchOfTheWholeUpdate) {
  std::mt19937_64 rng{2};
  auto cfg = sketch_config();
  cfg.sketch_cols = 50;
  const auto [start, client_now, body_now, whole] = a_split_update(rng);
  const auto plan = plan_sketch(cfg, start);
  const auto sk = sketch_update(plan, client_now, start);
  EXPECT_EQ(plan_mismatch(plan, sk), "");
  ASSERT_EQ(sk.exact.size(), 1u);  // the head, exact
  EXPECT_EQ(vals(sk.exact[0]), vals(client_now[0]));
  auto table = values(sk);
  compress::merge(table, compress::sketch(plan.shape, lora_delta(plan, body_now, start)), plan.shape);
  const auto expected = compress::sketch(plan.shape, lora_delta(plan, whole, start));
  ASSERT_EQ(table.size(), expected.size());
  for (std::size_t i = 0; i < table.size(); ++i)
    EXPECT_NEAR(table[i], expected[i], 1e-5);
  // apply_delta inverts lora_delta.
  const auto back = apply_delta(plan, start, lora_delta(plan, whole, start));
  for (std::size_t i = 1; i < 4; ++i) {
    const auto a = vals(back[i]), b = vals(whole[i]);
    for (std::size_t j = 0; j < a.size(); ++j)
      EXPECT_NEAR(a[j], b[j], 1e-6);
  }
  EXPECT_EQ(vals(back[0]), vals(start[0]));  // the head is not the delta's
  // A sketch made with another plan is named, not added.
  auto other = sk;
  other.seed += 1;
  EXPECT_NE(plan_mismatch(plan, other).find("seed"), std::string::npos);
  other = sk;
  other.layout.pop_back();
  EXPECT_NE(plan_mismatch(plan, other).find("LoRA tensors"), std::string::npos);
}

// The edge's two table operations: a client's sketch plus its body slot's part (dense client updates are
// sketched there too), and the cloud-round upload = averaged table + what edge rounds applied + error.
TEST(Sketched, TheEdgesTablesAreTheSketchesOfTheWholeUpdates) {
  std::mt19937_64 rng{5};
  auto cfg = sketch_config();
  cfg.sketch_cols = 50;
  const auto [start, client_now, body_now, whole] = a_split_update(rng);
  const auto plan = plan_sketch(cfg, start);
  const auto want = compress::sketch(plan.shape, lora_delta(plan, whole, start));
  messages::adapter_update up;
  up.form = sketch_update(plan, client_now, start);
  messages::adapter_update dense_up;
  dense_up.form = client_now;
  for (const auto* u : {&up, &dense_up}) {
    const auto set = client_update_at_edge(plan, *u, body_now, start);
    const auto got = table_of(plan, set);
    for (std::size_t i = 0; i < want.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 1e-5);
    ASSERT_EQ(heads_of(set).size(), 1u);
    EXPECT_EQ(vals(heads_of(set)[0]), vals(client_now[0]));
  }
  auto wrong = std::get<messages::count_sketch>(up.form);
  wrong.cols += 1;
  up.form = wrong;
  EXPECT_THROW(client_update_at_edge(plan, up, body_now, start), elsa::error);
  // Cloud round: the edge's rounds moved `start` away from `global`; the upload is the sketch of the whole
  // movement since global, plus the error table.
  const auto global = moved(start, 3, noise(rng, 32, 0.1f));
  const std::vector<float> error(plan.shape.table_size(), 0.25f);
  const auto up_table = edge_upload_table(plan, want, start, global, error);
  auto expected = compress::sketch(plan.shape, lora_delta(plan, whole, global));
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(up_table[i], expected[i] + 0.25f, 1e-4);
  EXPECT_EQ(edge_upload_table(plan, want, start, start, {}), want);
}

TEST(Sketched, AveragingAggregableSetsAveragesTheUpdates) {
  std::mt19937_64 rng{3};
  const auto cfg = sketch_config();
  const auto start = cluster(rng);
  const auto plan = plan_sketch(cfg, start);
  std::vector<client_update> ups;
  std::vector<std::vector<float>> deltas;
  for (uint32_t c = 0; c < 3; ++c) {
    auto now = moved(moved(start, 1, noise(rng, 32, 1)), 0, noise(rng, 8, 1));
    deltas.push_back(lora_delta(plan, now, start));
    ups.push_back({c, 0, 0, 10 * (c + 1), aggregable(plan, compress::sketch(plan.shape, deltas.back()), now)});
  }
  aggregation_inputs in;
  in.layouts[0] = layout_of(aggregable(plan, {}, start));
  const auto agg = aggregate_updates(ups, in);
  ASSERT_TRUE(agg.rejected.empty()) << agg.rejected[0].text;
  std::vector<float> mean(plan.shape.dim, 0.0f);
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t i = 0; i < mean.size(); ++i)
      mean[i] += deltas[c][i] * static_cast<float>(c + 1) / 6.0f;
  const auto got = table_of(plan, agg.clusters.at(0).adapters);
  const auto want = compress::sketch(plan.shape, mean);
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-4);
  EXPECT_EQ(heads_of(agg.clusters.at(0).adapters).size(), 1u);
  // A table of the wrong size is rejected by the layout, not averaged.
  ups[1].adapters.back() = f32(k_table_name, {1, 3}, {1, 2, 3});
  EXPECT_EQ(aggregate_updates(ups, in).rejected.size(), 1u);
}

// What an edge applied plus what its decodes left is the sketch of everything it decoded, under either decode:
// its cloud upload relies on that. Under top_k the leftovers are also fed back into the next decode.
void edge_leftovers_add_up(const std::string& decode) {
  std::mt19937_64 rng{4};
  const auto cfg = small_table_config(decode);
  const auto start = cluster(rng);
  const auto plan = plan_sketch(cfg, start);
  std::vector<float> error, applied(plan.shape.dim, 0.0f), sent(plan.shape.dim, 0.0f);
  for (int round = 0; round < 4; ++round) {
    const auto update = noise(rng, plan.shape.dim, 1);
    for (std::size_t i = 0; i < sent.size(); ++i)
      sent[i] += update[i];
    const auto table = compress::sketch(plan.shape, update);
    const auto delta = decode_with_feedback(plan, error, table, decoder::edge);
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < delta.size(); ++i) {
      applied[i] += delta[i];
      nonzero += delta[i] != 0.0f;
    }
    if (decode == "top_k")
      EXPECT_LE(nonzero, 10u);
    else  // the leftovers are not fed back: this round's table alone was decoded
      EXPECT_EQ(delta, compress::linear_decode(plan.shape, table, cfg.sketch_gain));
  }
  auto total = compress::sketch(plan.shape, applied);
  compress::merge(total, error, plan.shape);
  const auto want = compress::sketch(plan.shape, sent);
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(total[i], want[i], 1e-3) << decode;
}

TEST(Sketched, ErrorFeedbackKeepsWhatTheDecodesLeft) {
  edge_leftovers_add_up("top_k");
}

TEST(Sketched, AnEdgesLinearDecodesKeepWhatTheyLeftForTheUploadOnly) {
  edge_leftovers_add_up("linear");
}

TEST(Sketched, TheCloudsLinearDecodeKeepsNothing) {
  std::mt19937_64 rng{5};
  const auto cfg = small_table_config("linear");
  const auto plan = plan_sketch(cfg, cluster(rng));
  ASSERT_TRUE(plan.linear);
  const auto table = compress::sketch(plan.shape, noise(rng, plan.shape.dim, 1));
  std::vector<float> error(plan.shape.table_size(), 0.5f);  // e.g. left over from a top_k decode
  const auto delta = decode_with_feedback(plan, error, table, decoder::cloud);
  EXPECT_TRUE(error.empty());
  EXPECT_EQ(delta, compress::linear_decode(plan.shape, table, cfg.sketch_gain));
}

TEST(Sketched, AnEdgesCloudUploadIsTheSumOfItsRoundsTablesUnderEitherDecode) {
  // kappa2 = 2: the edge decodes edge round 1's averaged table and its clients go on from that; in the cloud
  // round it sends up round 2's table plus what round 1 applied and left. The cloud must get t1 + t2 (each
  // edge round's update once), not t1 scaled by the decode's gain.
  for (const std::string decode : {"linear", "top_k"}) {
    std::mt19937_64 rng{6};
    const auto cfg = small_table_config(decode);
    const auto global = cluster(rng);
    const auto plan = plan_sketch(cfg, global);
    const auto t1 = compress::sketch(plan.shape, noise(rng, plan.shape.dim, 1));
    const auto t2 = compress::sketch(plan.shape, noise(rng, plan.shape.dim, 1));
    std::vector<float> error;
    const auto current = decode_update(plan, global, error, aggregable(plan, t1, global), decoder::edge);
    EXPECT_GT(largest_gap(lora_delta(plan, current, global), std::vector<float>(plan.shape.dim, 0.0f)), 0.0f);
    const auto up = edge_upload_table(plan, t2, current, global, error);
    auto want = t1;
    compress::merge(want, t2, plan.shape);
    EXPECT_LT(largest_gap(up, want), 1e-4f) << decode;
  }
}

} // namespace
} // namespace elsa::fed
