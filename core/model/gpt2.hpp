// The GPT-2 transformer in LibTorch with Hugging Face parameter names and shapes, LoRA adapters on its
// Conv1D layers, a classification head, and the three-segment (head / body / tail) split used by ELSA.
// named_parameters() of a GPT2 module are exactly HF's GPT2Model names (`h.0.attn.c_attn.weight`, ...).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/model/config.hpp"

namespace elsa::model {

/// LoRA factors of one Conv1D layer held outside the module: A (r, in), B (out, r), PEFT layout.
struct lora_factors {
  torch::Tensor A;
  torch::Tensor B;
};

/// The external adapters of one block, by layer: 0 attn.c_attn, 1 attn.c_proj, 2 mlp.c_fc, 3 mlp.c_proj
/// (null where the layer has none), with LoRA's scale (alpha / r) and dropout. Dropout applies only while
/// grad mode is on (training), never in a NoGradGuard (evaluation).
struct block_lora {
  const lora_factors* layer[4] = {nullptr, nullptr, nullptr, nullptr};
  double scale = 0.0;
  double dropout = 0.0;
};

/// HF's Conv1D: y = x W + b with W stored [in, out]. Optionally carries a LoRA adapter
/// (lora_A [r, in], lora_B [out, r], PEFT layout) that adds scale * x A^T B^T.
class Conv1DImpl : public torch::nn::Module {
public:
  Conv1DImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);
  /// y = x W + b + scale * dropout(x) A^T B^T with external factors `f` (this layer's own adapter unused);
  /// plain x W + b when f is null.
  torch::Tensor forward_with(const torch::Tensor& x, const lora_factors* f, double scale, double dropout);

  /// Adds a fresh adapter (A: Kaiming-uniform, B: zeros, so the layer's output is unchanged).
  void add_lora(int64_t rank, double alpha, double dropout);
  bool has_lora() const {
    return lora_A.defined();
  }
  /// Folds scale * (B A)^T into weight (and back). Forward skips the adapter while merged.
  void merge();
  void unmerge();
  bool merged() const {
    return merged_;
  }
  double lora_scale() const {
    return lora_scale_;
  }

  torch::Tensor weight; // (in, out)
  torch::Tensor bias;   // (out)
  torch::Tensor lora_A; // (r, in), undefined without LoRA
  torch::Tensor lora_B; // (out, r)

private:
  int64_t in_;
  int64_t out_;
  double lora_scale_ = 0.0;
  double lora_dropout_ = 0.0;
  bool merged_ = false;
};
TORCH_MODULE(Conv1D);

/// Causal multi-head self-attention (`attn.c_attn`, `attn.c_proj`).
class AttentionImpl : public torch::nn::Module {
public:
  explicit AttentionImpl(const gpt2_config& cfg);
  /// x: (B, T, C); mask_bias: (B, 1, 1, T) additive, or undefined; ad: external adapters or null.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias, const block_lora* ad = nullptr);

  Conv1D c_attn{nullptr}; // (C, 3C)
  Conv1D c_proj{nullptr}; // (C, C)

private:
  int64_t n_head_;
  int64_t n_embd_;
  double dropout_;
};
TORCH_MODULE(Attention);

/// The feed-forward part (`mlp.c_fc`, `mlp.c_proj`) with tanh-approximated GELU ("gelu_new").
class MLPImpl : public torch::nn::Module {
public:
  explicit MLPImpl(const gpt2_config& cfg);
  torch::Tensor forward(const torch::Tensor& x, const block_lora* ad = nullptr);

  Conv1D c_fc{nullptr};   // (C, inner)
  Conv1D c_proj{nullptr}; // (inner, C)

private:
  double dropout_;
};
TORCH_MODULE(MLP);

/// One pre-LayerNorm transformer block.
class BlockImpl : public torch::nn::Module {
public:
  explicit BlockImpl(const gpt2_config& cfg);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias, const block_lora* ad = nullptr);

  torch::nn::LayerNorm ln_1{nullptr};
  Attention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  MLP mlp{nullptr};
};
TORCH_MODULE(Block);

class adapter_bank;

/// GPT-2 (HF GPT2Model + the tied LM head of GPT2LMHeadModel). Parameters are initialised as HF does
/// (normal(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer)) from torch's global generator.
class GPT2Impl : public torch::nn::Module {
public:
  explicit GPT2Impl(const gpt2_config& cfg);

  /// ids (B, T) int64 -> token + position embeddings (B, T, C). T must be <= n_positions.
  torch::Tensor embed(const torch::Tensor& ids);
  /// Runs blocks [first, last) on h (B, T, C). attention_mask (B, T): 1 = token, 0 = padding; may be undefined.
  /// With `bank`, the blocks it holds use its adapters instead of their own: many participants' graphs can be
  /// alive over one frozen model, each with its own bank.
  torch::Tensor run_blocks(torch::Tensor h, int64_t first, int64_t last, const torch::Tensor& attention_mask,
                           const adapter_bank* bank = nullptr);
  /// Final LayerNorm.
  torch::Tensor final_norm(const torch::Tensor& h);
  /// LM logits from normalised hidden states, with the head tied to wte: (B, T, C) -> (B, T, V).
  torch::Tensor lm_logits(const torch::Tensor& h);
  /// Full model: ids -> normalised final hidden states (B, T, C), with `bank`'s adapters where it has them.
  torch::Tensor hidden(const torch::Tensor& ids, const torch::Tensor& attention_mask = {},
                       const adapter_bank* bank = nullptr);
  /// Full model: ids -> LM logits (B, T, V).
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attention_mask = {});

  const gpt2_config& config() const {
    return config_;
  }
  int64_t n_layer() const {
    return config_.n_layer;
  }
  Block block(int64_t i) const {
    return blocks_.at(static_cast<size_t>(i));
  }

  /// Adds adapters to every targeted Conv1D and freezes all base parameters.
  void add_lora(const lora_config& cfg);
  bool has_lora() const {
    return has_lora_;
  }
  const lora_config& lora() const {
    return lora_config_;
  }
  /// The Conv1D layers of block i that carry adapters, keyed by their path in the block ("attn.c_attn", ...).
  std::vector<std::pair<std::string, Conv1D>> lora_layers(int64_t block) const;
  void merge_lora();
  void unmerge_lora();

  torch::nn::Embedding wte{nullptr}; // (V, C)
  torch::nn::Embedding wpe{nullptr}; // (n_positions, C)
  torch::nn::ModuleList h{nullptr};
  torch::nn::LayerNorm ln_f{nullptr};

private:
  gpt2_config config_;
  std::vector<Block> blocks_;
  bool has_lora_ = false;
  lora_config lora_config_;
};
TORCH_MODULE(GPT2);

/// One participant's own LoRA adapters over a set of blocks, held apart from the base model so that every
/// client and edge slot of a process trains its own over one shared, frozen base (a module's parameters
/// are never written: the forward takes the bank as an argument). PEFT names, as lora_state writes them.
class adapter_bank {
public:
  adapter_bank() = default;
  /// PEFT init on `lora`'s targets of each block in `blocks`: A Kaiming-uniform from torch's global
  /// generator, B zero. elsa::error on an invalid lora config or a block outside the model.
  adapter_bank(const gpt2_config& model, const lora_config& lora, const std::vector<int64_t>& blocks);

  /// This block's adapters in the form run_blocks uses, or null when the bank does not hold it.
  const block_lora* block(int64_t i) const;
  bool holds(int64_t i) const {
    return blocks_.count(i) > 0;
  }
  std::vector<int64_t> blocks() const;
  /// A and B of every held layer (they require grad), block by block.
  std::vector<torch::Tensor> parameters() const;
  /// The held blocks' factors in [first, last) under PEFT names (detached copies).
  std::map<std::string, torch::Tensor> state(int64_t first = 0, int64_t last = -1) const;
  /// Copies the entries of `state` for blocks this bank holds; entries of other blocks and the classifier's
  /// are skipped. elsa::error naming `origin` and the key for an unknown name or a wrong shape.
  void load(const std::map<std::string, torch::Tensor>& state, const std::string& origin);
  /// The checks of load without copying anything.
  void check(const std::map<std::string, torch::Tensor>& state, const std::string& origin) const;
  /// Bytes of the held factors.
  int64_t bytes() const;

private:
  struct held {
    lora_factors factors[4];
    block_lora view;
  };
  // The factor `key` names, or null for an entry of a block this bank does not hold; throws on a bad entry.
  torch::Tensor* target_of(const std::string& key, const torch::Tensor& value, const std::string& origin) const;

  std::map<int64_t, std::unique_ptr<held>> blocks_;  // stable addresses: views point into them
  int64_t n_layer_ = 0;
};

/// Index of the last non-padding token per row: attention_mask (B, T) -> (B) int64. Works for left and
/// right padding; rows without any token give 0.
torch::Tensor last_token_index(const torch::Tensor& attention_mask);

/// Classification on the hidden state of the last non-padding token: HF GPT2ForSequenceClassification's
/// `score` (a bias-free linear layer, weight (K, C)).
class ClassifierImpl : public torch::nn::Module {
public:
  ClassifierImpl(int64_t n_embd, int64_t num_labels);
  /// hidden (B, T, C) normalised, attention_mask (B, T) or undefined (= all tokens) -> logits (B, K).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& attention_mask);
  int64_t num_labels() const {
    return num_labels_;
  }

  torch::nn::Linear score{nullptr};

private:
  int64_t num_labels_;
};
TORCH_MODULE(Classifier);

/// Which part of the three-segment split a segment is.
enum class segment_kind { head, body, tail };

/// One segment of a three-segment split: head = embeddings + blocks [0, a), body = blocks [a, L - b),
/// tail = blocks [L - b, L) + ln_f + task head (the classifier, or the tied LM head when none is given).
/// forward() keeps its input (as a leaf that requires grad) and output; backward() takes the gradient
/// received for the output (or, on the tail, the loss) and returns the gradient for the input, which the
/// previous segment receives. Parameter gradients accumulate in the shared modules as in the unsplit model.
class segment {
public:
  /// With `bank` (not owned; it must outlive the segment) the blocks run with its adapters and its factors
  /// are the trainable parameters; without, the model's own adapters are.
  segment(GPT2 model, segment_kind kind, int64_t first_block, int64_t last_block, Classifier classifier = nullptr,
          const adapter_bank* bank = nullptr);

  /// head: input = ids (B, T); body/tail: input = hidden states (B, T, C). The attention mask (B, T) may
  /// be undefined. Returns hidden states (head/body) or logits (tail: (B, K) or (B, T, V)).
  torch::Tensor forward(const torch::Tensor& input, const torch::Tensor& attention_mask = {});
  /// Backward from the gradient received for this segment's last output; returns d/d input
  /// (undefined for the head).
  torch::Tensor backward(const torch::Tensor& grad_output);
  /// Backward from a scalar loss computed from this segment's last output (the tail's usual case).
  torch::Tensor backward_loss(const torch::Tensor& loss);
  /// Drops the graph of a step that will not be back-propagated (its input and output).
  void release();
  /// The parameters of this segment that require grad (adapters, the classifier, or all of them).
  std::vector<torch::Tensor> trainable_parameters() const;

  segment_kind kind() const {
    return kind_;
  }
  int64_t first_block() const {
    return first_;
  }
  int64_t last_block() const {
    return last_;
  }

private:
  torch::Tensor input_grad() const;

  GPT2 model_;
  segment_kind kind_;
  int64_t first_;
  int64_t last_;
  Classifier classifier_;
  const adapter_bank* bank_ = nullptr;
  torch::Tensor input_;
  torch::Tensor output_;
};

/// The three segments for split points (a, b): requires 0 <= a, 0 <= b, a + b <= n_layer.
struct three_segments {
  segment head;
  segment body;
  segment tail;
};
three_segments split_model(GPT2 model, int64_t a, int64_t b, Classifier classifier = nullptr,
                           const adapter_bank* bank = nullptr);

/// Adapter (and classifier) tensors under PEFT names, e.g.
/// `base_model.model.transformer.h.0.attn.c_attn.lora_A.weight` and `base_model.model.score.weight`.
/// Only blocks [first, last) when given, so adapters can move with their layers on a re-split.
std::map<std::string, torch::Tensor> lora_state(const GPT2& model, const Classifier& classifier = nullptr,
                                                int64_t first_block = 0, int64_t last_block = -1);
/// Copies adapter tensors (PEFT names, as lora_state writes them) into the model; every key must match a
/// present adapter of the same shape, else elsa::error naming the key. `origin` names the source in errors.
void load_lora_state(GPT2& model, const std::map<std::string, torch::Tensor>& state,
                     const Classifier& classifier = nullptr, const std::string& origin = "adapter state");

/// A bank's adapters in blocks [first, last) plus, when given, the classifier's weight, under PEFT names.
std::map<std::string, torch::Tensor> lora_state(const adapter_bank& bank, const Classifier& classifier = nullptr,
                                                int64_t first_block = 0, int64_t last_block = -1);
/// Loads the entries of `state` for the bank's blocks and, when given, the classifier; entries of blocks
/// the bank does not hold are skipped (a cluster's whole set can be passed to each participant).
void load_lora_state(adapter_bank& bank, const std::map<std::string, torch::Tensor>& state,
                     const Classifier& classifier, const std::string& origin);
/// The checks of load_lora_state without copying anything.
void check_lora_state(const adapter_bank& bank, const std::map<std::string, torch::Tensor>& state,
                      const Classifier& classifier, const std::string& origin);

/// Base parameters under HF GPT-2 names (`wte.weight`, `h.0.attn.c_attn.weight`, ...), without adapters.
std::map<std::string, torch::Tensor> base_state(const GPT2& model);
/// Loads base parameters; names with or without the `transformer.` prefix. Ignores HF's non-parameter
/// buffers (`attn.bias`, `attn.masked_bias`) and a tied `lm_head.weight`; every other key must be known,
/// every parameter present, and shapes must match, else elsa::error naming the key and `origin`.
void load_base_state(GPT2& model, const std::map<std::string, torch::Tensor>& state, const std::string& origin);

} // namespace elsa::model
