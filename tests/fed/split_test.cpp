// The client and edge halves of U-shaped split training on real spam data with the shipped model: tensors
// cross without copies, training lowers the loss, an edge's per-client slots are independent (so steps of
// different clients can interleave), and bad shapes are errors, not crashes.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "core/errors.hpp"
#include "core/fed/adapters.hpp"
#include "core/fed/edge_body.hpp"
#include "core/fed/evaluator.hpp"
#include "core/fed/federation_data.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/fed/lora_model.hpp"
#include "core/fed/split_client.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "core/train/tokens.hpp"
#include "tests/fed/split_fixture.hpp"
#include "tests/test_support.hpp"

namespace elsa::fed {
namespace {


struct SplitTraining : split_resources<SplitTraining> {
  static run::run_config config() {
    return two_clients(400);
  }
};

double step(split_client& c, edge_body& e) {
  auto head = c.begin_step();
  auto out = e.forward(c.id(), head.activation, head.lengths);
  auto grad = c.tail_step(out);
  return c.finish_step(e.backward(c.id(), grad));
}

TEST(Bridge, TensorsCrossWithoutCopies) {
  auto t = torch::randn({2, 3, 4});
  auto wire = to_wire(t);
  EXPECT_EQ(static_cast<const void*>(wire.data()), t.data_ptr());
  EXPECT_EQ(wire.shape(), (std::vector<int64_t>{2, 3, 4}));
  auto back = from_wire(wire);
  EXPECT_EQ(back.data_ptr(), static_cast<const void*>(wire.data()));
  EXPECT_TRUE(torch::equal(back, t));
  // f16 on the wire is widened to f32.
  auto h = t.to(torch::kFloat16).contiguous();
  auto hw = messages::tensor_bytes::view_of(messages::dtype::f16, {2, 3, 4}, h.data_ptr(), 48, nullptr);
  EXPECT_TRUE(torch::allclose(from_wire(hw), t, 1e-2, 1e-2));
  // A byte length that does not match the shape is an error.
  auto bad = messages::tensor_bytes::view_of(messages::dtype::f32, {2, 3, 5}, t.data_ptr(), 96, nullptr);
  EXPECT_THROW(from_wire(bad), elsa::error);
}

// [compress] activations = fp16 / bf16: one converted copy, half the bytes, within the type's precision.
TEST(Bridge, HalfPrecisionRoundTripsWithinItsPrecision) {
  torch::manual_seed(3);
  auto t = torch::randn({4, 16, 32}) * 10;
  // Unit roundoff u = 2^-(fraction bits + 1): 2^-11 for f16 (10 bits), 2^-8 for bf16 (7 bits).
  for (auto [type, u] : {std::pair{messages::dtype::f16, 1.0 / 2048}, std::pair{messages::dtype::bf16, 1.0 / 256}}) {
    auto wire = to_wire(t, type);
    EXPECT_EQ(wire.type(), type);
    EXPECT_EQ(wire.size_bytes(), static_cast<std::size_t>(t.numel()) * 2);
    auto back = from_wire(wire);
    // Round to nearest: relative error at most u (for normal numbers; |t| >= 1e-3 is normal in both).
    const auto rel = ((back - t).abs() / t.abs().clamp_min(1e-3)).max().item<double>();
    EXPECT_LE(rel, u * 1.0001) << messages::to_string(type);
    EXPECT_GT(rel, 0.0) << "a real conversion, not an f32 copy";
  }
  EXPECT_EQ(to_wire(t, messages::dtype::f32).type(), messages::dtype::f32);
  EXPECT_EQ(wire_type("bf16"), messages::dtype::bf16);
  EXPECT_THROW(wire_type("fp8"), elsa::error);
}

TEST_F(SplitTraining, TrainingThroughTheSplitLowersTheLoss) {
  split_client c(*cfg, *data, 0, *tok, *base);
  edge_body e(*cfg, *base);
  e.add_client(0, cfg->head_blocks, cfg->tail_blocks);
  double first = 0, last = 0;
  for (int i = 0; i < 30; ++i) {
    const double loss = step(c, e);
    (i < 10 ? first : last) += i < 10 || i >= 20 ? loss : 0.0;
  }
  EXPECT_LT(last, first) << "mean loss of steps 21-30 vs 1-10";
}

// fp16 on the wire and SS-OP noise on the head's activations: the client sends half the bytes, the noise
// changes what the edge sees, and training still lowers the loss.
TEST_F(SplitTraining, Fp16AndSsopStillTrain) {
  auto cfg2 = *cfg;
  cfg2.activations = "fp16";
  cfg2.ssop = true;
  cfg2.ssop_k = 8;
  cfg2.ssop_sigma = 0.3;
  cfg2.probes = 64;
  auto data2 = *data;
  attach_probes(data2, cfg2, *tok);
  split_client plain(*cfg, *data, 0, *tok, *base);
  split_client c(cfg2, data2, 0, *tok, *base);
  edge_body e(cfg2, *base);
  e.add_client(0, cfg2.head_blocks, cfg2.tail_blocks);
  const auto a = c.begin_step();
  const auto p = plain.begin_step();  // the same batch: same seed, same client
  EXPECT_EQ(a.activation.type(), messages::dtype::f16);
  EXPECT_EQ(a.activation.size_bytes() * 2, p.activation.size_bytes());
  const auto diff = (from_wire(a.activation) - from_wire(p.activation)).norm().item<double>();
  const auto norm = from_wire(p.activation).norm().item<double>();
  EXPECT_NEAR(diff / norm, 0.3, 0.05) << "noise of sigma x the activation's norm";
  c.abandon_step();
  double first = 0, last = 0;
  for (int i = 0; i < 30; ++i) {
    const double loss = step(c, e);
    (i < 10 ? first : last) += i < 10 || i >= 20 ? loss : 0.0;
  }
  EXPECT_LT(last, first) << "mean loss of steps 21-30 vs 1-10";
}

TEST_F(SplitTraining, EdgeSlotsAreIndependentSoClientsCanInterleave) {
  // Interleaved: both clients' forwards, then both backwards, on one edge.
  split_client a0(*cfg, *data, 0, *tok, *base), a1(*cfg, *data, 1, *tok, *base);
  edge_body shared(*cfg, *base);
  // One after the other: each client on its own edge.
  split_client b0(*cfg, *data, 0, *tok, *base), b1(*cfg, *data, 1, *tok, *base);
  edge_body e0(*cfg, *base), e1(*cfg, *base);
  // Same starting adapters everywhere, all blocks (each participant draws its own LoRA init).
  const auto start = initial_adapters(**base, *cfg, data->num_labels(0), 99);
  for (auto* c : {&a0, &a1, &b0, &b1})
    c->load_adapters(start);
  for (uint32_t id : {0u, 1u}) {
    shared.add_client(id, 1, 1);
    shared.load_adapters(id, start);
  }
  e0.add_client(0, 1, 1);
  e0.load_adapters(0, start);
  e1.add_client(1, 1, 1);
  e1.load_adapters(1, start);
  for (int i = 0; i < 3; ++i) {
    auto h0 = a0.begin_step();
    auto h1 = a1.begin_step();
    auto o0 = shared.forward(0, h0.activation, h0.lengths);
    auto o1 = shared.forward(1, h1.activation, h1.lengths);
    auto g1 = a1.tail_step(o1);
    auto g0 = a0.tail_step(o0);
    a1.finish_step(shared.backward(1, g1));
    a0.finish_step(shared.backward(0, g0));
  }
  for (int i = 0; i < 3; ++i)
    step(b0, e0);
  for (int i = 0; i < 3; ++i)
    step(b1, e1);
  // Equal up to float rounding (BLAS may sum in another order for differently aligned buffers); a slot
  // seeing the other client's gradient or optimizer state would differ by ~lr = 2e-3.
  EXPECT_LT(max_diff(shared.adapters(0), e0.adapters(0)), 1e-6);
  EXPECT_LT(max_diff(shared.adapters(1), e1.adapters(1)), 1e-6);
  EXPECT_LT(max_diff(a0.adapters(), b0.adapters()), 1e-6);
  EXPECT_LT(max_diff(a1.adapters(), b1.adapters()), 1e-6);
  auto before = std::make_unique<split_client>(*cfg, *data, 0, *tok, *base);
  before->load_adapters(start);
  EXPECT_GT(max_diff(a0.adapters(), before->adapters()), 1e-4) << "the steps changed the adapters";
}

// [split] mode = "dynamic" (ELSA.md 3.2): the split only decides who computes. Without gradient clipping (which
// each side applies to its own adapters) training at (1, 1) and at (2, 1) gives the same model; and a block
// that changes side at a round boundary keeps its trained values, because both sides load the round's
// aggregate (every block) after the re-split, as the client and edge actors do.
TEST_F(SplitTraining, WhereABlockTrainsDoesNotChangeTheModelAndItMovesWithItsValues) {
  auto no_clip = *cfg;
  no_clip.grad_clip = 0.0;
  const auto start = initial_adapters(**base, no_clip, data->num_labels(0), 5);
  split_client c11(no_clip, *data, 0, *tok, *base), c21(no_clip, *data, 0, *tok, *base);
  c21.set_split(2, 1);
  edge_body e11(no_clip, *base), e21(no_clip, *base);
  EXPECT_TRUE(e11.add_client(0, 1, 1));
  EXPECT_FALSE(e11.add_client(0, 1, 1)) << "the same split again: nothing rebuilt";
  EXPECT_TRUE(e21.add_client(0, 2, 1));
  c11.load_adapters(start);
  c21.load_adapters(start);
  e11.load_adapters(0, start);
  e21.load_adapters(0, start);
  for (int i = 0; i < 3; ++i) {
    step(c11, e11);
    step(c21, e21);
  }
  const auto at11 = merge_disjoint(c11.adapters(), e11.adapters(0));
  const auto at21 = merge_disjoint(c21.adapters(), e21.adapters(0));
  EXPECT_LT(max_diff(at11, at21), 1e-5) << "block 1 trained on the edge or on the client: the same model";
  // Re-split the (1, 1) pair to (2, 1): block 1 leaves the edge for the client, which takes it from the
  // round's aggregate; the blocks it ran before keep their own values even where the set differs (here the
  // set carries the start values for blocks 0 and 3).
  auto block_of = [](const std::vector<messages::named_tensor>& set, int64_t b) {
    std::vector<messages::named_tensor> out;
    for (const auto& nt : set)
      if (lora_block(nt.name) == b)
        out.push_back(nt);
    return out;
  };
  std::vector<messages::named_tensor> mixed;
  for (const auto& nt : at11)
    if (lora_block(nt.name) == 1 || lora_block(nt.name) == 2)
      mixed.push_back(nt);
  for (const auto& nt : start)
    if (lora_block(nt.name) == 0 || lora_block(nt.name) == 3)
      mixed.push_back(nt);
  const auto before = c11.adapters();
  EXPECT_TRUE(c11.set_split(2, 1, mixed));
  EXPECT_FALSE(c11.set_split(2, 1, mixed)) << "the same split again: nothing changes";
  EXPECT_EQ(max_diff(block_of(c11.adapters(), 1), block_of(at11, 1)), 0.0) << "block 1 moved with its values";
  EXPECT_EQ(max_diff(block_of(c11.adapters(), 0), block_of(before, 0)), 0.0) << "block 0 kept its own";
  EXPECT_EQ(max_diff(block_of(c11.adapters(), 3), block_of(before, 3)), 0.0) << "block 3 kept its own";
  EXPECT_GT(max_diff(block_of(mixed, 0), block_of(before, 0)), 1e-4) << "the set's block 0 was different";
  EXPECT_TRUE(e11.add_client(0, 2, 1, mixed));  // the body is block 2 now: nothing moves in
  EXPECT_EQ(max_diff(e11.adapters(0), block_of(at11, 2)), 0.0);
  // Without the set a moved block starts from PEFT's init (B = 0), not from what was trained.
  split_client fresh(no_clip, *data, 0, *tok, *base);
  fresh.load_adapters(at11);
  fresh.set_split(1, 2);
  EXPECT_GT(max_diff(block_of(fresh.adapters(), 2), block_of(at11, 2)), 1e-4);
  // Back to (1, 1): block 1 moves to the edge, which takes it from the set.
  EXPECT_TRUE(c11.set_split(1, 1, at11));
  EXPECT_TRUE(e11.add_client(0, 1, 1, at11));
  EXPECT_EQ(max_diff(block_of(e11.adapters(0), 1), block_of(at11, 1)), 0.0);
  EXPECT_TRUE(std::isfinite(step(c11, e11))) << "training goes on at the new split";
}

TEST_F(SplitTraining, BadShapesAndOrderAreErrors) {
  split_client c(*cfg, *data, 0, *tok, *base);
  edge_body e(*cfg, *base);
  e.add_client(0, 1, 1);
  auto junk = torch::zeros({2, 5, 7});
  EXPECT_THROW(e.forward(0, to_wire(junk), {5, 5}), elsa::error);       // wrong width
  EXPECT_THROW(e.forward(3, to_wire(junk), {5, 5}), elsa::error);       // unknown client
  EXPECT_THROW(e.backward(0, to_wire(junk)), elsa::error);              // no forward pending
  EXPECT_THROW(c.tail_step(to_wire(junk)), elsa::error);                // no step in progress
  auto head = c.begin_step();
  EXPECT_THROW(e.forward(0, head.activation, {1}), elsa::error);        // lengths vs batch
  EXPECT_THROW(c.tail_step(to_wire(junk)), elsa::error);                // shape vs batch
  EXPECT_THROW(c.set_split(0, 1), elsa::error);
  EXPECT_THROW(e.add_client(0, 3, 3), elsa::error);                     // a + b > n_layer
  EXPECT_THROW(e.add_client(0, 2, 2), elsa::error);                     // a + b = n_layer: an empty body
  try {
    c.set_split(3, 1);
    FAIL() << "a + b = n_layer";
  } catch (const elsa::error& err) {
    EXPECT_NE(std::string(err.what()).find("[split]"), std::string::npos) << err.what();
  }
}

TEST_F(SplitTraining, ParticipantsShareOneBaseAndNeverWriteIt) {
  const auto before = model::base_state((*base)->module());
  std::map<std::string, torch::Tensor> copy;
  for (const auto& [k, v] : before)
    copy[k] = v.clone();
  {
    split_client c0(*cfg, *data, 0, *tok, *base), c1(*cfg, *data, 1, *tok, *base);
    edge_body e(*cfg, *base);
    e.add_client(0, 1, 1);
    e.add_client(1, 1, 1);
    EXPECT_GE(base->use_count(), 4) << "the clients and the edge hold the one base, not copies";
    for (int i = 0; i < 3; ++i) {
      step(c0, e);
      step(c1, e);
    }
    // What a client owns beyond the base: its head/tail adapters and classifier (rank 8: well under 1 MB).
    EXPECT_LT(data_bytes(c0.adapters()), 1u << 20);
    EXPECT_GT(data_bytes(c0.adapters()), 0u);
    EXPECT_LT(data_bytes(e.adapters(0)), 1u << 20);
  }
  for (const auto& [k, v] : model::base_state((*base)->module())) {
    EXPECT_FALSE(v.requires_grad()) << k;
    EXPECT_TRUE(torch::equal(v, copy.at(k))) << k << " changed";
  }
}

TEST_F(SplitTraining, NothingReadsTheModelFolderAfterStartUp) {
  // The base is loaded once; participants and the evaluator are built and trained with the folder gone.
  const auto dir = std::filesystem::temp_directory_path() / ("elsa_base_copy_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::copy(cfg->model_dir, dir);
  const auto own = load_frozen_base(dir);
  std::filesystem::remove_all(dir);
  auto gone = *cfg;
  gone.model_dir = dir;
  gone.eval_examples = 32;
  gone.test_examples = 32;
  split_client c(gone, *data, 0, *tok, own);
  edge_body e(gone, own);
  e.add_client(0, 1, 1);
  EXPECT_TRUE(std::isfinite(step(c, e)));
  evaluator ev(gone, *data, *tok, own);
  const auto s = ev.evaluate(0, merge_disjoint(c.adapters(), e.adapters(0)), held_out::validation);
  EXPECT_EQ(s.count, 32);
  EXPECT_FALSE(own->module()->is_training()) << "the shared base stays in eval mode";
  EXPECT_EQ(own.use_count(), 4) << "the test, the client, the edge and the evaluator hold the one base";
}

} // namespace
} // namespace elsa::fed
