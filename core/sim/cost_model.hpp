// The device cost model of one split training step (ELSA.md 3.2): FLOPs of the client's and the edge's
// parts, the client's peak memory, and the bytes of a split tensor on the wire, all counted from the shapes
// of the GPT-2 ops in core/model/gpt2.cpp. No torch: the planner and the simulated clock run without it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/config.hpp"

namespace elsa::sim {

/// What the counts need to know about the model, its adapters and the task.
struct model_shape {
  int64_t n_layer = 0;                   // L: transformer blocks
  int64_t n_embd = 0;                    // C
  int64_t n_head = 0;                    // H (head size D = C / H)
  int64_t n_inner = 0;                   // F: MLP width (4 C unless the config says otherwise)
  int64_t vocab = 0;                     // V: rows of wte
  int64_t n_positions = 0;               // P: rows of wpe
  int64_t lora_rank = 0;                 // r
  std::vector<std::string> lora_targets; // of "c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"
  int64_t num_labels = 0;                // K: the classifier's outputs
};

/// The shape of `model` with adapters `lora` and a classifier of `num_labels` outputs.
model_shape shape_of(const model::gpt2_config& model, const model::lora_config& lora, int64_t num_labels);

/// One training step's padded batch: B sequences of T positions (attention costs grow with T^2).
struct step_shape {
  int64_t batch = 0;   // B
  int64_t seq_len = 0; // T
};

/// Split points: the client runs blocks [0, a) (the head) and [L - b, L) (the tail), the edge [a, L - b).
struct split {
  int64_t a = 1;
  int64_t b = 1;
};
bool operator==(split x, split y);
bool operator!=(split x, split y);

/// Where the model's parts run ([split] layout): u_shaped is ELSA's three segments; whole_model keeps every
/// block, ln_f and the classifier on the client (FedAvg-LoRA, HierFAVG-LoRA; the edge computes nothing);
/// two_part keeps the embeddings and blocks [0, a) on the client and runs blocks [a, L), ln_f, the
/// classifier and the loss at the edge with the labels sent there (SplitFed-LoRA; split b = 0).
enum class layout { u_shaped, whole_model, two_part };

/// FLOPs of one training step, by who computes them.
struct step_flops {
  double client = 0; // embeddings, head and tail blocks, ln_f, classifier, loss, the client's AdamW
  double edge = 0;   // body blocks, the edge's AdamW
};

/// Training-step FLOPs (forward and backward) of the client's and the edge's parts at split s.
///
/// What is counted (N = B T tokens; a multiply-add is 2 FLOPs):
/// - Matmuls exactly from their shapes: per block the four Conv1D layers (2 N in out each), attention's
///   QK^T and AV (2 B T^2 C each: the code computes all T x T scores and masks afterwards), each LoRA
///   adapter's x A^T and (x A^T) B^T (2 N r (in + out)), and the classifier (2 B C K on the last token).
/// - Backward computes input gradients wherever a gradient flows and weight gradients only for trainable
///   tensors: a frozen Conv1D costs one matmul (dX = dY W^T, 2 N in out) where its input needs a gradient
///   and nothing otherwise; a LoRA adapter costs dB, d(x A^T), dA (and dX where its input needs one);
///   attention's backward is twice its forward; the classifier's is dW and dX.
/// - The head's first block gets no input gradient: the embeddings are frozen, so neither its ln_1 nor its
///   base c_attn matmul nor the LoRA dX of c_attn is differentiated (what autograd skips). Every other
///   block's input does need one: body and tail inputs are leaves that require grad, and later head blocks
///   sit behind block 0's adapters. So the split only moves work between client and edge.
/// - Elementwise ops with a small constant per element (forward; each backward costs twice its forward;
///   adds are free backward): layer norm 8, GELU (tanh) 10, per attention score 8 (scale, causal fill,
///   padding bias, softmax 5), bias, residual and LoRA adds 1, LoRA scale 1, log-softmax 5 per logit.
/// - The optimizer: 14 FLOPs per trainable parameter (gradient clipping's norm and scale, decoupled weight
///   decay, AdamW's two moments, bias corrections, sqrt, divide and update), on each side for its own
///   adapters (the client's also for the classifier).
/// Index and gather ops (embedding lookup, last-token pooling) count 0 FLOPs; the position-embedding add
/// counts 1 per element. elsa::error (invalid_argument) when s is outside the model or the step is empty.
/// whole_model: the same work as at split s, all of it the client's. two_part: s.b must be 0; ln_f, the
/// classifier, the loss and the classifier's AdamW are the edge's.
step_flops training_step_flops(const model_shape& m, const step_shape& step, split s,
                               layout where = layout::u_shaped);

/// Forward FLOPs of one block (its four Conv1D layers with their adapters, attention, layer norms, GELU and
/// residual adds), counted as in training_step_flops.
double block_forward_flops(const model_shape& m, const step_shape& step);

/// Peak bytes a client holds in a steady-state training step at split s (f32 tensors, f32 on the wire,
/// dropout 0 as shipped), from a replay of the step's tensors in the order split_client, core/model's
/// segments and LibTorch 1.13's autograd engine create and free them (tests/fed/memory_test.cpp compares it
/// with LibTorch's real CPU allocations). What the replay holds:
/// - all step: the frozen weights the client runs (wte, wpe, its a + b blocks, ln_f), its trainable tensors
///   (the LoRA factors of its blocks and the classifier) and AdamW's two moments of each (they exist from
///   the first step on), and the previous step's tail input and that input's gradient (the tail segment keeps
///   them until its next forward);
/// - the batch (ids and mask, B T int64; labels) and each segment's additive padding mask (B T f32);
/// - what autograd saves for backward, op by op: per block the input and (mean, rstd) of each layer norm
///   whose input needs a gradient, each adapted layer's input (for dA) and x A^T (for dB), the contiguous
///   q, k, v copies the batched matmuls save (views of c_attn's output when B or H is 1), the softmax output
///   (B H T^2), masked_fill's causal mask (T^2 bool) and GELU's input; in the tail also ln_f's input and
///   statistics, the pooled last tokens and the log-softmax. A frozen layer without an adapter saves nothing
///   (its weight needs no gradient);
/// - each block's output, the head output (kept until its backward), the received body output (the tail's
///   input) and head gradient (message buffers the client holds);
/// - the temporaries live at each moment: a LoRA layer's forward holds its base output, x A^T B^T, its scaled
///   copy and their sum at once; attention's score tensors; backward's gradients in flight, freed as the
///   graph is consumed, with two gradients for one tensor summed into a third (the engine does not add in
///   place); the copies of transposed gradients where attention splits and merges its heads; parameter
///   gradients from their backward until the step ends.
/// Not counted: scalars and kilobyte-sized index bookkeeping (positions, last-token indices), the optimizer's
/// per-tensor temporaries, and send buffers (an fp16 wire adds a B T C x 2 copy of each tensor sent and a
/// B T C x 4 widened copy of each received). elsa::error as training_step_flops.
/// whole_model: the replay at split (L - b, b), the client holding every block's graph (its body blocks
/// counted as head blocks: no message buffers between them). two_part (s.b = 0): the head alone, without
/// ln_f, the classifier or a tail's leftovers; the edge's gradient for the head output is received as in
/// the U-shape.
int64_t client_memory_bytes(const model_shape& m, const step_shape& step, split s, layout where = layout::u_shaped);

/// Bytes of one split tensor (B, T, C) on the wire at bytes_per_value (4: fp32, 2: fp16/bf16), payload only.
int64_t activation_bytes(const model_shape& m, const step_shape& step, int64_t bytes_per_value);

} // namespace elsa::sim
