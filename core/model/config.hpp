// Hyper-parameters of the GPT-2 model and of its LoRA adapters: plain structs without LibTorch, so that
// configs and the CLI can use them without compiling torch headers. validate() lives in gpt2.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace elsa::model {

/// Architecture hyper-parameters; the names are those of HF's GPT2Config (config.json).
struct gpt2_config {
  int64_t vocab_size = 8192;
  int64_t n_positions = 128;
  int64_t n_embd = 256;
  int64_t n_layer = 4;
  int64_t n_head = 4;
  /// Width of the MLP; 0 means 4 * n_embd (HF writes `null`).
  int64_t n_inner = 0;
  double layer_norm_epsilon = 1e-5;
  /// One probability for HF's embd_pdrop, attn_pdrop and resid_pdrop.
  double dropout = 0.0;

  int64_t inner() const {
    return n_inner > 0 ? n_inner : 4 * n_embd;
  }
  /// Throws elsa::error (invalid_argument) naming the key and the allowed range.
  void validate() const;
  /// Parameters of the base model (embeddings shared with the LM head counted once).
  int64_t parameter_count() const;
};

/// LoRA hyper-parameters. targets name Conv1D layers: "c_attn", "attn.c_proj", "c_fc", "mlp.c_proj".
struct lora_config {
  int64_t rank = 8;
  double alpha = 16.0;
  double dropout = 0.0;
  std::vector<std::string> targets = {"c_attn"};

  double scale() const {
    return alpha / static_cast<double>(rank);
  }
  void validate() const;
};

} // namespace elsa::model
