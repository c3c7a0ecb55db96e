// The three-segment split must reproduce the unsplit model: same loss, same parameter gradients, for several
// split points, with padding, with LoRA or full fine-tuning, and across a change of split between two steps.
#include "core/model/gpt2.hpp"

#include <gtest/gtest.h>

#include <tuple>

#include "core/errors.hpp"

namespace em = elsa::model;

namespace {

em::gpt2_config tiny_config() {
  em::gpt2_config c;
  c.vocab_size = 61;
  c.n_positions = 16;
  c.n_embd = 24;
  c.n_layer = 5;
  c.n_head = 3;
  return c;
}

// Same seed -> identical model; LoRA B is randomised so adapters change the output and get gradients.
std::pair<em::GPT2, em::Classifier> make(uint64_t seed, bool lora) {
  torch::manual_seed(seed);
  em::GPT2 m(tiny_config());
  em::Classifier cls(tiny_config().n_embd, 3);
  if (lora) {
    em::lora_config lc;
    lc.rank = 4;
    lc.alpha = 8;
    lc.targets = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};
    m->add_lora(lc);
    torch::NoGradGuard ng;
    for (int64_t i = 0; i < m->n_layer(); ++i)
      for (auto& [name, layer] : m->lora_layers(i))
        layer->lora_B.normal_(0.0, 0.05);
  }
  return {m, cls};
}

struct batch {
  torch::Tensor ids, mask, labels;
};

batch make_batch(uint64_t seed) {
  torch::manual_seed(seed);
  batch b;
  b.ids = torch::randint(0, 61, {4, 12}, torch::kLong);
  b.mask = torch::ones({4, 12}, torch::kLong);
  b.mask.index_put_({1, torch::indexing::Slice(7, torch::indexing::None)}, 0); // right padding
  b.mask.index_put_({2, torch::indexing::Slice(0, 3)}, 0);                      // left padding
  b.labels = torch::tensor({0, 2, 1, 2}, torch::kLong);
  return b;
}

std::map<std::string, torch::Tensor> grads(const em::GPT2& m, const em::Classifier& c) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m->named_parameters())
    if (p.value().requires_grad())
      out["model." + p.key()] = p.value().grad().defined() ? p.value().grad().clone() : torch::zeros_like(p.value());
  for (const auto& p : c->named_parameters())
    out["cls." + p.key()] = p.value().grad().clone();
  return out;
}

double max_diff(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    EXPECT_NE(it, b.end()) << k;
    if (it != b.end())
      d = std::max(d, (v - it->second).abs().max().item<double>());
  }
  return d;
}

// Unsplit classification step: returns the loss, leaves gradients in the modules.
double unsplit_step(em::GPT2& m, em::Classifier& c, const batch& b) {
  auto logits = c->forward(m->hidden(b.ids, b.mask), b.mask);
  auto loss = torch::nn::functional::cross_entropy(logits, b.labels);
  loss.backward();
  return loss.item<double>();
}

double split_step(em::GPT2& m, em::Classifier& c, const batch& b, int64_t a, int64_t bb) {
  auto s = em::split_model(m, a, bb, c);
  auto h1 = s.head.forward(b.ids, b.mask);
  auto h2 = s.body.forward(h1, b.mask);
  auto logits = s.tail.forward(h2, b.mask);
  auto loss = torch::nn::functional::cross_entropy(logits, b.labels);
  auto g2 = s.tail.backward_loss(loss);
  auto g1 = s.body.backward(g2);
  auto g0 = s.head.backward(g1);
  EXPECT_FALSE(g0.defined());
  return loss.item<double>();
}

} // namespace

class SplitPoints : public ::testing::TestWithParam<std::tuple<int, int, bool>> {};

TEST_P(SplitPoints, SplitEqualsUnsplitLossAndGradients) {
  const auto [a, b, lora] = GetParam();
  auto [m1, c1] = make(7, lora);
  auto [m2, c2] = make(7, lora);
  const auto bt = make_batch(11);
  const double l1 = unsplit_step(m1, c1, bt);
  const double l2 = split_step(m2, c2, bt, a, b);
  EXPECT_LT(std::abs(l1 - l2), 1e-5);
  const auto g1 = grads(m1, c1), g2 = grads(m2, c2);
  EXPECT_LT(max_diff(g1, g2), 1e-5);
  // The gradients are not trivially zero.
  double norm = 0;
  for (const auto& [k, v] : g1)
    norm += v.pow(2).sum().item<double>();
  EXPECT_GT(norm, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Model, SplitPoints,
                         ::testing::Values(std::make_tuple(1, 1, true), std::make_tuple(2, 1, true),
                                           std::make_tuple(1, 3, true), std::make_tuple(0, 0, true),
                                           std::make_tuple(3, 2, true), std::make_tuple(2, 2, false),
                                           std::make_tuple(1, 1, false)));

TEST(Split, ChangeOfSplitBetweenStepsKeepsAdapterState) {
  auto [m1, c1] = make(3, true);
  auto [m2, c2] = make(3, true);
  auto opt_params = [](em::GPT2& m, em::Classifier& c) {
    std::vector<torch::Tensor> ps;
    for (auto& p : m->parameters())
      if (p.requires_grad())
        ps.push_back(p);
    for (auto& p : c->parameters())
      ps.push_back(p);
    return ps;
  };
  torch::optim::SGD o1(opt_params(m1, c1), torch::optim::SGDOptions(0.5));
  torch::optim::SGD o2(opt_params(m2, c2), torch::optim::SGDOptions(0.5));
  const std::pair<int, int> splits[] = {{1, 1}, {3, 1}, {1, 2}};
  uint64_t seed = 100;
  for (const auto& [a, b] : splits) {
    const auto bt = make_batch(seed++);
    o1.zero_grad();
    o2.zero_grad();
    const double l1 = unsplit_step(m1, c1, bt);
    const double l2 = split_step(m2, c2, bt, a, b);
    EXPECT_LT(std::abs(l1 - l2), 1e-5) << "split (" << a << ", " << b << ")";
    EXPECT_LT(max_diff(grads(m1, c1), grads(m2, c2)), 1e-5) << "split (" << a << ", " << b << ")";
    o1.step();
    o2.step();
  }
  EXPECT_LT(max_diff(em::lora_state(m1, c1), em::lora_state(m2, c2)), 1e-5);
}

TEST(Split, LanguageModelTailUsesTiedHead) {
  auto [m1, c1] = make(5, false);
  auto [m2, c2] = make(5, false);
  const auto bt = make_batch(9);
  auto lm_loss = [&](const torch::Tensor& logits) {
    return torch::nn::functional::cross_entropy(logits.index({torch::indexing::Slice(), torch::indexing::Slice(0, -1)})
                                                    .reshape({-1, 61}),
                                                bt.ids.index({torch::indexing::Slice(), torch::indexing::Slice(1)}).reshape(-1));
  };
  auto loss1 = lm_loss(m1->forward(bt.ids));
  loss1.backward();
  auto s = em::split_model(m2, 2, 2);
  auto logits = s.tail.forward(s.body.forward(s.head.forward(bt.ids)));
  auto loss2 = lm_loss(logits);
  s.head.backward(s.body.backward(s.tail.backward_loss(loss2)));
  EXPECT_LT(std::abs(loss1.item<double>() - loss2.item<double>()), 1e-5);
  std::map<std::string, torch::Tensor> g1, g2;
  for (const auto& p : m1->named_parameters())
    g1[p.key()] = p.value().grad();
  for (const auto& p : m2->named_parameters())
    g2[p.key()] = p.value().grad();
  EXPECT_LT(max_diff(g1, g2), 1e-5);
  // wte gets gradient from both the embedding lookup (head) and the tied LM head (tail).
  EXPECT_GT(g2["wte.weight"].abs().sum().item<double>(), 0.0);
}

TEST(Split, InvalidSplitPointsAreRejected) {
  auto [m, c] = make(1, true);
  EXPECT_THROW(em::split_model(m, 3, 3, c), elsa::error);
  EXPECT_THROW(em::split_model(m, -1, 1, c), elsa::error);
}

TEST(Split, SegmentsListOnlyTheirOwnTrainableParameters) {
  auto [m, c] = make(1, true);
  auto s = em::split_model(m, 1, 1, c);
  // LoRA on 4 targets = 8 tensors per block; the tail also has the classifier.
  EXPECT_EQ(s.head.trainable_parameters().size(), 8u);
  EXPECT_EQ(s.body.trainable_parameters().size(), 24u);
  EXPECT_EQ(s.tail.trainable_parameters().size(), 9u);
}

TEST(Classifier, PoolsTheLastNonPaddingToken) {
  auto mask = torch::tensor({1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1}, torch::kLong).view({3, 5});
  mask[1] = torch::tensor({0, 0, 1, 1, 0}, torch::kLong);
  auto idx = em::last_token_index(mask);
  EXPECT_EQ(idx[0].item<int64_t>(), 2);
  EXPECT_EQ(idx[1].item<int64_t>(), 3);
  EXPECT_EQ(idx[2].item<int64_t>(), 4);
}

TEST(Classifier, RightPaddingDoesNotChangeTheResult) {
  auto [m, c] = make(2, true);
  torch::NoGradGuard ng;
  auto ids = torch::randint(0, 61, {1, 6}, torch::kLong);
  auto logits_short = c->forward(m->hidden(ids), {});
  auto padded = torch::cat({ids, torch::zeros({1, 4}, torch::kLong)}, 1);
  auto mask = torch::cat({torch::ones({1, 6}, torch::kLong), torch::zeros({1, 4}, torch::kLong)}, 1);
  auto logits_padded = c->forward(m->hidden(padded, mask), mask);
  EXPECT_LT((logits_short - logits_padded).abs().max().item<double>(), 1e-5);
}
