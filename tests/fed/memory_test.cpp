// The cost model's client memory (core/sim/cost_model.hpp) against what LibTorch really allocates: a
// counting wrapper around c10's CPU allocator measures a split_client's training steps with the shipped
// model at the runs' shape (batch 8, max_len 96, LoRA rank 8 on all targets) and at other shapes and targets.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <cstring>
#include <iostream>
#include <mutex>
#include <unordered_map>

#include "core/fed/edge_body.hpp"
#include "core/fed/lora_model.hpp"
#include "core/fed/split_client.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "core/sim/cost_model.hpp"
#include "tests/fed/split_fixture.hpp"

namespace elsa::fed {
namespace {

// Wraps c10's CPU allocator: counts the bytes of blocks allocated while counting is on, until each is freed,
// and their peak. Deleters are plain function pointers, so the counter is one object that is never destroyed
// (a tensor counted here may be freed after the test, even after uninstall()).
class counting_allocator final : public c10::Allocator {
public:
  static counting_allocator& get() {
    static auto* self = new counting_allocator();
    return *self;
  }

  // Puts the counter in front of the current CPU allocator, counting nothing yet.
  void install() {
    inner_ = c10::GetCPUAllocator();
    ASSERT_NE(inner_->raw_deleter(), nullptr) << "the CPU allocator must hand out plain pointers";
    c10::SetCPUAllocator(this, priority);
  }
  // Gives the CPU back to the allocator install() found.
  void uninstall() {
    count(false);
    c10::SetCPUAllocator(inner_, priority);
  }

  c10::DataPtr allocate(size_t n) const override {
    void* p = inner_->raw_allocate(n);
    if (p != nullptr) {
      std::lock_guard<std::mutex> lock(mutex_);
      const bool counted = counting_.load();
      blocks_[p] = {n, counted, inner_->raw_deleter()};
      if (counted) {
        current_ += static_cast<int64_t>(n);
        peak_ = std::max(peak_, current_);
      }
    }
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override {
    return &release;
  }

  void count(bool on) {
    counting_.store(on);
  }
  bool counting() const {
    return counting_.load();
  }
  // Zero bytes counted from now on (blocks counted before no longer count when freed).
  void restart() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& kv : blocks_)
      kv.second.counted = false;
    current_ = peak_ = 0;
  }
  int64_t current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  int64_t peak() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_;
  }

private:
  // Above the default allocator's registration (priority 0), so the counter replaces it and can give it back.
  static constexpr uint8_t priority = 100;

  struct block {
    size_t bytes;
    bool counted;
    c10::DeleterFnPtr free;
  };

  static void release(void* p) {
    auto& self = get();
    c10::DeleterFnPtr free = nullptr;
    {
      std::lock_guard<std::mutex> lock(self.mutex_);
      auto it = self.blocks_.find(p);
      if (it == self.blocks_.end())
        return;
      if (it->second.counted)
        self.current_ -= static_cast<int64_t>(it->second.bytes);
      free = it->second.free;
      self.blocks_.erase(it);
    }
    free(p);
  }

  counting_allocator() = default;

  c10::Allocator* inner_ = nullptr;
  std::atomic<bool> counting_{false};
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, block> blocks_;
  mutable int64_t current_ = 0;
  mutable int64_t peak_ = 0;
};

// What the edge (another process in a deployment) allocates is not the client's: counting pauses.
class uncounted {
public:
  uncounted() : was_(counting_allocator::get().counting()) {
    counting_allocator::get().count(false);
  }
  ~uncounted() {
    counting_allocator::get().count(was_);
  }

private:
  bool was_;
};

// The counter in front of the CPU allocator for one scope (a failed assertion returns early: the CPU
// allocator is given back all the same).
class installed {
public:
  installed() {
    counting_allocator::get().install();
  }
  ~installed() {
    counting_allocator::get().uninstall();
  }
};

// A tensor as it crosses the network: the receiver gets its own copy of the bytes (not LibTorch memory).
messages::tensor_bytes sent(const messages::tensor_bytes& x) {
  return messages::tensor_bytes::copy_of(x.type(), x.shape(), x.data(), x.size_bytes());
}

// A tensor as the client receives it: a message buffer the client holds (here a tensor it allocates, so the
// counter sees it) that from_wire wraps without copying.
messages::tensor_bytes received(const messages::tensor_bytes& x) {
  auto t = torch::empty(x.shape(), torch::kFloat32);
  std::memcpy(t.data_ptr(), x.data(), x.size_bytes());
  return to_wire(t);
}

// The shipped model at the shipped run shape: batch 8, max_len 96, LoRA rank 8 on all four targets, fp32 on
// the wire. Spam-assassin e-mails are longer than 96 tokens, so every batch is padded to T = 96.
struct Memory : split_resources<Memory> {
  static run::run_config config() {
    auto cfg = two_clients(64);
    cfg.max_len = 96;
    cfg.batch_size = 8;
    cfg.lora.rank = 8;
    cfg.lora.targets = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};
    cfg.activations = "fp32";
    return cfg;
  }
};

// Bytes of the frozen tensors a client at split (a, b) runs: wte, wpe, its blocks and ln_f.
int64_t frozen_bytes(const frozen_base& base, int64_t a, int64_t b) {
  auto model = base.module();
  const int64_t L = model->n_layer();
  int64_t n = 0;
  auto add = [&n](const torch::nn::Module& m) {
    for (const auto& p : m.parameters())
      n += p.numel() * static_cast<int64_t>(p.element_size());
  };
  add(*model->wte);
  add(*model->wpe);
  for (int64_t i = 0; i < L; ++i)
    if (i < a || i >= L - b)
      add(*model->block(i));
  add(*model->ln_f);
  return n;
}

// One client's memory at split s under config c, measured and estimated.
struct memory_use {
  int64_t peak_allocated = 0; // LibTorch's CPU bytes from the client's construction through its steps
  int64_t frozen = 0;         // the frozen weights it runs (loaded before it, shared in the process)
  int64_t estimated = 0;      // sim::client_memory_bytes at the steps' shape
  int64_t seq_len = 0;        // T of the steps' batches
  int64_t measured() const {
    return peak_allocated + frozen;
  }
};

// Builds a client at split s, runs two training steps with an edge (the first creates AdamW's moments, the
// second is a steady-state step as the model counts it) and reads the counter.
memory_use measure(const run::run_config& cfg, const federation_data& data, const text::bpe_tokenizer& tok,
                   const base_ptr& base, sim::split s) {
  auto& counter = counting_allocator::get();
  auto c = cfg;
  c.head_blocks = s.a;
  c.tail_blocks = s.b;
  std::unique_ptr<edge_body> edge;
  {
    uncounted u;
    edge = std::make_unique<edge_body>(c, base);
    edge->add_client(0, s.a, s.b);
  }
  counter.restart();
  counter.count(true);
  auto client = std::make_unique<split_client>(c, data, 0, tok, base);
  memory_use out;
  for (int step = 0; step < 2; ++step) {
    auto head = client->begin_step();
    const int64_t T = head.activation.shape().at(1);
    EXPECT_TRUE(out.seq_len == 0 || out.seq_len == T) << "both steps must have one shape";
    out.seq_len = T;
    const auto lengths = head.lengths;
    messages::tensor_bytes up = sent(head.activation), down;
    head = {};
    {
      uncounted u;
      down = sent(edge->forward(0, up, lengths));
    }
    auto grad_up = sent(client->tail_step(received(down)));
    {
      uncounted u;
      down = sent(edge->backward(0, grad_up));
    }
    client->finish_step(received(down));
  }
  out.peak_allocated = counter.peak();
  out.frozen = frozen_bytes(*base, s.a, s.b);
  const auto shape = sim::shape_of(base->config(), c.lora, data.num_labels(data.shards.at(0).task_index));
  out.estimated = sim::client_memory_bytes(shape, {c.batch_size, out.seq_len}, s);
  client.reset();
  EXPECT_LT(counter.current(), 64 * 1024) << "the client's tensors are freed with it";
  counter.count(false);
  edge.reset();
  return out;
}

// Compared: the peak of the bytes LibTorch allocates from the moment the client is built through its steps,
// plus the frozen weights the client runs (the process loaded them before and shares them), against
// client_memory_bytes at the batch's shape, at every split of the shipped model. The edge's work is not
// counted; the tensors the client receives are (as the message buffers it holds).
// The issue asks for 10% of the whole; the check is 1% of the allocated part alone (the frozen weights are
// added to both sides by the same formula, so comparing the totals would hide an error in the rest).
TEST_F(Memory, ClientEstimateIsWithinOnePercentOfMeasuredPeak) {
  installed scope;
  const int64_t L = (*base)->config().n_layer;
  for (const auto s : sim::feasible_splits(L, 1)) {
    const auto m = measure(*cfg, *data, *tok, *base, s);
    std::cout << "split (" << s.a << ", " << s.b << "), step (" << cfg->batch_size << ", " << m.seq_len
              << "): measured " << m.measured() << " bytes (" << m.peak_allocated << " allocated + "
              << m.frozen << " frozen), estimated " << m.estimated << "\n";
    EXPECT_EQ(m.seq_len, cfg->max_len);
    EXPECT_LE(std::abs(static_cast<double>(m.estimated - m.frozen - m.peak_allocated)),
              0.01 * static_cast<double>(m.peak_allocated))
      << "split (" << s.a << ", " << s.b << ")";
  }
}

// The same comparison away from the shipped run shape: a single sequence (q, k, v saved as views), other
// lengths and batches, and adapters on fewer targets (frozen layers save nothing; with no adapter on c_attn
// the head's first attention is not differentiated at all).
TEST_F(Memory, EstimateHoldsForOtherBatchesLengthsAndTargets) {
  installed scope;
  struct variant {
    int64_t batch, max_len;
    std::vector<std::string> targets;
  };
  const variant variants[] = {{1, 32, {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"}},
                              {3, 40, {"c_fc", "mlp.c_proj"}},
                              {5, 64, {"attn.c_proj"}}};
  for (const auto& v : variants) {
    auto c = *cfg;
    c.batch_size = v.batch;
    c.max_len = v.max_len;
    c.lora.targets = v.targets;
    for (const auto s : sim::feasible_splits((*base)->config().n_layer, 1)) {
      const auto m = measure(c, *data, *tok, *base, s);
      EXPECT_EQ(m.seq_len, v.max_len);
      EXPECT_LE(std::abs(static_cast<double>(m.estimated - m.frozen - m.peak_allocated)),
                0.01 * static_cast<double>(m.peak_allocated))
        << "batch " << v.batch << ", " << v.targets.size() << " targets, split (" << s.a << ", " << s.b
        << "): measured " << m.measured() << ", estimated " << m.estimated;
    }
  }
}

} // namespace
} // namespace elsa::fed
