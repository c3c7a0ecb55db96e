// The cost model (core/sim/cost_model.hpp): a block's FLOPs against a count written out here from a table of
// its ops, for the shipped shape and an odd one; the split only moves work; client work and memory grow with
// what the client runs; bytes on the wire. (Memory against LibTorch's allocations: tests/fed/memory_test.cpp.)
#include "core/sim/cost_model.hpp"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "core/sim/planner.hpp"
#include "tests/sim/shapes.hpp"

namespace elsa::sim {
namespace {

const std::vector<std::string> all_targets = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};

// models/elsa-base/config.json with the runs' adapters (rank 8 on all four targets) and spam's two labels.
model_shape shipped() {
  return testing::shipped_shape();
}

// An odd shape: nothing a power of two, an explicit n_inner, adapters on two targets only.
model_shape odd() {
  return {5, 60, 5, 148, 1001, 37, 3, {"c_attn", "c_fc"}, 3};
}

bool has(const model_shape& m, const std::string& target) {
  return std::find(m.lora_targets.begin(), m.lora_targets.end(), target) != m.lora_targets.end();
}

// One matmul of the block: `count` products of an (m, k) by a (k, n) matrix.
struct matmul {
  std::string what;
  double count, m, k, n;
};

// One elementwise op of the block: `elements` elements at `flops` each (the header's constants).
struct elementwise {
  std::string what;
  double elements, flops;
};

// The block's forward written out op by op from core/model/gpt2.cpp.
double hand_count(const model_shape& s, const step_shape& st) {
  const double B = st.batch, T = st.seq_len, N = B * T, C = s.n_embd, H = s.n_head, D = C / H, F = s.n_inner,
               r = s.lora_rank;
  // One op per row (clang-format would pack the rows).
  // clang-format off
  std::vector<matmul> mm = {
    {"c_attn", 1, N, C, 3 * C},
    {"q k^T", B * H, T, D, T},
    {"att v", B * H, T, T, D},
    {"attn.c_proj", 1, N, C, C},
    {"c_fc", 1, N, C, F},
    {"mlp.c_proj", 1, N, F, C},
  };
  std::vector<elementwise> ew = {
    {"ln_1", N * C, 8},
    {"ln_2", N * C, 8},
    {"c_attn bias", N * 3 * C, 1},
    {"attn.c_proj bias", N * C, 1},
    {"c_fc bias", N * F, 1},
    {"mlp.c_proj bias", N * C, 1},
    {"scores", B * H * T * T, 8},
    {"gelu", N * F, 10},
    {"residuals", 2 * N * C, 1},
  };
  // clang-format on
  const struct {
    const char* target;
    double in, out;
  } layers[] = {{"c_attn", C, 3 * C}, {"attn.c_proj", C, C}, {"c_fc", C, F}, {"mlp.c_proj", F, C}};
  for (const auto& l : layers)
    if (has(s, l.target)) {
      mm.push_back({std::string(l.target) + " x A^T", 1, N, l.in, r});
      mm.push_back({std::string(l.target) + " (x A^T) B^T", 1, N, r, l.out});
      ew.push_back({std::string(l.target) + " scale and add", N * l.out, 2});
    }
  double f = 0;
  for (const auto& m : mm)
    f += 2 * m.count * m.m * m.k * m.n;
  for (const auto& e : ew)
    f += e.elements * e.flops;
  return f;
}

TEST(BlockFlops, EqualsTheHandCountOfItsOps) {
  for (const auto& [s, st] : {std::pair{shipped(), step_shape{8, 96}}, std::pair{odd(), step_shape{3, 17}}}) {
    const double expected = hand_count(s, st);
    EXPECT_NEAR(block_forward_flops(s, st), expected, 1e-12 * expected) << s.n_embd;
  }
  // Golden value for the shipped block, worked by hand: matmuls 24 N C^2 = 679,477,248 (N = 768, C = 192),
  // attention 4 B T^2 C = 56,623,104, LoRA 2 N r (4 C + 2 C + 2 C + 2 F) = 37,748,736, elementwise
  // 16,072,704 (layer norms 2,359,296, biases 1,327,104, scores 3,538,944, GELU 5,898,240, residuals 294,912,
  // LoRA scale and add 2,654,208).
  EXPECT_DOUBLE_EQ(block_forward_flops(shipped(), {8, 96}), 789921792.0);
}

TEST(BlockFlops, AreRealisticForTheBlocksParameters) {
  // A forward is about 2 FLOPs per weight per token; attention and adapters add a little on top.
  const auto s = shipped();
  const double C = s.n_embd, N = 8 * 96;
  const double weights = 12 * C * C;
  const double f = block_forward_flops(s, {8, 96});
  EXPECT_GT(f, 2 * weights * N);
  EXPECT_LT(f, 1.25 * 2 * weights * N);
}

TEST(TrainingStepFlops, TheSplitOnlyMovesWork) {
  for (const auto& s : {shipped(), odd()}) {
    const step_shape st{4, 33};
    const auto splits = feasible_splits(s.n_layer, 1);
    ASSERT_FALSE(splits.empty());
    const auto first = training_step_flops(s, st, splits.front());
    for (auto sp : splits) {
      const auto f = training_step_flops(s, st, sp);
      EXPECT_NEAR(f.client + f.edge, first.client + first.edge, 1e-12 * (first.client + first.edge))
        << sp.a << "," << sp.b;
      EXPECT_GT(f.client, 0);
      EXPECT_GT(f.edge, 0);
    }
  }
}

TEST(TrainingStepFlops, ClientWorkGrowsWithHeadAndTail) {
  const auto s = odd(); // five blocks: a + b up to 4
  const step_shape st{2, 50};
  for (int64_t a = 1; a <= 3; ++a)
    for (int64_t b = 1; a + b <= 3; ++b) {
      const auto f = training_step_flops(s, st, {a, b});
      const auto more_head = training_step_flops(s, st, {a + 1, b});
      const auto more_tail = training_step_flops(s, st, {a, b + 1});
      EXPECT_GT(more_head.client, f.client);
      EXPECT_GT(more_tail.client, f.client);
      EXPECT_LT(more_head.edge, f.edge);
      EXPECT_LT(more_tail.edge, f.edge);
    }
}

// With the base frozen, backward differentiates inputs (and adapters) but no base weight: a training step is
// about twice the forward, not the three times of full fine-tuning.
TEST(TrainingStepFlops, AreAboutTwiceTheForward) {
  const auto s = shipped();
  const step_shape st{8, 96};
  const auto f = training_step_flops(s, st, {1, 1});
  const double forward = static_cast<double>(s.n_layer) * block_forward_flops(s, st);
  EXPECT_GT(f.client + f.edge, 1.9 * forward);
  EXPECT_LT(f.client + f.edge, 2.3 * forward);
}

// The head's first block sees frozen embeddings: no gradient for its input, so neither ln_1's backward nor
// c_attn's dX (base and adapter) is computed. The same block in the body (a = 0) computes them.
TEST(TrainingStepFlops, TheHeadsFirstBlockComputesNoInputGradient) {
  auto s = shipped();
  s.n_layer = 3;
  const step_shape st{8, 96};
  const double N = 8 * 96, C = s.n_embd, r = s.lora_rank;
  const auto in_head = training_step_flops(s, st, {1, 1});
  const auto in_body = training_step_flops(s, st, {0, 1});
  const double skipped = 2 * 8 * N * C       // ln_1 backward: twice its 8 FLOPs per element
                         + 2 * N * C * 3 * C // dX = dY W^T of c_attn
                         + 2 * N * r * C;    // dX of c_attn's adapter
  EXPECT_NEAR((in_body.client + in_body.edge) - (in_head.client + in_head.edge), skipped, 1e-6 * skipped);
}

TEST(ActivationBytes, AreBatchTimesLengthTimesWidth) {
  EXPECT_EQ(activation_bytes(shipped(), {8, 96}, 4), 8 * 96 * 192 * 4);
  EXPECT_EQ(activation_bytes(shipped(), {8, 96}, 2), 294912);
  EXPECT_EQ(activation_bytes(odd(), {3, 17}, 2), 3 * 17 * 60 * 2);
}

TEST(ClientMemory, GrowsWithHeadTailBatchAndLength) {
  for (const auto& s : {shipped(), odd()}) {
    const step_shape st{4, 40};
    const auto base = client_memory_bytes(s, st, {1, 1});
    EXPECT_GT(client_memory_bytes(s, st, {2, 1}), base);
    EXPECT_GT(client_memory_bytes(s, st, {1, 2}), base);
    EXPECT_GT(client_memory_bytes(s, {8, 40}, {1, 1}), base);
    EXPECT_GT(client_memory_bytes(s, {4, 80}, {1, 1}), base);
  }
}

TEST(ClientMemory, HoldsAtLeastTheWeightsAndOptimizerState) {
  // The terms held all step, from the shipped shape: wte, wpe, two blocks and ln_f; two blocks of adapters
  // and the classifier, with AdamW's two moments.
  const auto s = shipped();
  const int64_t C = 192, F = 768, r = 8;
  const int64_t block = 4 * C + (C * 3 * C + 3 * C) + (C * C + C) + (C * F + F) + (F * C + C);
  const int64_t frozen = (8192 * C + 128 * C + 2 * block + 2 * C) * 4;
  const int64_t lora = r * ((C + 3 * C) + (C + C) + (C + F) + (F + C));
  const int64_t trainable = (2 * lora + 2 * C) * 4;
  const auto m = client_memory_bytes(s, {8, 96}, {1, 1});
  EXPECT_GT(m, frozen + 3 * trainable);
  // ... and activations of a few tens of megabytes at batch 8 x 96, not gigabytes.
  EXPECT_LT(m, frozen + 3 * trainable + 64'000'000);
}

TEST(CostModel, RejectsSplitsOutsideTheModelAndEmptySteps) {
  EXPECT_THROW(training_step_flops(shipped(), {8, 96}, {3, 2}), elsa::error);
  EXPECT_THROW(client_memory_bytes(shipped(), {8, 96}, {-1, 1}), elsa::error);
  EXPECT_THROW(training_step_flops(shipped(), {0, 96}, {1, 1}), elsa::error);
  auto bad = shipped();
  bad.lora_targets = {"c_proj"};
  try {
    block_forward_flops(bad, {1, 1});
    FAIL() << "an unknown target must be an error";
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("c_proj"), std::string::npos);
  }
}

TEST(ShapeOf, TakesTheModelAndAdapterConfig) {
  model::gpt2_config g;
  g.n_layer = 4;
  g.n_embd = 192;
  g.n_head = 6;
  model::lora_config l;
  l.rank = 8;
  l.targets = all_targets;
  const auto s = shape_of(g, l, 2);
  EXPECT_EQ(s.n_inner, 768); // n_inner 0 means 4 n_embd
  EXPECT_EQ(s.vocab, 8192);
  EXPECT_EQ(s.n_positions, 128);
  EXPECT_EQ(s.lora_targets, all_targets);
  EXPECT_EQ(s.num_labels, 2);
}

} // namespace
} // namespace elsa::sim

namespace elsa::sim {
namespace {

// The baselines' layouts: a whole-model client does the U-shape's whole work itself; a two-part split moves
// ln_f, the classifier, the loss and the classifier's AdamW from the client to the edge (an exact count of
// what moved); memory follows what the client holds.
TEST(Layouts, MoveWorkAndMemoryBetweenClientAndEdge) {
  for (const auto& s : {shipped(), odd()}) {
    const step_shape st{4, 40};
    const auto u = training_step_flops(s, st, {1, 1});
    const auto whole = training_step_flops(s, st, {1, 1}, layout::whole_model);
    EXPECT_DOUBLE_EQ(whole.client, u.client + u.edge);
    EXPECT_EQ(whole.edge, 0.0);
    // Two-part at a = 1 against the U-shape at (1, 0): the same model, the top moved to the edge.
    const auto u10 = training_step_flops(s, st, {1, 0});
    const auto two = training_step_flops(s, st, {1, 0}, layout::two_part);
    const double N = 4 * 40, C = s.n_embd, K = s.num_labels, B = 4;
    const double top = 3 * 8 * N * C + 3 * 2 * B * K * C + 3 * 5 * B * K + B + 14 * K * C;
    EXPECT_NEAR(u10.client - two.client, top, 1e-9 * top);
    EXPECT_NEAR(two.edge - u10.edge, top, 1e-9 * top);
    EXPECT_THROW(training_step_flops(s, st, {1, 1}, layout::two_part), elsa::error) << "a two-part split has no tail";
    const auto mem_u = client_memory_bytes(s, st, {1, 1});
    const auto mem_two = client_memory_bytes(s, st, {1, 0}, layout::two_part);
    const auto mem_whole = client_memory_bytes(s, st, {1, 1}, layout::whole_model);
    EXPECT_LT(mem_two, mem_u);
    EXPECT_GT(mem_whole, mem_u);
    EXPECT_GT(mem_whole, client_memory_bytes(s, st, {s.n_layer - 2, 1})) << "every block's graph on the client";
    EXPECT_THROW(client_memory_bytes(s, st, {1, 1}, layout::two_part), elsa::error);
  }
}

} // namespace
} // namespace elsa::sim
