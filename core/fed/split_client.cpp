// The client side of U-shaped split training (see split_client.hpp).
#include "core/fed/split_client.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/fed/adapters.hpp"
#include "core/fed/batch_sampler.hpp"
#include "core/fed/lora_model.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "core/privacy/ssop.hpp"
#include "core/train/classify.hpp"

#include <ATen/CPUGeneratorImpl.h>

namespace elsa::fed {

namespace {

// The client's training examples as it trains on them: the shard's texts, at most max_len tokens each,
// ending in <|endoftext|>.
std::vector<train::encoded> encode_shard(const run::run_config& cfg, const federation_data& data, uint32_t client,
                                         const text::bpe_tokenizer& tok) {
  const auto& shard = data.shards.at(client);
  const auto& td = *data.tasks.at(shard.task_index);
  std::vector<data::example> mine;
  mine.reserve(shard.indices.size());
  for (auto i : shard.indices)
    mine.push_back(td.train.at(i));
  if (mine.empty())
    throw error(errc::invalid_argument, fmt::format("client {} has no training examples", client));
  return train::encode_examples(tok, mine, cfg.max_len, true);
}

// (rows, C) in f64: each row's hidden state at its last real token, from the final states x (rows, T, C).
torch::Tensor last_token_states(const torch::Tensor& x, const torch::Tensor& mask) {
  auto last = (mask.sum(1) - 1).clamp_min(0);
  return x.index({torch::arange(x.size(0)), last}).to(torch::kFloat64);
}

} // namespace

std::vector<std::vector<int32_t>> client_token_ids(const run::run_config& cfg, const federation_data& data,
                                                   uint32_t client, const text::bpe_tokenizer& tok) {
  std::vector<std::vector<int32_t>> out;
  for (auto& e : encode_shard(cfg, data, client, tok))
    out.push_back(std::move(e.ids));
  return out;
}

struct split_client::impl {
  run::run_config cfg;
  uint32_t id = 0;
  std::string task;  // its head's task, as in [data] tasks
  int32_t pad = 0;
  std::vector<train::encoded> examples;
  std::optional<batch_sampler> sampler;
  base_ptr base;                            // shared with every participant of the process, read-only
  model::GPT2 model{nullptr};               // base->module(): run with `bank`, never modified
  std::unique_ptr<model::adapter_bank> bank;  // this client's own adapters: head blocks + tail blocks
  model::Classifier classifier{nullptr};  // null on a two-part split: the edge holds the classifier
  int64_t num_labels = 0;
  int64_t a = 1, b = 1;
  std::unique_ptr<model::three_segments> segments;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::vector<torch::Tensor> params;
  // the step in progress
  bool in_step = false;
  // Adapters that arrived during a step: checked at once, copied in when the step ends (its backward
  // needs the weights its forward used).
  std::optional<std::map<std::string, torch::Tensor>> deferred;

  std::string origin() const {
    return fmt::format("adapters for client {}", id);
  }

  void apply_deferred() {
    if (!deferred)
      return;
    auto state = std::move(*deferred);
    deferred.reset();
    model::load_lora_state(*bank, state, classifier, origin());
  }
  train::classify_batch batch;
  double loss = 0;
  int64_t batch_tokens = 0;
  int64_t batch_positions = 0;  // B x T of the padded batch: what the step computes on
  // Byzantine behaviour (set_byzantine): "", label_flip, random_update or scaled_update.
  std::string attack;
  double attack_scale = 1.0;
  std::mt19937_64 attack_rng;
  std::map<std::string, torch::Tensor> round_start;  // update attackers: the adapters the round began with

  // A tensor of noise with `scale` times the norm of `like` (0 stays 0), from the attacker's own generator.
  torch::Tensor noise_like(const torch::Tensor& like, double scale) {
    auto gen = at::detail::createCPUGenerator(attack_rng());
    auto z = at::normal(0.0, 1.0, like.sizes(), gen, like.options());
    const double n = z.norm().item<double>();
    return n > 0 ? z * (scale * like.norm().item<double>() / n) : z;
  }

  // Fingerprints: the process's encoded probes and the hidden states (per batch) of the one in progress.
  std::shared_ptr<const std::vector<std::vector<int32_t>>> probes;
  std::map<std::size_t, torch::Tensor> probe_hidden;  // batch -> (rows, C) at each probe's last real token
  torch::Tensor probe_base;  // (Q, C): the public base's (no adapters) last-token states, once (displacement)

  // The public base model's final hidden state at each probe's last real token: the same for every client,
  // computed here from the process's frozen base (nothing crosses the network for it).
  const torch::Tensor& base_probe_states() {
    if (probe_base.defined())
      return probe_base;
    torch::NoGradGuard no_grad;
    auto model = base->module();
    std::vector<torch::Tensor> rows;
    for (std::size_t i = 0; i * probe_batch_size < probes->size(); ++i) {
      auto batch = probe_batch(i);
      auto x = model->final_norm(model->run_blocks(model->embed(batch.ids), 0, model->n_layer(), batch.mask, nullptr));
      rows.push_back(last_token_states(x, batch.mask));
    }
    probe_base = torch::cat(rows, 0);
    return probe_base;
  }

  train::classify_batch probe_batch(std::size_t i) const {
    if (!probes || i >= (probes->size() + probe_batch_size - 1) / probe_batch_size)
      throw error(errc::invalid_argument, fmt::format("client {}: no probe batch {}", id, i));
    return train::make_token_batch(*probes, i * probe_batch_size, (i + 1) * probe_batch_size, pad);
  }

  // SS-OP ([privacy] ssop): the basis of the public head outputs at the current split, and the noise's own
  // generator (seeded per client).
  torch::Tensor ssop_basis;
  int64_t ssop_basis_blocks = -1;  // the head depth ssop_basis is of
  std::optional<at::Generator> ssop_gen;

  // U_k of the public base head (no adapters: the same for every client) over every real probe token.
  void compute_ssop_basis() {
    if (!cfg.ssop || ssop_basis_blocks == a)
      return;
    if (!probes || probes->empty())
      throw error(errc::invalid_argument, "[privacy] ssop needs the public probes ([elsa] probes > 0)");
    ssop_basis = privacy::principal_directions(base_head_outputs(*base, *probes, a, pad, probe_batch_size), cfg.ssop_k);
    ssop_basis_blocks = a;
  }

  // [split] layout: u_shaped holds the head and tail blocks; whole_model every block (the body segment runs
  // here too); two_part the head blocks only (b = 0).
  void build(int64_t head_blocks, int64_t tail_blocks) {
    const int64_t L = model->n_layer();
    check_split(L, head_blocks, tail_blocks, cfg.two_part());
    auto blocks = block_range(0, cfg.whole_model() ? L : head_blocks);
    if (!cfg.whole_model())
      for (int64_t i = L - tail_blocks; i < L; ++i)
        blocks.push_back(i);
    auto fresh = make_bank(*base, cfg, blocks, bank.get(), fmt::format("client {} re-split", id));
    segments.reset();
    bank = std::move(fresh);
    a = head_blocks;
    b = tail_blocks;
    segments = std::make_unique<model::three_segments>(model::split_model(model, a, b, classifier, bank.get()));
    params = segments->head.trainable_parameters();
    if (cfg.whole_model())
      for (auto& p : segments->body.trainable_parameters())
        params.push_back(p);
    if (!cfg.two_part())
      for (auto& p : segments->tail.trainable_parameters())
        params.push_back(p);
    optimizer = std::make_unique<torch::optim::AdamW>(
      params, torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay));
    in_step = false;
  }

  // A tensor the edge sent back for the step in progress: it must exist and have the batch's (B, T, C).
  torch::Tensor step_tensor(const messages::tensor_bytes& x, const char* what) const {
    if (!in_step)
      throw error(errc::invalid_argument, fmt::format("client {}: {} without a step in progress", id, what));
    auto t = from_wire(x);
    const auto expected = std::vector<int64_t>{batch.ids.size(0), batch.ids.size(1), model->config().n_embd};
    if (t.sizes().vec() != expected)
      throw error(errc::malformed_input, fmt::format("client {}: {} has shape [{}], expected [{}]", id, what,
                                                     fmt::join(t.sizes().vec(), ","), fmt::join(expected, ",")));
    return t;
  }

  // A step's start: gradients cleared, the next batch drawn (labels flipped by a label_flip attacker) and
  // counted; returns each row's real length.
  torch::Tensor draw_batch() {
    optimizer->zero_grad();
    batch = train::make_classify_batch(next_batch(), pad);
    if (attack == "label_flip")
      batch.labels = num_labels - 1 - batch.labels;
    auto lengths = batch.mask.sum(1);
    batch_tokens = lengths.sum().item<int64_t>();
    batch_positions = batch.ids.numel();
    return lengths;
  }

  std::vector<const train::encoded*> next_batch() {
    std::vector<const train::encoded*> items;
    for (auto i : sampler->next(static_cast<std::size_t>(cfg.batch_size)))
      items.push_back(&examples[i]);
    return items;
  }
};

split_client::split_client(const run::run_config& cfg, const federation_data& data, uint32_t client,
                           const text::bpe_tokenizer& tok, base_ptr base)
  : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  s.cfg = cfg;
  s.id = client;
  s.pad = tok.eot_id();
  const auto& shard = data.shards.at(client);
  s.task = data.tasks.at(shard.task_index)->name;
  s.examples = encode_shard(cfg, data, client, tok);
  s.sampler.emplace(s.examples.size(), batch_sampler::client_seed(cfg.seed, client));
  s.probes = data.probes;
  s.ssop_gen = at::detail::createCPUGenerator(cfg.seed * 2654435761ULL + 97 * client + 13);
  s.base = std::move(base);
  s.model = s.base->module();
  s.num_labels = data.num_labels(shard.task_index);
  if (!cfg.two_part())
    s.classifier = model::Classifier(s.model->config().n_embd, s.num_labels);
  s.build(cfg.head_blocks, cfg.client_tail_blocks());
  s.compute_ssop_basis();  // at once: a bad ssop_k or missing probes fail the set-up, not a step
}

split_client::~split_client() = default;

uint32_t split_client::id() const {
  return impl_->id;
}

uint64_t split_client::sample_count() const {
  return impl_->examples.size();
}

bool split_client::set_split(int64_t head_blocks, int64_t tail_blocks,
                             const std::vector<messages::named_tensor>& cluster_set) {
  auto& s = *impl_;
  if (head_blocks == s.a && tail_blocks == s.b)
    return false;
  const auto kept = s.bank->blocks();
  s.build(head_blocks, tail_blocks);
  const int64_t L = s.model->n_layer();
  auto moved = moved_blocks(cluster_set, 0, s.a, kept);
  for (auto& nt : moved_blocks(cluster_set, L - s.b, L, kept))
    moved.push_back(nt);
  if (!moved.empty())
    s.bank->load(from_wire(moved), fmt::format("client {}: blocks moved here by a re-split", s.id));
  return true;
}

int64_t split_client::head_blocks() const {
  return impl_->a;
}

int64_t split_client::tail_blocks() const {
  return impl_->b;
}

void split_client::load_adapters(const std::vector<messages::named_tensor>& adapters) {
  auto& s = *impl_;
  // A cluster's set may hold other tasks' heads; on a two-part split the edge holds this task's.
  auto state = from_wire(s.cfg.two_part() ? lora_only(adapters) : for_task(adapters, s.task));
  if (s.in_step) {
    model::check_lora_state(*s.bank, state, s.classifier, s.origin());
    for (auto& kv : state)
      kv.second = kv.second.clone();  // own the values: the message they view may go away
    s.deferred = std::move(state);
    return;
  }
  model::load_lora_state(*s.bank, state, s.classifier, s.origin());
}

head_output split_client::begin_step() {
  auto& s = *impl_;
  const auto lengths = s.draw_batch();
  auto act = guarded(fmt::format("head forward of client {}", s.id),
                     [&] { return s.segments->head.forward(s.batch.ids, s.batch.mask); });
  head_output out;
  if (s.cfg.ssop) {
    // The noise goes on what is sent, not into the head's graph: d(act + noise)/d act = I, so the edge's
    // gradient back-propagates through the head unchanged.
    s.compute_ssop_basis();
    out.activation = to_wire(act.detach() + privacy::ssop_noise(act, s.ssop_basis, s.cfg.ssop_sigma, *s.ssop_gen),
                             wire_type(s.cfg.activations));
  } else {
    out.activation = to_wire(act, wire_type(s.cfg.activations));
  }
  auto la = lengths.accessor<int64_t, 1>();
  for (int64_t i = 0; i < lengths.size(0); ++i)
    out.lengths.push_back(static_cast<uint32_t>(la[i]));
  if (s.cfg.two_part()) {
    auto labels = s.batch.labels.to(torch::kLong).contiguous();
    auto lb = labels.accessor<int64_t, 1>();
    for (int64_t i = 0; i < labels.size(0); ++i)
      out.labels.push_back(static_cast<uint32_t>(lb[i]));
  }
  s.in_step = true;
  return out;
}

double split_client::local_step() {
  auto& s = *impl_;
  if (!s.cfg.whole_model())
    throw error(errc::invalid_argument, fmt::format("client {}: a local step needs [split] layout = \"whole_model\"", s.id));
  s.draw_batch();
  // The three segments in turn, as the split runs them (the same numerics), without a wire between them.
  guarded(fmt::format("local step of client {}", s.id), [&] {
    auto h = s.segments->head.forward(s.batch.ids, s.batch.mask);
    auto y = s.segments->body.forward(h, s.batch.mask);
    auto logits = s.segments->tail.forward(y, s.batch.mask);
    auto loss = torch::nn::functional::cross_entropy(logits, s.batch.labels);
    s.loss = loss.item<double>();
    auto g = s.segments->tail.backward_loss(loss);
    s.segments->head.backward(s.segments->body.backward(g));
    if (s.cfg.grad_clip > 0)
      torch::nn::utils::clip_grad_norm_(s.params, s.cfg.grad_clip);
    s.optimizer->step();
    drop_grads(s.params);
  });
  s.apply_deferred();
  return s.loss;
}

messages::tensor_bytes split_client::tail_step(const messages::tensor_bytes& body_output) {
  auto& s = *impl_;
  auto h = s.step_tensor(body_output, "body output");
  return guarded(fmt::format("tail step of client {}", s.id), [&] {
    auto logits = s.segments->tail.forward(h, s.batch.mask);
    auto loss = torch::nn::functional::cross_entropy(logits, s.batch.labels);
    s.loss = loss.item<double>();
    auto g = s.segments->tail.backward_loss(loss);
    if (s.attack == "scaled_update")
      g = g * s.attack_scale;
    else if (s.attack == "random_update")
      g = s.noise_like(g, s.attack_scale);
    return to_wire(g, wire_type(s.cfg.activations));
  });
}

double split_client::finish_step(const messages::tensor_bytes& head_grad, double edge_loss) {
  auto& s = *impl_;
  auto g = s.step_tensor(head_grad, "head gradient");
  s.in_step = false;
  guarded(fmt::format("head backward of client {}", s.id), [&] {
    s.segments->head.backward(g);
    if (s.cfg.grad_clip > 0)
      torch::nn::utils::clip_grad_norm_(s.params, s.cfg.grad_clip);
    s.optimizer->step();
    drop_grads(s.params);
  });
  s.apply_deferred();
  return s.cfg.two_part() ? edge_loss : s.loss;
}

void split_client::abandon_step() {
  drop_grads(impl_->params);
  impl_->segments->head.release();
  impl_->segments->body.release();
  impl_->segments->tail.release();
  impl_->apply_deferred();
  impl_->in_step = false;
}

bool split_client::step_in_progress() const {
  return impl_->in_step;
}

int64_t split_client::last_batch_tokens() const {
  return impl_->batch_tokens;
}

int64_t split_client::last_batch_positions() const {
  return impl_->batch_positions;
}

int64_t split_client::last_batch_rows() const {
  return impl_->batch.ids.defined() ? impl_->batch.ids.size(0) : 0;
}

std::vector<messages::named_tensor> split_client::adapters() const {
  const auto& s = *impl_;
  const int64_t L = s.model->n_layer();  // the bank holds the client's blocks (every one under whole_model)
  return with_task_head(to_wire(model::lora_state(*s.bank, s.classifier, 0, L)), s.task);
}

const std::string& split_client::task() const {
  return impl_->task;
}

void split_client::set_byzantine(const std::string& mode, double scale, uint64_t seed) {
  if (mode != "label_flip" && mode != "random_update" && mode != "scaled_update")
    throw error(errc::invalid_argument, fmt::format("client {}: no byzantine mode '{}'", impl_->id, mode));
  impl_->attack = mode;
  impl_->attack_scale = scale;
  impl_->attack_rng.seed(seed);
}

void split_client::skip_batches(std::size_t batches) {
  auto& s = *impl_;
  for (std::size_t i = 0; i < batches; ++i)
    s.sampler->next(static_cast<std::size_t>(s.cfg.batch_size));
}

void split_client::begin_round() {
  auto& s = *impl_;
  if (s.attack != "random_update" && s.attack != "scaled_update")
    return;
  s.round_start.clear();
  for (auto& [k, v] : model::lora_state(*s.bank, s.classifier, 0, s.model->n_layer()))
    s.round_start[k] = v.detach().clone();
}

void split_client::end_round() {
  auto& s = *impl_;
  if (s.round_start.empty())
    return;
  torch::NoGradGuard no_grad;
  auto now = model::lora_state(*s.bank, s.classifier, 0, s.model->n_layer());
  std::map<std::string, torch::Tensor> attack;
  for (auto& [k, v] : now) {
    auto start = s.round_start.count(k) ? s.round_start.at(k) : v.detach().clone();
    auto delta = v.detach() - start;
    attack[k] = s.attack == "scaled_update" ? start + s.attack_scale * delta : start + s.noise_like(delta, s.attack_scale);
  }
  model::load_lora_state(*s.bank, attack, s.classifier, s.origin());
}

std::size_t split_client::probe_batches() const {
  const auto& s = *impl_;
  return s.probes ? (s.probes->size() + probe_batch_size - 1) / probe_batch_size : 0;
}

head_output split_client::probe_head(std::size_t i) {
  auto& s = *impl_;
  auto batch = s.probe_batch(i);
  torch::NoGradGuard no_grad;
  auto act = guarded(fmt::format("probe head of client {}", s.id),
                     [&] { return s.model->run_blocks(s.model->embed(batch.ids), 0, s.a, batch.mask, s.bank.get()); });
  head_output out;
  out.activation = to_wire(act, wire_type(s.cfg.activations));
  const auto lengths = batch.mask.sum(1);
  auto la = lengths.accessor<int64_t, 1>();
  for (int64_t r = 0; r < lengths.size(0); ++r)
    out.lengths.push_back(static_cast<uint32_t>(la[r]));
  return out;
}

void split_client::probe_tail(std::size_t i, const messages::tensor_bytes& body_output) {
  auto& s = *impl_;
  auto batch = s.probe_batch(i);
  auto h = from_wire(body_output);
  const auto expected = std::vector<int64_t>{batch.ids.size(0), batch.ids.size(1), s.model->config().n_embd};
  if (h.sizes().vec() != expected)
    throw error(errc::malformed_input, fmt::format("client {}: probe body output has shape [{}], expected [{}]", s.id,
                                                   fmt::join(h.sizes().vec(), ","), fmt::join(expected, ",")));
  torch::NoGradGuard no_grad;
  const int64_t L = s.model->n_layer();
  auto out = guarded(fmt::format("probe tail of client {}", s.id), [&] {
    return last_token_states(s.model->final_norm(s.model->run_blocks(h, L - s.b, L, batch.mask, s.bank.get())),
                             batch.mask);
  });
  s.probe_hidden[i] = out;
}

messages::fingerprint split_client::fingerprint(uint32_t round, const std::string& form, double shrinkage,
                                                int64_t vocab) {
  auto& s = *impl_;
  const auto batches = probe_batches();
  if (batches == 0 || s.probe_hidden.size() != batches)
    throw error(errc::invalid_argument, fmt::format("client {}: fingerprint with {} of {} probe batches in", s.id,
                                                    s.probe_hidden.size(), batches));
  std::vector<torch::Tensor> parts;
  for (auto& kv : s.probe_hidden)
    parts.push_back(kv.second);
  s.probe_hidden.clear();
  auto h = torch::cat(parts, 0);  // (Q, C), f64
  messages::fingerprint fp;
  fp.round = round;
  fp.client_id = s.id;
  fp.probe_count = static_cast<uint32_t>(h.size(0));
  torch::NoGradGuard no_grad;
  if (form == "predictive") {
    const auto V = s.model->config().vocab_size;
    const int64_t first = std::min<int64_t>(256, V - 1);
    const int64_t n = std::min<int64_t>(vocab, V - first);
    auto logits = s.model->lm_logits(h.to(torch::kFloat32).unsqueeze(0)).squeeze(0);  // (Q, V)
    auto p = torch::softmax(logits.narrow(1, first, n).to(torch::kFloat64), 1).to(torch::kFloat32);
    fp.form = messages::predictive_fingerprint{to_wire(p.contiguous())};
    return fp;
  }
  if (form == "displacement")
    h = h - s.base_probe_states();  // what this client's adapters changed, probe by probe
  auto mean = h.mean(0);
  auto var = h.var(0, /*unbiased=*/false);
  var = (1.0 - shrinkage) * var + shrinkage * var.mean() + 1e-6;
  fp.form = messages::gaussian_fingerprint{to_wire(mean.to(torch::kFloat32).contiguous()),
                                           to_wire(var.to(torch::kFloat32).contiguous())};
  return fp;
}

} // namespace elsa::fed

namespace elsa::fed {

void set_torch_threads(int64_t threads) {
  torch::set_num_threads(static_cast<int>(threads));
}

} // namespace elsa::fed
