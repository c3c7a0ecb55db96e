// Behaviour fingerprints through the split path (ELSA.md 3.1): the public probes go head -> edge body ->
// tail without gradients and give the same last-token hidden states as the whole model with the client's
// and the edge slot's adapters; both halves' adapters take part; a step in progress is untouched; the
// Gaussian's shrinkage and the predictive form follow their formulas; a byzantine client's attacks do what they say.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "core/errors.hpp"
#include "core/fed/adapters.hpp"
#include "core/fed/edge_body.hpp"
#include "core/fed/federation_data.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/fed/lora_model.hpp"
#include "core/fed/split_client.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "core/train/classify.hpp"
#include "core/train/tokens.hpp"
#include "tests/fed/split_fixture.hpp"
#include "tests/test_support.hpp"

namespace elsa::fed {
namespace {

struct Fingerprint : split_resources<Fingerprint> {
  static run::run_config config() {
    torch::manual_seed(3);
    auto c = two_clients(200);
    c.probes = 40;  // two batches: 32 + 8
    return c;
  }
  static void loaded() {
    attach_probes(*data, *cfg, *tok);
  }
};

void train_steps(split_client& c, edge_body& e, int n) {
  for (int i = 0; i < n; ++i) {
    auto head = c.begin_step();
    auto out = e.forward(c.id(), head.activation, head.lengths);
    c.finish_step(e.backward(c.id(), c.tail_step(out)));
  }
}

// Runs every probe batch through the split path.
void probe_all(split_client& c, edge_body& e) {
  for (std::size_t i = 0; i < c.probe_batches(); ++i) {
    auto head = c.probe_head(i);
    c.probe_tail(i, e.probe_forward(c.id(), head.activation, head.lengths));
  }
}

torch::Tensor values(const messages::tensor_bytes& t) {
  return from_wire(t).to(torch::kFloat64);
}

// Last-token normalised hidden states of every probe through the whole model, with one bank holding the
// client's head/tail adapters and the edge slot's body adapters.
torch::Tensor whole_model_hidden(const split_client& c, const edge_body& e) {
  auto all = merge_disjoint(e.adapters(c.id()), [&] {
    std::vector<messages::named_tensor> lora;
    for (auto& nt : c.adapters())
      if (nt.name.find(".score.") == std::string::npos)
        lora.push_back(nt);
    return lora;
  }());
  auto model = (*Fingerprint::base)->module();
  auto bank = make_bank(**Fingerprint::base, *Fingerprint::cfg, block_range(0, model->n_layer()));
  bank->load(from_wire(all), "reference");
  std::vector<train::encoded> items;
  for (const auto& ids : *Fingerprint::data->probes)
    items.push_back({ids, 0});
  std::vector<const train::encoded*> ptrs;
  for (const auto& x : items)
    ptrs.push_back(&x);
  auto batch = train::make_classify_batch(ptrs, Fingerprint::tok->eot_id());
  torch::NoGradGuard no_grad;
  auto h = model->hidden(batch.ids, batch.mask, bank.get());
  auto last = batch.mask.sum(1) - 1;
  return h.index({torch::arange(h.size(0)), last}).to(torch::kFloat64);
}

TEST_F(Fingerprint, ThroughTheSplitPathItEqualsTheWholeModelWithBothHalvesAdapters) {
  split_client c(*cfg, *data, 0, *tok, *base);
  edge_body e(*cfg, *base);
  e.add_client(0, 1, 1);
  train_steps(c, e, 3);  // adapters away from their init (LoRA B = 0 would hide whether they take part)
  ASSERT_EQ(c.probe_batches(), 2u);
  probe_all(c, e);
  auto fp = c.fingerprint(4, "gaussian", 0.0, 0);
  EXPECT_EQ(fp.round, 4u);
  EXPECT_EQ(fp.client_id, 0u);
  EXPECT_EQ(fp.probe_count, 40u);
  const auto& g = std::get<messages::gaussian_fingerprint>(fp.form);
  auto ref = whole_model_hidden(c, e);
  ASSERT_EQ(ref.size(0), 40);
  EXPECT_LT((values(g.mean) - ref.mean(0)).abs().max().item<double>(), 1e-4);
  EXPECT_LT((values(g.variance) - (ref.var(0, false) + 1e-6)).abs().max().item<double>(), 1e-4);
}

TEST_F(Fingerprint, TheDisplacementFormIsTheGaussianOfWhatTheAdaptersChangedProbeByProbe) {
  split_client c(*cfg, *data, 0, *tok, *base);
  edge_body e(*cfg, *base);
  e.add_client(0, 1, 1);
  // At PEFT's init (LoRA B = 0) the adapted model is the base: nothing moved.
  probe_all(c, e);
  const auto fresh = std::get<messages::gaussian_fingerprint>(c.fingerprint(0, "displacement", 0.0, 0).form);
  EXPECT_LT(values(fresh.mean).abs().max().item<double>(), 1e-5);
  EXPECT_LT(values(fresh.variance).max().item<double>(), 1e-5);
  // Trained: the Gaussian of (whole model's state - base's state) per probe, not of the states themselves.
  const auto base_states = whole_model_hidden(c, e);  // still the base
  train_steps(c, e, 3);
  probe_all(c, e);
  const auto g = std::get<messages::gaussian_fingerprint>(c.fingerprint(1, "displacement", 0.0, 0).form);
  const auto moved = whole_model_hidden(c, e) - base_states;
  EXPECT_GT(moved.abs().max().item<double>(), 1e-3) << "three steps move the states";
  EXPECT_LT((values(g.mean) - moved.mean(0)).abs().max().item<double>(), 1e-4);
  EXPECT_LT((values(g.variance) - (moved.var(0, false) + 1e-6)).abs().max().item<double>(), 1e-4);
}

TEST_F(Fingerprint, TheEdgeSlotsAndTheClientsAdaptersBothChangeIt) {
  split_client c(*cfg, *data, 0, *tok, *base);
  edge_body e(*cfg, *base);
  e.add_client(0, 1, 1);
  probe_all(c, e);
  auto before = values(std::get<messages::gaussian_fingerprint>(c.fingerprint(0, "gaussian", 0.1, 0).form).mean);
  // Train only the edge slot's copy: a second slot trains, its body adapters go into slot 0.
  split_client other(*cfg, *data, 1, *tok, *base);
  e.add_client(1, 1, 1);
  train_steps(other, e, 3);
  e.load_adapters(0, e.adapters(1));
  probe_all(c, e);
  auto edge_changed = values(std::get<messages::gaussian_fingerprint>(c.fingerprint(0, "gaussian", 0.1, 0).form).mean);
  EXPECT_GT((edge_changed - before).abs().max().item<double>(), 1e-4) << "the body slot takes part";
  c.load_adapters(other.adapters());  // same task: head/tail adapters and classifier fit
  probe_all(c, e);
  auto client_changed = values(std::get<messages::gaussian_fingerprint>(c.fingerprint(0, "gaussian", 0.1, 0).form).mean);
  EXPECT_GT((client_changed - edge_changed).abs().max().item<double>(), 1e-4) << "the head and tail take part";
}

TEST_F(Fingerprint, AProbeLeavesAStepInProgressAsItWas) {
  // Two identical pairs; one probes between the edge's forward and backward of a step.
  torch::manual_seed(11);
  split_client a(*cfg, *data, 0, *tok, *base);
  torch::manual_seed(11);
  split_client b(*cfg, *data, 0, *tok, *base);
  edge_body ea(*cfg, *base), eb(*cfg, *base);
  ea.add_client(0, 1, 1);
  eb.add_client(0, 1, 1);
  auto ha = a.begin_step();
  auto hb = b.begin_step();
  auto oa = ea.forward(0, ha.activation, ha.lengths);
  auto ob = eb.forward(0, hb.activation, hb.lengths);
  auto head = b.probe_head(0);
  b.probe_tail(0, eb.probe_forward(0, head.activation, head.lengths));
  auto ga = ea.backward(0, a.tail_step(oa));
  auto gb = eb.backward(0, b.tail_step(ob));
  EXPECT_EQ(a.finish_step(ga), b.finish_step(gb));
  EXPECT_TRUE(values(ga).equal(values(gb))) << "the head gradient";
  auto ad = a.adapters(), bd = b.adapters();
  ASSERT_EQ(ad.size(), bd.size());
  for (std::size_t i = 0; i < ad.size(); ++i)
    EXPECT_TRUE(values(ad[i].tensor).equal(values(bd[i].tensor))) << ad[i].name;
}

TEST_F(Fingerprint, ShrinkagePullsEachVarianceTowardTheirMean) {
  split_client c(*cfg, *data, 0, *tok, *base);
  edge_body e(*cfg, *base);
  e.add_client(0, 1, 1);
  probe_all(c, e);
  auto raw = values(std::get<messages::gaussian_fingerprint>(c.fingerprint(0, "gaussian", 0.0, 0).form).variance) - 1e-6;
  probe_all(c, e);
  auto shrunk = values(std::get<messages::gaussian_fingerprint>(c.fingerprint(0, "gaussian", 0.25, 0).form).variance);
  auto expected = 0.75 * raw + 0.25 * raw.mean() + 1e-6;
  EXPECT_LT((shrunk - expected).abs().max().item<double>(), 1e-5);
  EXPECT_GT(shrunk.min().item<double>(), 0.0);
}

TEST_F(Fingerprint, PredictiveRowsAreDistributionsOverTheSharedVocabulary) {
  split_client c(*cfg, *data, 0, *tok, *base);
  edge_body e(*cfg, *base);
  e.add_client(0, 1, 1);
  probe_all(c, e);
  auto fp = c.fingerprint(0, "predictive", 0.0, 64);
  auto p = values(std::get<messages::predictive_fingerprint>(fp.form).probs);
  ASSERT_EQ(p.sizes().vec(), (std::vector<int64_t>{40, 64}));
  EXPECT_LT((p.sum(1) - 1).abs().max().item<double>(), 1e-5);
  EXPECT_GT(p.min().item<double>(), 0.0);
}

TEST_F(Fingerprint, MissingBatchesAndBadShapesAreErrors) {
  split_client c(*cfg, *data, 0, *tok, *base);
  edge_body e(*cfg, *base);
  e.add_client(0, 1, 1);
  EXPECT_THROW(c.fingerprint(0, "gaussian", 0.1, 0), elsa::error) << "no batch in";
  auto head = c.probe_head(0);
  c.probe_tail(0, e.probe_forward(0, head.activation, head.lengths));
  EXPECT_THROW(c.fingerprint(0, "gaussian", 0.1, 0), elsa::error) << "one of two batches in";
  EXPECT_THROW(c.probe_head(2), elsa::error);
  auto other = c.probe_head(1);
  EXPECT_THROW(c.probe_tail(0, e.probe_forward(0, other.activation, other.lengths)), elsa::error)
    << "batch 1's output for batch 0";
}

} // namespace
} // namespace elsa::fed

namespace elsa::fed {
namespace {

// The attacks of a byzantine client (split_client::set_byzantine), on its own adapters.
TEST_F(Fingerprint, AnUpdateAttackerReportsTheRoundsStartPlusScaledOrNoiseUpdates) {
  for (const std::string mode : {"scaled_update", "random_update"}) {
    split_client c(*cfg, *data, 0, *tok, *base);
    edge_body e(*cfg, *base);
    e.add_client(0, 1, 1);
    c.set_byzantine(mode, 3.0, 42);
    c.begin_round();
    const auto start = c.adapters();
    train_steps(c, e, 2);
    const auto trained = c.adapters();
    c.end_round();
    const auto attack = c.adapters();
    ASSERT_EQ(attack.size(), start.size());
    for (std::size_t i = 0; i < start.size(); ++i) {
      const auto s0 = values(start[i].tensor), t = values(trained[i].tensor), a = values(attack[i].tensor);
      const double update = (t - s0).norm().item<double>();
      if (mode == "scaled_update")
        EXPECT_LT((a - (s0 + 3.0 * (t - s0))).abs().max().item<double>(), 1e-5) << start[i].name;
      else
        EXPECT_NEAR((a - s0).norm().item<double>(), 3.0 * update, 1e-4 + 1e-3 * update) << start[i].name;
    }
  }
  split_client honest(*cfg, *data, 0, *tok, *base);
  honest.begin_round();
  const auto before = honest.adapters();
  honest.end_round();
  const auto after = honest.adapters();
  for (std::size_t i = 0; i < before.size(); ++i)
    EXPECT_TRUE(values(before[i].tensor).equal(values(after[i].tensor))) << "an honest client's end_round changes nothing";
  EXPECT_THROW(honest.set_byzantine("nice", 1.0, 1), elsa::error);
}

TEST_F(Fingerprint, ALabelFlipperSendsTheEdgeOtherGradientsFromTheSameBatch) {
  torch::manual_seed(5);
  split_client a(*cfg, *data, 0, *tok, *base);
  torch::manual_seed(5);
  split_client b(*cfg, *data, 0, *tok, *base);
  b.set_byzantine("label_flip", 1.0, 1);
  edge_body ea(*cfg, *base), eb(*cfg, *base);
  ea.add_client(0, 1, 1);
  eb.add_client(0, 1, 1);
  auto ha = a.begin_step(), hb = b.begin_step();
  EXPECT_TRUE(values(ha.activation).equal(values(hb.activation))) << "the same batch, the same head";
  auto ga = a.tail_step(ea.forward(0, ha.activation, ha.lengths));
  auto gb = b.tail_step(eb.forward(0, hb.activation, hb.lengths));
  EXPECT_GT((values(ga) - values(gb)).abs().max().item<double>(), 1e-6) << "trained toward other labels";
}

} // namespace
} // namespace elsa::fed
