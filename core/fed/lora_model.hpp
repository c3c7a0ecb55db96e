// Internal to core/fed: the frozen base's definition, a participant's adapter bank over it, and the guards
// every training step runs under.
#pragma once

#include <map>
#include <string>

#include <torch/torch.h>

#include "core/errors.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/model/gpt2.hpp"
#include "core/run/run_config.hpp"

namespace elsa::fed {

/// The shared base: parameters without gradients, eval mode, no adapters of its own. Participants run it
/// with their own adapter_bank (GPT2Impl::run_blocks takes it), so forward never writes to it.
class frozen_base {
public:
  explicit frozen_base(model::GPT2 model);
  /// The module, to run forward with a bank. A handle to the same weights: never train or modify it.
  model::GPT2 module() const {
    return model_;
  }
  const model::gpt2_config& config() const {
    return model_->config();
  }

private:
  model::GPT2 model_;
};

/// A fresh bank (PEFT init from torch's global generator) of cfg.lora on `blocks` of the base. With
/// `previous` (a re-split), the blocks both hold keep its adapters; blocks new to the bank start fresh.
std::unique_ptr<model::adapter_bank> make_bank(const frozen_base& base, const run::run_config& cfg,
                                               const std::vector<int64_t>& blocks,
                                               const model::adapter_bank* previous = nullptr,
                                               const std::string& origin = "re-split");

/// Runs `f`; a LibTorch (or other std::exception) failure becomes elsa::error(internal) naming `what`, so
/// a training step can fail but never throw anything but elsa::error into the actor that called it.
template <class F>
auto guarded(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const elsa::error&) {
    throw;
  } catch (const std::exception& e) {
    std::string text = e.what();
    text = text.substr(0, text.find('\n'));  // LibTorch appends a stack trace
    throw elsa::error(elsa::errc::internal, what + ": " + text);
  }
}

/// Frees the gradients of `params` (LibTorch 1.13's zero_grad keeps zero-filled tensors): between steps a
/// participant then holds only its adapters and optimizer moments.
inline void drop_grads(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params)
    if (p.grad().defined())
      const_cast<torch::Tensor&>(p).mutable_grad().reset();
}

/// Blocks [first, last) as a list.
std::vector<int64_t> block_range(int64_t first, int64_t last);

/// The public base head (embeddings and blocks [0, blocks), no adapters) on token sequences of at most
/// n_positions each: the output vector of every token, sequence after sequence (sum of sizes x n_embd rows),
/// computed `batch` sequences at a time without gradients. What a client's SS-OP basis is computed from and
/// what an inverter trains on (core/attack).
torch::Tensor base_head_outputs(const frozen_base& base, const std::vector<std::vector<int32_t>>& seqs,
                                int64_t blocks, int32_t pad, std::size_t batch = 32);

} // namespace elsa::fed
