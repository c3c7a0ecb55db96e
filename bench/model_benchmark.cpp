// Training throughput (tokens/s) of the shipped model's shapes: our GPT2 modules (LoRA-only and full
// fine-tuning with the classification head, and the LM pre-training step) next to a plain LibTorch loop of
// the same shapes written with raw tensors and functional ops, at 1 and 2 threads, in the same run.
// Run: build/elsa_model_benchmark  (prints Google Benchmark's table, then ours/plain ratios)
#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/core.h>

#include "core/model/model_dir.hpp"

namespace em = elsa::model;

namespace {

constexpr int64_t batch = 8;
constexpr int64_t classes = 4;

// The shipped model's shapes (models/elsa-base/config.json), or the pretrain.toml defaults.
em::gpt2_config shipped_shapes() {
  const auto p = std::filesystem::path(ELSA_SOURCE_DIR) / "models" / "elsa-base" / "config.json";
  if (std::filesystem::exists(p))
    return em::read_config_json(p);
  em::gpt2_config c;
  c.vocab_size = 8192;
  c.n_positions = 128;
  c.n_embd = 192;
  c.n_layer = 4;
  c.n_head = 6;
  return c;
}

em::lora_config bench_lora() {
  em::lora_config l;
  l.rank = 8;
  l.alpha = 16;
  l.targets = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};
  return l;
}

// -- the plain LibTorch reference: same maths, no modules ------------------------------------

struct plain_linear {
  torch::Tensor w, b, a, bb; // w (in, out); LoRA a (r, in), bb (out, r)
  double scale = 0;
  torch::Tensor operator()(const torch::Tensor& x) const {
    auto y = torch::matmul(x, w) + b;
    if (a.defined())
      y = y + torch::matmul(torch::matmul(x, a.t()), bb.t()) * scale;
    return y;
  }
};

struct plain_gpt {
  em::gpt2_config c;
  torch::Tensor wte, wpe, lnf_w, lnf_b, score;
  struct layer {
    torch::Tensor ln1_w, ln1_b, ln2_w, ln2_b;
    plain_linear attn, proj, fc, fc_proj;
  };
  std::vector<layer> layers;
  std::vector<torch::Tensor> trainable;

  plain_gpt(const em::gpt2_config& cfg, bool lora) : c(cfg) {
    const int64_t C = c.n_embd;
    auto p = [](std::vector<int64_t> shape, bool train) {
      return (torch::randn(shape) * 0.02).set_requires_grad(train);
    };
    const bool base = !lora;
    wte = p({c.vocab_size, C}, base);
    wpe = p({c.n_positions, C}, base);
    lnf_w = torch::ones({C}).set_requires_grad(base);
    lnf_b = torch::zeros({C}).set_requires_grad(base);
    score = p({classes, C}, true);
    for (int64_t i = 0; i < c.n_layer; ++i) {
      layer l;
      l.ln1_w = torch::ones({C}).set_requires_grad(base);
      l.ln1_b = torch::zeros({C}).set_requires_grad(base);
      l.ln2_w = torch::ones({C}).set_requires_grad(base);
      l.ln2_b = torch::zeros({C}).set_requires_grad(base);
      auto lin = [&](int64_t in, int64_t out) {
        plain_linear pl{p({in, out}, base), torch::zeros({out}).set_requires_grad(base), {}, {}, 2.0};
        if (lora) {
          pl.a = p({8, in}, true);
          pl.bb = p({out, 8}, true);
        }
        return pl;
      };
      l.attn = lin(C, 3 * C);
      l.proj = lin(C, C);
      l.fc = lin(C, 4 * C);
      l.fc_proj = lin(4 * C, C);
      layers.push_back(l);
    }
    auto add = [&](const torch::Tensor& t) {
      if (t.defined() && t.requires_grad())
        trainable.push_back(t);
    };
    for (auto* t : {&wte, &wpe, &lnf_w, &lnf_b, &score})
      add(*t);
    for (auto& l : layers) {
      for (auto* t : {&l.ln1_w, &l.ln1_b, &l.ln2_w, &l.ln2_b})
        add(*t);
      for (auto* pl : {&l.attn, &l.proj, &l.fc, &l.fc_proj})
        for (auto* t : {&pl->w, &pl->b, &pl->a, &pl->bb})
          add(*t);
    }
  }

  torch::Tensor hidden(const torch::Tensor& ids) const {
    namespace F = torch::nn::functional;
    const int64_t B = ids.size(0), T = ids.size(1), C = c.n_embd, H = c.n_head, D = C / H;
    auto x = wte.index({ids}) + wpe.slice(0, 0, T).unsqueeze(0);
    auto causal = torch::ones({T, T}, torch::kBool).tril().logical_not();
    for (const auto& l : layers) {
      auto a = F::layer_norm(x, F::LayerNormFuncOptions({C}).weight(l.ln1_w).bias(l.ln1_b).eps(1e-5));
      auto qkv = l.attn(a).split(C, 2);
      auto q = qkv[0].view({B, T, H, D}).transpose(1, 2);
      auto k = qkv[1].view({B, T, H, D}).transpose(1, 2);
      auto v = qkv[2].view({B, T, H, D}).transpose(1, 2);
      auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(D));
      att = torch::softmax(att.masked_fill(causal, -INFINITY), -1);
      x = x + l.proj(torch::matmul(att, v).transpose(1, 2).reshape({B, T, C}));
      auto m = F::layer_norm(x, F::LayerNormFuncOptions({C}).weight(l.ln2_w).bias(l.ln2_b).eps(1e-5));
      x = x + l.fc_proj(torch::gelu(l.fc(m), "tanh"));
    }
    return F::layer_norm(x, F::LayerNormFuncOptions({C}).weight(lnf_w).bias(lnf_b).eps(1e-5));
  }
};

enum mode : int64_t { lora_ft = 0, full_ft = 1, lm_pretrain = 2 };
const char* mode_name(int64_t m) {
  return m == lora_ft ? "lora" : m == full_ft ? "full" : "lm";
}

void record(benchmark::State& state, const std::string& key, int64_t tokens_per_step) {
  state.SetItemsProcessed(state.iterations() * tokens_per_step);
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(state.iterations() * tokens_per_step),
                                               benchmark::Counter::kIsRate);
  state.SetLabel(key);
}

void BM_elsa_train_step(benchmark::State& state) {
  const auto m = state.range(0);
  torch::set_num_threads(static_cast<int>(state.range(1)));
  const auto cfg = shipped_shapes();
  torch::manual_seed(1);
  em::GPT2 model(cfg);
  em::Classifier cls(cfg.n_embd, classes);
  if (m == lora_ft)
    model->add_lora(bench_lora());
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters())
    if (p.requires_grad())
      params.push_back(p);
  if (m != lm_pretrain)
    for (auto& p : cls->parameters())
      params.push_back(p);
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-3));
  const int64_t T = cfg.n_positions;
  auto ids = torch::randint(0, cfg.vocab_size, {batch, T + 1}, torch::kLong);
  auto labels = torch::randint(0, classes, {batch}, torch::kLong);
  auto x = ids.slice(1, 0, T), y = ids.slice(1, 1, T + 1);
  auto step = [&] {
    opt.zero_grad();
    torch::Tensor loss;
    if (m == lm_pretrain) {
      auto logits = model->forward(x);
      loss = torch::nn::functional::cross_entropy(logits.reshape({-1, cfg.vocab_size}), y.reshape(-1));
    } else {
      loss = torch::nn::functional::cross_entropy(cls->forward(model->hidden(x), {}), labels);
    }
    loss.backward();
    opt.step();
    return loss.item<float>();
  };
  step(); // warm-up: first-touch allocations and optimizer state are not what we measure
  for (auto _ : state)
    benchmark::DoNotOptimize(step());
  const auto key = fmt::format("elsa/{}/threads:{}", mode_name(m), state.range(1));
  record(state, key, batch * T);
}

void BM_plain_train_step(benchmark::State& state) {
  const auto m = state.range(0);
  torch::set_num_threads(static_cast<int>(state.range(1)));
  const auto cfg = shipped_shapes();
  torch::manual_seed(1);
  plain_gpt model(cfg, m == lora_ft);
  auto params = model.trainable;
  if (m == lm_pretrain)
    params.erase(std::remove_if(params.begin(), params.end(),
                                [&](const torch::Tensor& t) { return t.is_same(model.score); }),
                 params.end());
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-3));
  const int64_t T = cfg.n_positions;
  auto ids = torch::randint(0, cfg.vocab_size, {batch, T + 1}, torch::kLong);
  auto labels = torch::randint(0, classes, {batch}, torch::kLong);
  auto x = ids.slice(1, 0, T), y = ids.slice(1, 1, T + 1);
  auto step = [&] {
    opt.zero_grad();
    auto h = model.hidden(x);
    torch::Tensor loss;
    if (m == lm_pretrain) {
      auto logits = torch::matmul(h, model.wte.t());
      loss = torch::nn::functional::cross_entropy(logits.reshape({-1, cfg.vocab_size}), y.reshape(-1));
    } else {
      auto last = h.select(1, T - 1);
      loss = torch::nn::functional::cross_entropy(torch::matmul(last, model.score.t()), labels);
    }
    loss.backward();
    opt.step();
    return loss.item<float>();
  };
  step();
  for (auto _ : state)
    benchmark::DoNotOptimize(step());
  const auto key = fmt::format("plain/{}/threads:{}", mode_name(m), state.range(1));
  record(state, key, batch * T);
}

// Steps take 0.2-1 s on a 2-core machine: 5 timed steps (after one warm-up) x 3 repetitions, reported as the
// median, keep the whole run near three minutes while damping the noise of a shared machine.
#define ELSA_ARGS                                                                                                      \
  ArgsProduct({{lora_ft, full_ft, lm_pretrain}, {1, 2}})                                                               \
      ->Iterations(5)                                                                                                  \
      ->Repetitions(3)                                                                                                 \
      ->ReportAggregatesOnly(true)                                                                                     \
      ->Unit(benchmark::kMillisecond)                                                                                  \
      ->UseRealTime()
BENCHMARK(BM_elsa_train_step)->ELSA_ARGS;
BENCHMARK(BM_plain_train_step)->ELSA_ARGS;

// Keeps each benchmark's median tokens/s (its label names it) for the ratio table.
class ratio_reporter : public benchmark::ConsoleReporter {
public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      const auto it = r.counters.find("tok/s");
      if (it != r.counters.end() && !r.report_label.empty() && (r.aggregate_name.empty() || r.aggregate_name == "median"))
        rates_[r.report_label] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  const std::map<std::string, double>& rates() const {
    return rates_;
  }

private:
  std::map<std::string, double> rates_;
};

} // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const auto cfg = shipped_shapes();
  fmt::print("shapes: n_layer {}, n_head {}, n_embd {}, n_positions {}, vocab {}; batch {} x {} tokens; LoRA r=8 on "
             "c_attn, attn.c_proj, c_fc, mlp.c_proj; fine-tuning steps use a {}-class head on the last token\n",
             cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.n_positions, cfg.vocab_size, batch, cfg.n_positions, classes);
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const auto& r = reporter.rates();
  fmt::print("\n| step | threads | elsa tok/s | plain LibTorch tok/s | elsa / plain |\n|---|---|---|---|---|\n");
  for (const char* m : {"lora", "full", "lm"})
    for (int t : {1, 2}) {
      const auto e = r.find(fmt::format("elsa/{}/threads:{}", m, t));
      const auto p = r.find(fmt::format("plain/{}/threads:{}", m, t));
      if (e != r.end() && p != r.end())
        fmt::print("| {} | {} | {:.0f} | {:.0f} | {:.2f} |\n", m, t, e->second, p->second, e->second / p->second);
    }
  for (int t : {1, 2}) {
    const auto l = r.find(fmt::format("elsa/lora/threads:{}", t));
    const auto f = r.find(fmt::format("elsa/full/threads:{}", t));
    if (l != r.end() && f != r.end())
      fmt::print("elsa LoRA-only / full fine-tuning, {} thread(s): {:.2f}\n", t, l->second / f->second);
  }
  benchmark::Shutdown();
  return 0;
}
