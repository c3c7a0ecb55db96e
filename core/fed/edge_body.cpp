// The edge side of U-shaped split training (see edge_body.hpp).
#include "core/fed/edge_body.hpp"

#include <map>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/fed/adapters.hpp"
#include "core/fed/lora_model.hpp"
#include "core/fed/tensor_bridge.hpp"

namespace elsa::fed {

namespace {

// One client's body: its own adapters over the shared base, the body segment over both, and the optimizer.
struct slot {
  std::unique_ptr<model::adapter_bank> bank;   // null under whole_model
  model::Classifier classifier{nullptr};      // two_part only
  std::string task;                           // two_part only
  std::unique_ptr<model::segment> body;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::vector<torch::Tensor> params;
  int64_t a = 1, b = 1;
  bool pending = false;
  std::vector<int64_t> shape;  // of the pending step's activation
  // Adapters that arrived while a step was pending: checked at once, copied in when the step ends.
  std::optional<std::map<std::string, torch::Tensor>> deferred;

  // The step after a backward: clip to [train] grad_clip, AdamW, and free the gradients.
  void step(const run::run_config& cfg) {
    if (cfg.grad_clip > 0)
      torch::nn::utils::clip_grad_norm_(params, cfg.grad_clip);
    optimizer->step();
    drop_grads(params);
  }

  void apply_deferred(uint32_t client) {
    if (!deferred)
      return;
    auto state = std::move(*deferred);
    deferred.reset();
    if (classifier)
      model::load_lora_state(*bank, state, classifier, fmt::format("server-side adapters for client {}", client));
    else
      bank->load(state, fmt::format("body adapters for client {}", client));
  }
};

} // namespace

struct edge_body::impl {
  run::run_config cfg;
  base_ptr base;
  model::GPT2 model{nullptr};  // base->module(), run with each slot's bank
  std::map<uint32_t, slot> slots;
  std::vector<client_task> tasks;

  // A slot that runs a body (not whole_model) for `what`, else elsa::error.
  slot& running(uint32_t client, const char* what) {
    auto& s = at(client);
    if (cfg.whole_model())
      throw error(errc::invalid_argument,
                  fmt::format("client {}: a {} request, but with [split] layout = \"whole_model\" this edge runs no "
                              "blocks", client, what));
    if (!s.body)
      throw error(errc::invalid_argument, fmt::format("edge: the slot of client {} was never built", client));
    return s;
  }

  slot& at(uint32_t client) {
    auto it = slots.find(client);
    if (it == slots.end())
      throw error(errc::invalid_argument, fmt::format("edge has no body slot for client {}", client));
    return it->second;
  }
};

edge_body::edge_body(const run::run_config& cfg, base_ptr base, std::vector<client_task> tasks)
  : impl_(std::make_unique<impl>()) {
  impl_->cfg = cfg;
  impl_->tasks = std::move(tasks);
  impl_->base = std::move(base);
  impl_->model = impl_->base->module();
}

edge_body::~edge_body() = default;

bool edge_body::add_client(uint32_t client, int64_t head_blocks, int64_t tail_blocks,
                           const std::vector<messages::named_tensor>& cluster_set) {
  const int64_t L = impl_->model->n_layer();
  const auto& cfg = impl_->cfg;
  check_split(L, head_blocks, tail_blocks, cfg.two_part());
  auto it = impl_->slots.find(client);
  const bool fresh = it == impl_->slots.end();
  if (!fresh && it->second.a == head_blocks && it->second.b == tail_blocks)
    return false;
  if (cfg.two_part() && (fresh || !it->second.classifier)
      && (client >= impl_->tasks.size() || impl_->tasks[client].num_labels < 2))
    throw error(errc::invalid_argument, fmt::format("edge: no task known for client {} (a two-part split's edge "
                                                    "runs its classifier)", client));
  slot* s = &impl_->slots[client];
  try {
    if (!cfg.whole_model()) {  // (whole_model: an empty slot, the client runs its blocks itself)
      if (cfg.two_part() && !s->classifier) {
        s->task = impl_->tasks[client].task;
        s->classifier = model::Classifier(impl_->model->config().n_embd, impl_->tasks[client].num_labels);
      }
      const auto kept = s->bank ? s->bank->blocks() : std::vector<int64_t>{};
      auto bank = make_bank(*impl_->base, cfg, block_range(head_blocks, L - tail_blocks), s->bank.get(),
                            fmt::format("body slot of client {} re-split", client));
      s->body.reset();
      s->bank = std::move(bank);
      // two_part: blocks [a, L) with ln_f and the classifier, a tail segment; otherwise the body.
      s->body = std::make_unique<model::segment>(impl_->model,
                                                 cfg.two_part() ? model::segment_kind::tail : model::segment_kind::body,
                                                 head_blocks, L - tail_blocks, s->classifier, s->bank.get());
      s->params = s->body->trainable_parameters();
      s->optimizer = std::make_unique<torch::optim::AdamW>(
        s->params, torch::optim::AdamWOptions(impl_->cfg.lr).weight_decay(impl_->cfg.weight_decay));
      s->pending = false;
      const auto moved = moved_blocks(cluster_set, head_blocks, L - tail_blocks, kept);
      if (!moved.empty())
        s->bank->load(from_wire(moved), fmt::format("body slot of client {}: blocks moved here by a re-split", client));
    }
  } catch (...) {
    if (fresh)
      impl_->slots.erase(client);  // nothing half-built stays behind: a retry fails (or succeeds) the same way
    throw;
  }
  s->a = head_blocks;  // only once the slot is built: the same split again would otherwise skip a failed build
  s->b = tail_blocks;
  return true;
}

void edge_body::remove_client(uint32_t client) {
  impl_->slots.erase(client);
}

bool edge_body::has_client(uint32_t client) const {
  return impl_->slots.count(client) > 0;
}

std::vector<uint32_t> edge_body::clients() const {
  std::vector<uint32_t> out;
  for (const auto& kv : impl_->slots)
    out.push_back(kv.first);
  return out;
}

void edge_body::load_adapters(uint32_t client, const std::vector<messages::named_tensor>& adapters) {
  auto& s = impl_->at(client);
  if (impl_->cfg.whole_model())
    return;  // nothing runs here
  // Heads (any task's) belong to the clients; on a two-part split this client's task's head is the slot's.
  auto state = from_wire(s.classifier ? for_task(adapters, s.task) : lora_only(adapters));
  const auto origin = fmt::format("{} adapters for client {}", s.classifier ? "server-side" : "body", client);
  if (s.pending) {
    // New values under a graph still in flight would break its backward: they wait for the step's end.
    if (s.classifier)
      model::check_lora_state(*s.bank, state, s.classifier, origin);
    else
      s.bank->check(state, origin);
    for (auto& kv : state)
      kv.second = kv.second.clone();
    s.deferred = std::move(state);
    return;
  }
  if (s.classifier)
    model::load_lora_state(*s.bank, state, s.classifier, origin);
  else
    s.bank->load(state, origin);
}

namespace {

// The activation of a step or probe batch as the body takes it, with its attention mask; elsa::error
// (malformed_input) naming the client on a wrong shape or length.
std::pair<torch::Tensor, torch::Tensor> body_input(const frozen_base& base, uint32_t client,
                                                   const messages::tensor_bytes& activation,
                                                   const std::vector<uint32_t>& lengths) {
  auto h = from_wire(activation);
  const auto& mc = base.config();
  if (h.dim() != 3 || h.size(2) != mc.n_embd || h.size(1) > mc.n_positions)
    throw error(errc::malformed_input, fmt::format("client {}: activation has shape [{}], expected (B, T<={}, {})",
                                                   client, fmt::join(h.sizes().vec(), ","), mc.n_positions,
                                                   mc.n_embd));
  if (lengths.size() != static_cast<std::size_t>(h.size(0)))
    throw error(errc::malformed_input, fmt::format("client {}: {} sequence lengths for a batch of {}", client,
                                                   lengths.size(), h.size(0)));
  auto mask = torch::zeros({h.size(0), h.size(1)}, torch::kLong);
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] < 1 || lengths[i] > h.size(1))
      throw error(errc::malformed_input, fmt::format("client {}: sequence length {} outside 1..{}", client,
                                                     lengths[i], h.size(1)));
    mask[static_cast<int64_t>(i)].narrow(0, 0, lengths[i]).fill_(1);
  }
  return {h, mask};
}

} // namespace

messages::tensor_bytes edge_body::forward(uint32_t client, const messages::tensor_bytes& activation,
                                          const std::vector<uint32_t>& lengths) {
  auto& s = impl_->running(client, "forward");
  if (s.classifier)
    throw error(errc::invalid_argument, fmt::format("client {}: a body forward on a two-part split (its steps are "
                                                    "one request with the labels)", client));
  auto [h, mask] = body_input(*impl_->base, client, activation, lengths);
  auto out = guarded(fmt::format("body forward of client {}", client), [&] {
    s.optimizer->zero_grad();
    return s.body->forward(h, mask);
  });
  s.pending = true;
  s.shape = h.sizes().vec();
  return to_wire(out, wire_type(impl_->cfg.activations));
}

messages::tensor_bytes edge_body::probe_forward(uint32_t client, const messages::tensor_bytes& activation,
                                                const std::vector<uint32_t>& lengths) {
  auto& s = impl_->running(client, "probe");
  if (s.classifier)
    throw error(errc::invalid_argument, fmt::format("client {}: probes need the U-shaped split", client));
  auto [h, mask] = body_input(*impl_->base, client, activation, lengths);
  torch::NoGradGuard no_grad;
  // run_blocks directly, not the segment: the segment keeps its input and output for a pending backward.
  const int64_t L = impl_->model->n_layer();
  return to_wire(guarded(fmt::format("probe body forward of client {}", client),
                         [&] { return impl_->model->run_blocks(h, s.a, L - s.b, mask, s.bank.get()); }),
                 wire_type(impl_->cfg.activations));
}

messages::tensor_bytes edge_body::backward(uint32_t client, const messages::tensor_bytes& grad_output) {
  auto& s = impl_->running(client, "backward");
  if (!s.pending)
    throw error(errc::invalid_argument, fmt::format("client {}: gradient without a pending forward", client));
  auto g = from_wire(grad_output);
  if (g.sizes().vec() != s.shape)
    throw error(errc::malformed_input, fmt::format("client {}: gradient has shape [{}], expected [{}]", client,
                                                   fmt::join(g.sizes().vec(), ","), fmt::join(s.shape, ",")));
  s.pending = false;
  auto grad_in = guarded(fmt::format("body backward of client {}", client), [&] {
    auto gi = s.body->backward(g);
    s.step(impl_->cfg);
    return gi;
  });
  s.apply_deferred(client);
  return to_wire(grad_in, wire_type(impl_->cfg.activations));
}

edge_step edge_body::train_step(uint32_t client, const messages::tensor_bytes& activation,
                                const std::vector<uint32_t>& lengths, const std::vector<uint32_t>& labels) {
  auto& s = impl_->running(client, "two-part step");
  if (!s.classifier)
    throw error(errc::invalid_argument,
                fmt::format("client {}: a step with labels needs [split] layout = \"two_part\"", client));
  auto [h, mask] = body_input(*impl_->base, client, activation, lengths);
  if (labels.size() != static_cast<std::size_t>(h.size(0)))
    throw error(errc::malformed_input, fmt::format("client {}: {} labels for a batch of {}", client, labels.size(),
                                                   h.size(0)));
  auto y = torch::empty({h.size(0)}, torch::kLong);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= static_cast<uint32_t>(s.classifier->num_labels()))
      throw error(errc::malformed_input, fmt::format("client {}: label {} outside 0..{} of task {}", client, labels[i],
                                                     s.classifier->num_labels() - 1, s.task));
    y[static_cast<int64_t>(i)] = static_cast<int64_t>(labels[i]);
  }
  edge_step out;
  auto grad_in = guarded(fmt::format("server-side step of client {}", client), [&] {
    s.optimizer->zero_grad();
    auto logits = s.body->forward(h, mask);
    auto loss = torch::nn::functional::cross_entropy(logits, y);
    out.loss = loss.item<double>();
    auto gi = s.body->backward_loss(loss);
    s.step(impl_->cfg);
    return gi;
  });
  s.apply_deferred(client);
  out.head_grad = to_wire(grad_in, wire_type(impl_->cfg.activations));
  return out;
}

void edge_body::abandon_step(uint32_t client) {
  auto it = impl_->slots.find(client);
  if (it == impl_->slots.end() || !it->second.body)
    return;
  drop_grads(it->second.params);
  it->second.body->release();
  it->second.pending = false;
  it->second.apply_deferred(client);
}

std::vector<messages::named_tensor> edge_body::adapters(uint32_t client) const {
  const auto& s = impl_->at(client);
  if (!s.bank)
    return {};
  if (s.classifier)
    return with_task_head(to_wire(model::lora_state(*s.bank, s.classifier)), s.task);
  return to_wire(model::lora_state(*s.bank));
}

} // namespace elsa::fed
