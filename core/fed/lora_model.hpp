// Internal to core/fed: building a participant's model (base + LoRA as configured) and picking the adapter
// entries of a block range out of a PEFT-named state.
#pragma once

#include <map>
#include <string>

#include <torch/torch.h>

#include "core/model/gpt2.hpp"
#include "core/run/run_config.hpp"

namespace elsa::fed {

/// Base model from cfg.model_dir with cfg.lora adapters on every block (base parameters frozen).
model::GPT2 load_lora_model(const run::run_config& cfg);

/// Block index of a PEFT adapter name (`...transformer.h.<i>.attn...`), or -1 for anything else (score).
int64_t block_of(const std::string& name);

/// The entries of `state` in blocks [first, last), plus the classifier's when `with_classifier`.
std::map<std::string, torch::Tensor> select_blocks(const std::map<std::string, torch::Tensor>& state,
                                                   int64_t first, int64_t last, bool with_classifier);

/// Checks a split (a, b) against the model: a >= 1, b >= 1, a + b <= n_layer; elsa::error otherwise.
void check_split(const model::GPT2& model, int64_t head_blocks, int64_t tail_blocks);

} // namespace elsa::fed
