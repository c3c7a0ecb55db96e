// GPT-2 modules, LoRA, the classification head, the three-segment split and the HF / PEFT name mapping.
// Kept in one translation unit on purpose: each TU that includes <torch/torch.h> costs ~30 s to compile.
#include "core/model/gpt2.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::model {

namespace {

[[noreturn]] void bad_value(const std::string& what) {
  throw error(errc::invalid_argument, what);
}

const std::vector<std::string>& known_targets() {
  static const std::vector<std::string> names = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};
  return names;
}

constexpr const char* peft_prefix = "base_model.model.transformer.";
constexpr const char* peft_score = "base_model.model.score.weight";

} // namespace

// -- configs ------------------------------------------------------------------

void gpt2_config::validate() const {
  auto check = [](const char* key, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      bad_value(fmt::format("model config: {} = {} is out of range; allowed {}..{}", key, v, lo, hi));
  };
  check("vocab_size", vocab_size, 1, 1 << 20);
  check("n_positions", n_positions, 1, 1 << 16);
  check("n_embd", n_embd, 1, 1 << 16);
  check("n_layer", n_layer, 1, 1024);
  check("n_head", n_head, 1, 1024);
  check("n_inner", n_inner, 0, 1 << 18);
  if (n_embd % n_head != 0)
    bad_value(fmt::format("model config: n_embd = {} must be a multiple of n_head = {}", n_embd, n_head));
  if (!(layer_norm_epsilon > 0.0 && layer_norm_epsilon < 1.0))
    bad_value(fmt::format("model config: layer_norm_epsilon = {} is out of range; allowed (0, 1)",
                          layer_norm_epsilon));
  if (!(dropout >= 0.0 && dropout < 1.0))
    bad_value(fmt::format("model config: dropout = {} is out of range; allowed [0, 1)", dropout));
}

int64_t gpt2_config::parameter_count() const {
  const int64_t c = n_embd;
  const int64_t per_block = 2 * 2 * c                   // ln_1, ln_2
                            + c * 3 * c + 3 * c         // c_attn
                            + c * c + c                 // attn.c_proj
                            + c * inner() + inner()     // c_fc
                            + inner() * c + c;          // mlp.c_proj
  return vocab_size * c + n_positions * c + n_layer * per_block + 2 * c;
}

void lora_config::validate() const {
  if (rank < 1 || rank > 4096)
    bad_value(fmt::format("lora: rank = {} is out of range; allowed 1..4096", rank));
  if (!(alpha > 0.0 && alpha < 1e6))
    bad_value(fmt::format("lora: alpha = {} is out of range; allowed (0, 1e6)", alpha));
  if (!(dropout >= 0.0 && dropout < 1.0))
    bad_value(fmt::format("lora: dropout = {} is out of range; allowed [0, 1)", dropout));
  if (targets.empty())
    bad_value("lora: targets is empty; name at least one of c_attn, attn.c_proj, c_fc, mlp.c_proj");
  for (const auto& t : targets)
    if (std::find(known_targets().begin(), known_targets().end(), t) == known_targets().end())
      bad_value(fmt::format("lora: unknown target '{}'; allowed c_attn, attn.c_proj, c_fc, mlp.c_proj", t));
}

// -- Conv1D + LoRA --------------------------------------------------------------

Conv1DImpl::Conv1DImpl(int64_t in_features, int64_t out_features) : in_(in_features), out_(out_features) {
  weight = register_parameter("weight", torch::empty({in_features, out_features}).normal_(0.0, 0.02));
  bias = register_parameter("bias", torch::zeros({out_features}));
}

namespace {

// x W + b, plus scale * dropout(x) A^T B^T when A is defined: the one place LoRA's arithmetic lives.
torch::Tensor lora_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                          const torch::Tensor& A, const torch::Tensor& B, double scale, double dropout, bool train) {
  auto sizes = x.sizes().vec();
  auto x2 = x.reshape({-1, weight.size(0)});
  auto y = torch::addmm(bias, x2, weight);
  if (A.defined()) {
    auto xd = dropout > 0.0 ? torch::dropout(x2, dropout, train) : x2;
    y = y + torch::matmul(torch::matmul(xd, A.t()), B.t()) * scale;
  }
  sizes.back() = weight.size(1);
  return y.view(sizes);
}

} // namespace

torch::Tensor Conv1DImpl::forward(const torch::Tensor& x) {
  const bool use = lora_A.defined() && !merged_;
  return lora_linear(x, weight, bias, use ? lora_A : torch::Tensor(), lora_B, lora_scale_, lora_dropout_,
                     is_training());
}

torch::Tensor Conv1DImpl::forward_with(const torch::Tensor& x, const lora_factors* f, double scale, double dropout) {
  if (f == nullptr)
    return lora_linear(x, weight, bias, {}, {}, 0.0, 0.0, false);
  return lora_linear(x, weight, bias, f->A, f->B, scale, dropout, torch::GradMode::is_enabled());
}

void Conv1DImpl::add_lora(int64_t rank, double alpha, double dropout) {
  if (lora_A.defined())
    throw error(errc::invalid_argument, "lora: this layer already has an adapter");
  // PEFT's init: A ~ kaiming_uniform(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)); B = 0.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
  lora_A = register_parameter("lora_A", torch::empty({rank, in_}).uniform_(-bound, bound));
  lora_B = register_parameter("lora_B", torch::zeros({out_, rank}));
  lora_scale_ = alpha / static_cast<double>(rank);
  lora_dropout_ = dropout;
}

void Conv1DImpl::merge() {
  if (!lora_A.defined() || merged_)
    return;
  torch::NoGradGuard no_grad;
  weight.add_(torch::matmul(lora_B, lora_A).t() * lora_scale_);
  merged_ = true;
}

void Conv1DImpl::unmerge() {
  if (!lora_A.defined() || !merged_)
    return;
  torch::NoGradGuard no_grad;
  weight.sub_(torch::matmul(lora_B, lora_A).t() * lora_scale_);
  merged_ = false;
}

// -- attention, MLP, block ----------------------------------------------------------

AttentionImpl::AttentionImpl(const gpt2_config& cfg)
    : n_head_(cfg.n_head), n_embd_(cfg.n_embd), dropout_(cfg.dropout) {
  c_attn = register_module("c_attn", Conv1D(cfg.n_embd, 3 * cfg.n_embd));
  c_proj = register_module("c_proj", Conv1D(cfg.n_embd, cfg.n_embd));
}

namespace {

// The layer through the block's external adapters when there are any, else through its own.
torch::Tensor through(Conv1D& layer, const torch::Tensor& x, const block_lora* ad, int index) {
  return ad ? layer->forward_with(x, ad->layer[index], ad->scale, ad->dropout) : layer(x);
}

} // namespace

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_bias, const block_lora* ad) {
  const int64_t B = x.size(0), T = x.size(1), D = n_embd_ / n_head_;
  auto qkv = through(c_attn, x, ad, 0).split(n_embd_, 2);
  auto q = qkv[0].view({B, T, n_head_, D}).transpose(1, 2); // (B, H, T, D)
  auto k = qkv[1].view({B, T, n_head_, D}).transpose(1, 2);
  auto v = qkv[2].view({B, T, n_head_, D}).transpose(1, 2);
  auto att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(D)));
  auto causal = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).tril();
  att = att.masked_fill(causal.logical_not(), -std::numeric_limits<float>::infinity());
  if (mask_bias.defined())
    att = att + mask_bias;
  att = torch::softmax(att, -1);
  if (dropout_ > 0.0)
    att = torch::dropout(att, dropout_, is_training());
  auto y = torch::matmul(att, v).transpose(1, 2).contiguous().view({B, T, n_embd_});
  y = through(c_proj, y, ad, 1);
  if (dropout_ > 0.0)
    y = torch::dropout(y, dropout_, is_training());
  return y;
}

MLPImpl::MLPImpl(const gpt2_config& cfg) : dropout_(cfg.dropout) {
  c_fc = register_module("c_fc", Conv1D(cfg.n_embd, cfg.inner()));
  c_proj = register_module("c_proj", Conv1D(cfg.inner(), cfg.n_embd));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x, const block_lora* ad) {
  auto y = through(c_proj, torch::gelu(through(c_fc, x, ad, 2), "tanh"), ad, 3);
  if (dropout_ > 0.0)
    y = torch::dropout(y, dropout_, is_training());
  return y;
}

BlockImpl::BlockImpl(const gpt2_config& cfg) {
  auto ln = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.n_embd}).eps(cfg.layer_norm_epsilon));
  };
  ln_1 = register_module("ln_1", ln());
  attn = register_module("attn", Attention(cfg));
  ln_2 = register_module("ln_2", ln());
  mlp = register_module("mlp", MLP(cfg));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_bias, const block_lora* ad) {
  auto y = x + attn(ln_1(x), mask_bias, ad);
  return y + mlp(ln_2(y), ad);
}

// -- GPT2 --------------------------------------------------------------------------

GPT2Impl::GPT2Impl(const gpt2_config& cfg) : config_(cfg) {
  config_.validate();
  wte = register_module("wte", torch::nn::Embedding(cfg.vocab_size, cfg.n_embd));
  wpe = register_module("wpe", torch::nn::Embedding(cfg.n_positions, cfg.n_embd));
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.n_layer; ++i) {
    Block b(cfg);
    h->push_back(b);
    blocks_.push_back(b);
  }
  ln_f = register_module(
      "ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.n_embd}).eps(cfg.layer_norm_epsilon)));
  torch::NoGradGuard no_grad;
  wte->weight.normal_(0.0, 0.02);
  wpe->weight.normal_(0.0, 0.02);
  // GPT-2 paper / HF: residual projections scaled so the residual stream's variance does not grow with depth.
  const double proj_std = 0.02 / std::sqrt(2.0 * static_cast<double>(cfg.n_layer));
  for (auto& b : blocks_) {
    b->attn->c_proj->weight.normal_(0.0, proj_std);
    b->mlp->c_proj->weight.normal_(0.0, proj_std);
  }
}

torch::Tensor GPT2Impl::embed(const torch::Tensor& ids) {
  const int64_t T = ids.size(1);
  if (T > config_.n_positions)
    throw error(errc::invalid_argument,
                fmt::format("model: sequence length {} exceeds n_positions = {}; truncate the input", T,
                            config_.n_positions));
  auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
  auto x = wte(ids) + wpe(pos).unsqueeze(0);
  if (config_.dropout > 0.0)
    x = torch::dropout(x, config_.dropout, is_training());
  return x;
}

torch::Tensor GPT2Impl::run_blocks(torch::Tensor x, int64_t first, int64_t last,
                                   const torch::Tensor& attention_mask, const adapter_bank* bank) {
  torch::Tensor bias;
  if (attention_mask.defined()) {
    // Large finite negative instead of -inf so a row of padding only (left padding) stays finite.
    bias = (1.0 - attention_mask.to(x.dtype())).view({attention_mask.size(0), 1, 1, attention_mask.size(1)}) *
           -1e9;
  }
  for (int64_t i = first; i < last; ++i)
    x = blocks_[static_cast<size_t>(i)]->forward(x, bias, bank ? bank->block(i) : nullptr);
  return x;
}

torch::Tensor GPT2Impl::final_norm(const torch::Tensor& x) {
  return ln_f(x);
}

torch::Tensor GPT2Impl::lm_logits(const torch::Tensor& x) {
  return torch::matmul(x, wte->weight.t());
}

torch::Tensor GPT2Impl::hidden(const torch::Tensor& ids, const torch::Tensor& attention_mask,
                               const adapter_bank* bank) {
  return final_norm(run_blocks(embed(ids), 0, config_.n_layer, attention_mask, bank));
}

torch::Tensor GPT2Impl::forward(const torch::Tensor& ids, const torch::Tensor& attention_mask) {
  return lm_logits(hidden(ids, attention_mask));
}

std::vector<std::pair<std::string, Conv1D>> GPT2Impl::lora_layers(int64_t block) const {
  std::vector<std::pair<std::string, Conv1D>> out;
  const auto& b = blocks_.at(static_cast<size_t>(block));
  const std::pair<const char*, Conv1D> all[] = {{"attn.c_attn", b->attn->c_attn},
                                                {"attn.c_proj", b->attn->c_proj},
                                                {"mlp.c_fc", b->mlp->c_fc},
                                                {"mlp.c_proj", b->mlp->c_proj}};
  for (const auto& [name, layer] : all)
    if (layer->has_lora())
      out.emplace_back(name, layer);
  return out;
}

void GPT2Impl::add_lora(const lora_config& cfg) {
  cfg.validate();
  if (has_lora_)
    throw error(errc::invalid_argument, "lora: the model already has adapters");
  for (auto& p : parameters())
    p.set_requires_grad(false);
  for (auto& b : blocks_) {
    for (const auto& t : cfg.targets) {
      Conv1D layer = t == "c_attn" ? b->attn->c_attn
                     : t == "attn.c_proj" ? b->attn->c_proj
                     : t == "c_fc"        ? b->mlp->c_fc
                                          : b->mlp->c_proj;
      layer->add_lora(cfg.rank, cfg.alpha, cfg.dropout);
    }
  }
  has_lora_ = true;
  lora_config_ = cfg;
}

void GPT2Impl::merge_lora() {
  for (int64_t i = 0; i < config_.n_layer; ++i)
    for (auto& [name, layer] : lora_layers(i))
      layer->merge();
}

void GPT2Impl::unmerge_lora() {
  for (int64_t i = 0; i < config_.n_layer; ++i)
    for (auto& [name, layer] : lora_layers(i))
      layer->unmerge();
}

// -- external adapters ----------------------------------------------------------------

namespace {

constexpr const char* layer_paths[4] = {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"};
constexpr const char* target_names[4] = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};

// (in, out) of layer k of a block.
std::pair<int64_t, int64_t> layer_dims(const gpt2_config& c, int k) {
  switch (k) {
    case 0:
      return {c.n_embd, 3 * c.n_embd};
    case 1:
      return {c.n_embd, c.n_embd};
    case 2:
      return {c.n_embd, c.inner()};
    default:
      return {c.inner(), c.n_embd};
  }
}

} // namespace

adapter_bank::adapter_bank(const gpt2_config& model, const lora_config& lora, const std::vector<int64_t>& blocks)
    : n_layer_(model.n_layer) {
  lora.validate();
  for (int64_t i : blocks) {
    if (i < 0 || i >= model.n_layer)
      bad_value(fmt::format("adapters: block {} is outside a {}-block model", i, model.n_layer));
    if (blocks_.count(i))
      continue;
    auto h = std::make_unique<held>();
    h->view.scale = lora.alpha / static_cast<double>(lora.rank);
    h->view.dropout = lora.dropout;
    for (int k = 0; k < 4; ++k) {
      if (std::find(lora.targets.begin(), lora.targets.end(), target_names[k]) == lora.targets.end())
        continue;
      const auto [in, out] = layer_dims(model, k);
      // PEFT's init, as Conv1DImpl::add_lora: A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0.
      const double bound = 1.0 / std::sqrt(static_cast<double>(in));
      h->factors[k].A = torch::empty({lora.rank, in}).uniform_(-bound, bound).requires_grad_(true);
      h->factors[k].B = torch::zeros({out, lora.rank}).requires_grad_(true);
      h->view.layer[k] = &h->factors[k];
    }
    blocks_.emplace(i, std::move(h));
  }
}

const block_lora* adapter_bank::block(int64_t i) const {
  auto it = blocks_.find(i);
  return it == blocks_.end() ? nullptr : &it->second->view;
}

std::vector<int64_t> adapter_bank::blocks() const {
  std::vector<int64_t> out;
  for (const auto& kv : blocks_)
    out.push_back(kv.first);
  return out;
}

std::vector<torch::Tensor> adapter_bank::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& [i, h] : blocks_)
    for (const auto& f : h->factors)
      if (f.A.defined()) {
        out.push_back(f.A);
        out.push_back(f.B);
      }
  return out;
}

std::map<std::string, torch::Tensor> adapter_bank::state(int64_t first, int64_t last) const {
  std::map<std::string, torch::Tensor> out;
  const int64_t end = last < 0 ? n_layer_ : last;
  for (const auto& [i, h] : blocks_) {
    if (i < first || i >= end)
      continue;
    for (int k = 0; k < 4; ++k)
      if (h->factors[k].A.defined()) {
        const std::string base = fmt::format("{}h.{}.{}", peft_prefix, i, layer_paths[k]);
        out[base + ".lora_A.weight"] = h->factors[k].A.detach().clone();
        out[base + ".lora_B.weight"] = h->factors[k].B.detach().clone();
      }
  }
  return out;
}

torch::Tensor* adapter_bank::target_of(const std::string& key, const torch::Tensor& value,
                                      const std::string& origin) const {
  const std::string prefix = std::string(peft_prefix) + "h.";
  // base_model.model.transformer.h.<i>.<layer path>.lora_<A|B>.weight
  int64_t block = -1;
  int layer = -1;
  bool is_a = false;
  if (key.rfind(prefix, 0) == 0) {
    const auto dot = key.find('.', prefix.size());
    const auto num = key.substr(prefix.size(), dot == std::string::npos ? 0 : dot - prefix.size());
    if (!num.empty() && num.find_first_not_of("0123456789") == std::string::npos && num.size() < 6) {
      block = std::stoll(num);
      const auto rest = key.substr(dot + 1);
      for (int k = 0; k < 4; ++k) {
        const std::string p = layer_paths[k];
        if (rest == p + ".lora_A.weight" || rest == p + ".lora_B.weight") {
          layer = k;
          is_a = rest == p + ".lora_A.weight";
        }
      }
    }
  }
  if (block < 0 || block >= n_layer_ || layer < 0)
    throw error(errc::invalid_argument,
                fmt::format("{}: tensor '{}' is no LoRA adapter of this {}-block model", origin, key, n_layer_));
  auto it = blocks_.find(block);
  if (it == blocks_.end())
    return nullptr;  // another participant's blocks
  auto& f = it->second->factors[layer];
  if (!f.A.defined())
    throw error(errc::invalid_argument,
                fmt::format("{}: tensor '{}' has no matching adapter (check the LoRA targets)", origin, key));
  auto* target = is_a ? &f.A : &f.B;
  if (target->sizes() != value.sizes())
    throw error(errc::invalid_argument,
                fmt::format("{}: tensor '{}' has shape {}, the model expects {} (check the LoRA rank)", origin, key,
                            fmt::join(value.sizes().vec(), "x"), fmt::join(target->sizes().vec(), "x")));
  return target;
}

void adapter_bank::check(const std::map<std::string, torch::Tensor>& state, const std::string& origin) const {
  for (const auto& [key, value] : state)
    if (key != peft_score)
      target_of(key, value, origin);
}

void adapter_bank::load(const std::map<std::string, torch::Tensor>& state, const std::string& origin) {
  check(state, origin);  // all or nothing: a bad entry leaves every factor as it was
  torch::NoGradGuard no_grad;
  for (const auto& [key, value] : state)
    if (key != peft_score)
      if (auto* target = target_of(key, value, origin))
        target->copy_(value.to(target->dtype()));
}

int64_t adapter_bank::bytes() const {
  int64_t n = 0;
  for (const auto& p : parameters())
    n += p.numel() * static_cast<int64_t>(p.element_size());
  return n;
}

// -- classification head ----------------------------------------------------------------

torch::Tensor last_token_index(const torch::Tensor& attention_mask) {
  const int64_t T = attention_mask.size(1);
  auto pos = torch::arange(1, T + 1, attention_mask.options().dtype(torch::kLong));
  // Position+1 where there is a token, 0 elsewhere; argmax picks the last token, also with left padding.
  auto scored = attention_mask.to(torch::kLong).gt(0).to(torch::kLong) * pos.unsqueeze(0);
  return scored.argmax(1);
}

ClassifierImpl::ClassifierImpl(int64_t n_embd, int64_t num_labels) : num_labels_(num_labels) {
  if (num_labels < 2 || num_labels > 100000)
    bad_value(fmt::format("classifier: num_labels = {} is out of range; allowed 2..100000", num_labels));
  score = register_module("score", torch::nn::Linear(torch::nn::LinearOptions(n_embd, num_labels).bias(false)));
  torch::NoGradGuard no_grad;
  score->weight.normal_(0.0, 0.02);
}

torch::Tensor ClassifierImpl::forward(const torch::Tensor& hidden, const torch::Tensor& attention_mask) {
  const int64_t B = hidden.size(0), T = hidden.size(1);
  torch::Tensor idx = attention_mask.defined()
                          ? last_token_index(attention_mask)
                          : torch::full({B}, T - 1, torch::TensorOptions().dtype(torch::kLong));
  auto rows = torch::arange(B, torch::TensorOptions().dtype(torch::kLong).device(hidden.device()));
  auto pooled = hidden.index({rows, idx.to(hidden.device())}); // (B, C)
  return score(pooled);
}

// -- the three-segment split --------------------------------------------------------------

segment::segment(GPT2 model, segment_kind kind, int64_t first_block, int64_t last_block, Classifier classifier,
                 const adapter_bank* bank)
    : model_(std::move(model)), kind_(kind), first_(first_block), last_(last_block),
      classifier_(std::move(classifier)), bank_(bank) {
  if (first_ < 0 || last_ < first_ || last_ > model_->n_layer())
    bad_value(fmt::format("split: block range [{}, {}) is invalid for a model of {} layers", first_, last_,
                          model_->n_layer()));
}

torch::Tensor segment::forward(const torch::Tensor& input, const torch::Tensor& attention_mask) {
  if (kind_ == segment_kind::head) {
    input_ = torch::Tensor();
    output_ = model_->run_blocks(model_->embed(input), first_, last_, attention_mask, bank_);
    return output_;
  }
  // A fresh leaf: what arrives over the wire has no history here, and its .grad is what we send back.
  input_ = input.detach().requires_grad_(true);
  auto x = model_->run_blocks(input_, first_, last_, attention_mask, bank_);
  if (kind_ == segment_kind::tail) {
    x = model_->final_norm(x);
    x = classifier_ ? classifier_->forward(x, attention_mask) : model_->lm_logits(x);
  }
  output_ = x;
  return output_;
}

torch::Tensor segment::input_grad() const {
  if (!input_.defined())
    return {};
  auto g = input_.grad();
  return g.defined() ? g : torch::zeros_like(input_);
}

torch::Tensor segment::backward(const torch::Tensor& grad_output) {
  if (!output_.defined())
    throw error(errc::invalid_argument, "split: backward() called before forward()");
  if (output_.requires_grad())
    output_.backward(grad_output);
  auto g = input_grad();
  output_ = torch::Tensor();
  return g;
}

torch::Tensor segment::backward_loss(const torch::Tensor& loss) {
  if (!output_.defined())
    throw error(errc::invalid_argument, "split: backward_loss() called before forward()");
  if (loss.requires_grad())
    loss.backward();
  auto g = input_grad();
  output_ = torch::Tensor();
  return g;
}

void segment::release() {
  input_ = torch::Tensor();
  output_ = torch::Tensor();
}

std::vector<torch::Tensor> segment::trainable_parameters() const {
  std::vector<torch::Tensor> out;
  auto add = [&](const torch::nn::Module& m) {
    for (const auto& p : m.parameters())
      if (p.requires_grad())
        out.push_back(p);
  };
  if (kind_ == segment_kind::head) {
    add(*model_->wte);
    add(*model_->wpe);
  }
  for (int64_t i = first_; i < last_; ++i) {
    add(*model_->block(i));
    if (const auto* ad = bank_ ? bank_->block(i) : nullptr)
      for (const auto* f : ad->layer)
        if (f) {
          out.push_back(f->A);
          out.push_back(f->B);
        }
  }
  if (kind_ == segment_kind::tail) {
    add(*model_->ln_f);
    if (classifier_)
      add(*classifier_);
  }
  return out;
}

three_segments split_model(GPT2 model, int64_t a, int64_t b, Classifier classifier, const adapter_bank* bank) {
  const int64_t L = model->n_layer();
  if (a < 0 || b < 0 || a + b > L)
    bad_value(fmt::format("split: points (a = {}, b = {}) are invalid for {} layers; need a >= 0, b >= 0, a + b <= {}",
                          a, b, L, L));
  return three_segments{segment(model, segment_kind::head, 0, a, nullptr, bank),
                        segment(model, segment_kind::body, a, L - b, nullptr, bank),
                        segment(model, segment_kind::tail, L - b, L, std::move(classifier), bank)};
}

// -- names: HF base state and PEFT adapter state ----------------------------------------------

std::map<std::string, torch::Tensor> lora_state(const GPT2& model, const Classifier& classifier,
                                                int64_t first_block, int64_t last_block) {
  std::map<std::string, torch::Tensor> out;
  const int64_t last = last_block < 0 ? model->n_layer() : last_block;
  for (int64_t i = first_block; i < last; ++i) {
    for (const auto& [name, layer] : model->lora_layers(i)) {
      const std::string base = fmt::format("{}h.{}.{}", peft_prefix, i, name);
      out[base + ".lora_A.weight"] = layer->lora_A.detach().clone();
      out[base + ".lora_B.weight"] = layer->lora_B.detach().clone();
    }
  }
  if (classifier)
    out[peft_score] = classifier->score->weight.detach().clone();
  return out;
}

void load_lora_state(GPT2& model, const std::map<std::string, torch::Tensor>& state, const Classifier& classifier,
                     const std::string& origin) {
  std::map<std::string, torch::Tensor> targets;
  for (int64_t i = 0; i < model->n_layer(); ++i) {
    for (const auto& [name, layer] : model->lora_layers(i)) {
      const std::string base = fmt::format("{}h.{}.{}", peft_prefix, i, name);
      targets[base + ".lora_A.weight"] = layer->lora_A;
      targets[base + ".lora_B.weight"] = layer->lora_B;
    }
  }
  if (classifier)
    targets[peft_score] = classifier->score->weight;
  torch::NoGradGuard no_grad;
  for (const auto& [key, value] : state) {
    auto it = targets.find(key);
    if (it == targets.end())
      throw error(errc::invalid_argument,
                  fmt::format("{}: tensor '{}' has no matching adapter in the model (check the LoRA targets, "
                              "the number of layers and the classifier)",
                              origin, key));
    if (it->second.sizes() != value.sizes())
      throw error(errc::invalid_argument,
                  fmt::format("{}: tensor '{}' has shape {}, the model expects {} (check the LoRA rank)", origin,
                              key, fmt::join(value.sizes().vec(), "x"), fmt::join(it->second.sizes().vec(), "x")));
    it->second.copy_(value.to(it->second.dtype()));
  }
}

std::map<std::string, torch::Tensor> lora_state(const adapter_bank& bank, const Classifier& classifier,
                                                int64_t first_block, int64_t last_block) {
  auto out = bank.state(first_block, last_block);
  if (classifier)
    out[peft_score] = classifier->score->weight.detach().clone();
  return out;
}

namespace {

// The classifier's entry of `state` when there is one and a classifier to take it (shape checked), or null.
const torch::Tensor* score_entry(const std::map<std::string, torch::Tensor>& state, const Classifier& classifier,
                                 const std::string& origin) {
  auto it = state.find(peft_score);
  if (it == state.end() || !classifier)
    return nullptr;
  const auto& w = classifier->score->weight;
  if (w.sizes() != it->second.sizes())
    throw error(errc::invalid_argument,
                fmt::format("{}: tensor '{}' has shape {}, the classifier expects {} (check the task's labels)", origin,
                            peft_score, fmt::join(it->second.sizes().vec(), "x"), fmt::join(w.sizes().vec(), "x")));
  return &it->second;
}

} // namespace

void check_lora_state(const adapter_bank& bank, const std::map<std::string, torch::Tensor>& state,
                      const Classifier& classifier, const std::string& origin) {
  bank.check(state, origin);
  score_entry(state, classifier, origin);
}

void load_lora_state(adapter_bank& bank, const std::map<std::string, torch::Tensor>& state,
                     const Classifier& classifier, const std::string& origin) {
  const auto* score = score_entry(state, classifier, origin);  // before any copy: all or nothing
  bank.load(state, origin);
  if (!score)
    return;
  torch::NoGradGuard no_grad;
  classifier->score->weight.copy_(score->to(classifier->score->weight.dtype()));
}

std::map<std::string, torch::Tensor> base_state(const GPT2& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : model->named_parameters(true)) {
    const auto& key = item.key();
    if (key.find(".lora_A") != std::string::npos || key.find(".lora_B") != std::string::npos)
      continue;
    out[key] = item.value().detach();
  }
  return out;
}

void load_base_state(GPT2& model, const std::map<std::string, torch::Tensor>& state, const std::string& origin) {
  std::map<std::string, torch::Tensor> params;
  for (const auto& item : model->named_parameters(true)) {
    const auto& key = item.key();
    if (key.find(".lora_A") == std::string::npos && key.find(".lora_B") == std::string::npos)
      params[key] = item.value();
  }
  auto ends_with = [](const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  std::set<std::string> seen;
  torch::NoGradGuard no_grad;
  for (const auto& [raw_key, value] : state) {
    std::string key = raw_key;
    if (key.rfind("transformer.", 0) == 0)
      key = key.substr(12);
    if (ends_with(key, ".attn.bias") || ends_with(key, ".attn.masked_bias") || key == "lm_head.weight")
      continue; // HF's causal-mask buffers, and the LM head tied to wte
    auto it = params.find(key);
    if (it == params.end())
      throw error(errc::malformed_input,
                  fmt::format("{}: unknown tensor '{}'; expected Hugging Face GPT-2 names such as 'wte.weight' "
                              "or 'h.0.attn.c_attn.weight'",
                              origin, raw_key));
    if (it->second.sizes() != value.sizes())
      throw error(errc::malformed_input,
                  fmt::format("{}: tensor '{}' has shape [{}], config.json implies [{}]", origin, raw_key,
                              fmt::join(value.sizes().vec(), ", "), fmt::join(it->second.sizes().vec(), ", ")));
    if (!seen.insert(key).second)
      throw error(errc::malformed_input,
                  fmt::format("{}: tensor '{}' appears twice (with and without the 'transformer.' prefix)", origin,
                              key));
    it->second.copy_(value.to(torch::kFloat32));
  }
  for (const auto& [key, p] : params)
    if (!seen.count(key))
      throw error(errc::malformed_input, fmt::format("{}: tensor '{}' is missing", origin, key));
}

} // namespace elsa::model
