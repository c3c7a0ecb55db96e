// The client side of U-shaped split training (see split_client.hpp).
#include "core/fed/split_client.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/fed/lora_model.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "core/train/classify.hpp"

namespace elsa::fed {

struct split_client::impl {
  run::run_config cfg;
  uint32_t id = 0;
  int32_t pad = 0;
  std::vector<train::encoded> examples;
  std::vector<std::size_t> order;  // this epoch's permutation
  std::size_t cursor = 0;
  std::mt19937_64 rng;
  base_ptr base;                            // shared with every participant of the process, read-only
  model::GPT2 model{nullptr};               // base->module(): run with `bank`, never modified
  std::unique_ptr<model::adapter_bank> bank;  // this client's own adapters: head blocks + tail blocks
  model::Classifier classifier{nullptr};
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

  void build(int64_t head_blocks, int64_t tail_blocks) {
    const int64_t L = model->n_layer();
    check_split(L, head_blocks, tail_blocks);
    auto blocks = block_range(0, head_blocks);
    for (int64_t i = L - tail_blocks; i < L; ++i)
      blocks.push_back(i);
    auto fresh = make_bank(*base, cfg, blocks, bank.get(), fmt::format("client {} re-split", id));
    segments.reset();
    bank = std::move(fresh);
    a = head_blocks;
    b = tail_blocks;
    segments = std::make_unique<model::three_segments>(model::split_model(model, a, b, classifier, bank.get()));
    params = segments->head.trainable_parameters();
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

  std::vector<const train::encoded*> next_batch() {
    std::vector<const train::encoded*> items;
    while (static_cast<int64_t>(items.size()) < cfg.batch_size) {
      if (cursor == order.size()) {
        std::shuffle(order.begin(), order.end(), rng);
        cursor = 0;
      }
      items.push_back(&examples[order[cursor++]]);
    }
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
  const auto& td = *data.tasks.at(shard.task_index);
  std::vector<data::example> mine;
  mine.reserve(shard.indices.size());
  for (auto i : shard.indices)
    mine.push_back(td.train.at(i));
  if (mine.empty())
    throw error(errc::invalid_argument, fmt::format("client {} has no training examples", client));
  s.examples = train::encode_examples(tok, mine, cfg.max_len, true);
  s.order.resize(s.examples.size());
  for (std::size_t i = 0; i < s.order.size(); ++i)
    s.order[i] = i;
  s.cursor = s.order.size();  // shuffle on first use
  s.rng.seed(cfg.seed * 1000003ULL + client);
  s.base = std::move(base);
  s.model = s.base->module();
  s.classifier = model::Classifier(s.model->config().n_embd, data.num_labels(shard.task_index));
  s.build(cfg.head_blocks, cfg.tail_blocks);
}

split_client::~split_client() = default;

uint32_t split_client::id() const {
  return impl_->id;
}

uint64_t split_client::sample_count() const {
  return impl_->examples.size();
}

void split_client::set_split(int64_t head_blocks, int64_t tail_blocks) {
  if (head_blocks == impl_->a && tail_blocks == impl_->b)
    return;
  impl_->build(head_blocks, tail_blocks);
}

int64_t split_client::head_blocks() const {
  return impl_->a;
}

int64_t split_client::tail_blocks() const {
  return impl_->b;
}

void split_client::load_adapters(const std::vector<messages::named_tensor>& adapters) {
  auto& s = *impl_;
  auto state = from_wire(adapters);
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
  s.optimizer->zero_grad();
  s.batch = train::make_classify_batch(s.next_batch(), s.pad);
  auto act = guarded(fmt::format("head forward of client {}", s.id),
                     [&] { return s.segments->head.forward(s.batch.ids, s.batch.mask); });
  head_output out;
  out.activation = to_wire(act);
  const auto lengths = s.batch.mask.sum(1);
  s.batch_tokens = lengths.sum().item<int64_t>();
  auto la = lengths.accessor<int64_t, 1>();
  for (int64_t i = 0; i < lengths.size(0); ++i)
    out.lengths.push_back(static_cast<uint32_t>(la[i]));
  s.in_step = true;
  return out;
}

messages::tensor_bytes split_client::tail_step(const messages::tensor_bytes& body_output) {
  auto& s = *impl_;
  auto h = s.step_tensor(body_output, "body output");
  return guarded(fmt::format("tail step of client {}", s.id), [&] {
    auto logits = s.segments->tail.forward(h, s.batch.mask);
    auto loss = torch::nn::functional::cross_entropy(logits, s.batch.labels);
    s.loss = loss.item<double>();
    return to_wire(s.segments->tail.backward_loss(loss));
  });
}

double split_client::finish_step(const messages::tensor_bytes& head_grad) {
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
  return s.loss;
}

void split_client::abandon_step() {
  drop_grads(impl_->params);
  impl_->segments->head.release();
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

std::vector<messages::named_tensor> split_client::adapters() const {
  const auto& s = *impl_;
  const int64_t L = s.model->n_layer();  // the bank holds exactly the head and tail blocks
  return to_wire(model::lora_state(*s.bank, s.classifier, 0, L));
}

} // namespace elsa::fed

namespace elsa::fed {

void set_torch_threads(int64_t threads) {
  torch::set_num_threads(static_cast<int>(threads));
}

} // namespace elsa::fed
