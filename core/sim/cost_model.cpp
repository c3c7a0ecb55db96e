// The cost model of a split training step (see cost_model.hpp). FLOPs come from the shapes of the ops of
// core/model/gpt2.cpp; memory from a replay of the tensors a client's step creates, saves and frees, in the
// order the code and LibTorch's autograd engine create and free them.
#include "core/sim/cost_model.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::sim {

namespace {

// -- shapes ---------------------------------------------------------------------------------

// The four Conv1D layers of a block in forward order, as lora_config names them.
constexpr std::array<const char*, 4> target_names = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};
enum layer : int { c_attn = 0, attn_proj = 1, c_fc = 2, mlp_proj = 3 };

// FLOPs per element of the elementwise ops, forward (see the header for what each covers).
constexpr double layer_norm_flops = 8;
constexpr double gelu_flops = 10;
constexpr double score_flops = 8;
constexpr double log_softmax_flops = 5;
constexpr double adamw_flops = 14;

constexpr int64_t f32 = 4;
constexpr int64_t i64 = 8;

// One step's dimensions, with the (in, out) and adapter of each layer.
struct dims {
  int64_t B, T, N, C, H, F, r, K;
  std::array<int64_t, 4> in, out;
  std::array<bool, 4> lora;
};

[[noreturn]] void bad(const std::string& what) {
  throw error(errc::invalid_argument, what);
}

dims dims_of(const model_shape& m, const step_shape& st) {
  auto positive = [](const char* key, int64_t v) {
    if (v < 1)
      bad(fmt::format("cost model: {} = {} is out of range; need >= 1", key, v));
  };
  positive("n_layer", m.n_layer);
  positive("n_embd", m.n_embd);
  positive("n_head", m.n_head);
  positive("n_inner", m.n_inner);
  positive("vocab", m.vocab);
  positive("n_positions", m.n_positions);
  positive("lora_rank", m.lora_rank);
  positive("num_labels", m.num_labels);
  positive("batch", st.batch);
  positive("seq_len", st.seq_len);
  if (m.n_embd % m.n_head != 0)
    bad(fmt::format("cost model: n_embd = {} must be a multiple of n_head = {}", m.n_embd, m.n_head));
  dims d{};
  d.B = st.batch;
  d.T = st.seq_len;
  d.N = st.batch * st.seq_len;
  d.C = m.n_embd;
  d.H = m.n_head;
  d.F = m.n_inner;
  d.r = m.lora_rank;
  d.K = m.num_labels;
  d.in = {d.C, d.C, d.C, d.F};
  d.out = {3 * d.C, d.C, d.F, d.C};
  d.lora = {false, false, false, false};
  for (const auto& t : m.lora_targets) {
    auto it = std::find(target_names.begin(), target_names.end(), t);
    if (it == target_names.end())
      bad(fmt::format("cost model: unknown LoRA target '{}'; allowed c_attn, attn.c_proj, c_fc, mlp.c_proj",
                      t));
    d.lora[static_cast<std::size_t>(it - target_names.begin())] = true;
  }
  return d;
}

void check_split(const model_shape& m, split s) {
  if (s.a < 0 || s.b < 0 || s.a + s.b > m.n_layer)
    bad(fmt::format("cost model: split (a = {}, b = {}) does not fit a {}-block model; need a >= 0, b >= 0, "
                    "a + b <= {}",
                    s.a, s.b, m.n_layer, m.n_layer));
}

// Parameters of one block's frozen weights: ln_1, ln_2 (weight, bias), the four Conv1D (weight, bias).
int64_t block_parameters(const dims& d) {
  int64_t n = 2 * 2 * d.C;
  for (int k = 0; k < 4; ++k)
    n += d.in[k] * d.out[k] + d.out[k];
  return n;
}

// Trainable LoRA parameters of one block: A (r, in) and B (out, r) per adapted layer.
int64_t lora_parameters(const dims& d) {
  int64_t n = 0;
  for (int k = 0; k < 4; ++k)
    if (d.lora[k])
      n += d.r * (d.in[k] + d.out[k]);
  return n;
}

// Which tensors of a block require grad, given its input does (in) or not: what autograd differentiates.
struct flow {
  bool in = false;   // the block input (and so ln_1's output)
  bool qkv = false;  // c_attn's output, and with it the whole attention core
  bool attn = false; // attn.c_proj's output
  bool y = false;    // the first residual sum (and ln_2's output)
  bool fc = false;   // c_fc's output (GELU's input)
  bool out = false;  // the block output
};

flow flow_of(const dims& d, bool in) {
  flow f;
  f.in = in;
  f.qkv = in || d.lora[c_attn];
  f.attn = f.qkv || d.lora[attn_proj];
  f.y = in || f.attn;
  f.fc = f.y || d.lora[c_fc];
  f.out = f.fc || d.lora[mlp_proj];
  return f;
}

// -- FLOPs ------------------------------------------------------------------------------------

double layer_forward(const dims& d, int k) {
  const double N = d.N, in = d.in[k], out = d.out[k], r = d.r;
  double f = 2 * N * in * out + N * out; // x W, + bias
  if (d.lora[k])
    f += 2 * N * r * (in + out) + 2 * N * out; // (x A^T) B^T, * scale, + base
  return f;
}

// x_grad: the layer's input needs a gradient. A frozen W gets none; A and B always do.
double layer_backward(const dims& d, int k, bool x_grad) {
  const double N = d.N, in = d.in[k], out = d.out[k], r = d.r;
  double f = x_grad ? 2 * N * in * out : 0.0; // dX = dY W^T
  if (d.lora[k]) {
    f += 2 * N * out;                 // the scale, twice its forward
    f += 2 * N * r * out;             // dB = (dY s)^T (x A^T)
    f += 2 * N * out * r;             // d(x A^T) = (dY s) B
    f += 2 * N * r * in;              // dA = d(x A^T)^T x
    f += x_grad ? 2 * N * r * in : 0; // dX += d(x A^T) A
  }
  return f;
}

double attention_matmuls(const dims& d) {
  return 2.0 * (2.0 * d.B * d.T * d.T * d.C); // QK^T and AV: B H T^2 D multiply-adds each
}

double attention_elementwise(const dims& d) {
  return score_flops * static_cast<double>(d.B * d.H) * static_cast<double>(d.T * d.T);
}

double block_forward(const dims& d) {
  double f = 0;
  for (int k = 0; k < 4; ++k)
    f += layer_forward(d, k);
  f += attention_matmuls(d) + attention_elementwise(d);
  f += 2 * layer_norm_flops * static_cast<double>(d.N * d.C); // ln_1, ln_2
  f += gelu_flops * static_cast<double>(d.N * d.F);
  f += 2.0 * static_cast<double>(d.N * d.C); // residual adds
  return f;
}

double block_backward(const dims& d, const flow& fl) {
  const double NC = static_cast<double>(d.N * d.C);
  double f = 0;
  if (fl.in)
    f += 2 * layer_norm_flops * NC; // ln_1
  f += layer_backward(d, c_attn, fl.in);
  if (fl.qkv)
    f += 2 * (attention_matmuls(d) + attention_elementwise(d));
  f += layer_backward(d, attn_proj, fl.qkv);
  if (fl.y)
    f += 2 * layer_norm_flops * NC; // ln_2
  f += layer_backward(d, c_fc, fl.y);
  if (fl.fc)
    f += 2 * gelu_flops * static_cast<double>(d.N * d.F);
  f += layer_backward(d, mlp_proj, fl.fc);
  return f;
}

// -- memory: a replay of the step's tensors -----------------------------------------------------

// Tensors by reference count, as storages are: a tensor is freed when its last holder (a variable of the
// code, a saved variable of autograd, a gradient buffer of the engine) lets go.
class ledger {
public:
  using tensor = std::size_t;
  static constexpr tensor none = std::numeric_limits<tensor>::max();

  tensor alloc(int64_t bytes) {
    bytes_.push_back(bytes);
    refs_.push_back(1);
    live_ += bytes;
    peak_ = std::max(peak_, live_);
    return bytes_.size() - 1;
  }
  tensor hold(tensor t) {
    if (t != none)
      ++refs_[t];
    return t;
  }
  void drop(tensor t) {
    if (t == none || refs_[t] == 0)
      return;
    if (--refs_[t] == 0)
      live_ -= bytes_[t];
  }
  int64_t peak() const {
    return peak_;
  }

private:
  std::vector<int64_t> bytes_;
  std::vector<int> refs_;
  int64_t live_ = 0;
  int64_t peak_ = 0;
};

using tensor = ledger::tensor;
constexpr tensor none = ledger::none;

// What autograd keeps of one block's forward until its backward.
struct block_tape {
  flow fl;
  tensor x = none, ln1 = none; // ln_1's input and (mean, rstd), when the input needs a gradient
  std::array<tensor, 4> lin_in{none, none, none, none}; // each adapted layer's input, for dA
  std::array<tensor, 4> z{none, none, none, none};      // x A^T, for dB
  tensor qkv = none;                   // c_attn's output, when q, k, v are saved as views of it
  tensor q = none, k = none, v = none; // the contiguous copies the batched matmuls save
  tensor probs = none, causal = none;  // softmax output (B, H, T, T); masked_fill's mask (T, T) bool
  tensor y = none, ln2 = none;         // ln_2's input and statistics
  tensor fc = none;                    // GELU's input
};

// A client's steady-state training step, replayed tensor by tensor (split_client: begin_step, tail_step,
// finish_step over core/model's segments).
class client_step {
public:
  // head_only: a two-part split's client (no ln_f, classifier or tail).
  client_step(const dims& d, const model_shape& m, split s, bool head_only = false)
      : d_(d), m_(m), s_(s), head_only_(head_only) {
    const int64_t NC = d.N * d.C;
    // Held all step: frozen weights, trainable tensors, AdamW's moments.
    const int64_t frozen = m.vocab * d.C + m.n_positions * d.C + (s.a + s.b) * block_parameters(d)
                           + (head_only ? 0 : 2 * d.C);
    const int64_t trainable = (s.a + s.b) * lora_parameters(d) + (head_only ? 0 : d.K * d.C);
    L_.alloc(frozen * f32);
    L_.alloc(3 * trainable * f32); // the parameters and their two moments
    // The previous step's leftovers: the tail keeps its input (and that input's gradient) until its next
    // forward; split_client keeps its batch until the next one is drawn.
    if (!head_only) {
      prev_tail_in_ = L_.alloc(NC * f32);
      prev_tail_grad_ = L_.alloc(NC * f32);
    }
    batch_ = alloc_batch();
  }

  int64_t run() {
    begin_step();
    if (!head_only_)
      tail_step();
    finish_step();
    return L_.peak();
  }

private:
  int64_t NC() const {
    return d_.N * d_.C;
  }
  int64_t scores() const {
    return d_.B * d_.H * d_.T * d_.T;
  }

  std::array<tensor, 3> alloc_batch() {
    return {L_.alloc(d_.N * i64), L_.alloc(d_.N * i64), L_.alloc(d_.B * i64)}; // ids, mask, labels
  }

  // run_blocks' additive padding mask (B, 1, 1, T): mask.to(f32), 1 - it, * -1e9.
  tensor padding_bias() {
    auto t1 = L_.alloc(d_.N * f32);
    auto t2 = L_.alloc(d_.N * f32);
    auto bias = L_.alloc(d_.N * f32);
    L_.drop(t1);
    L_.drop(t2);
    return bias;
  }

  // lora_linear: addmm, then (x A^T) B^T * scale added to it in one expression, whose temporaries live until
  // its end. Saves x (for dA) and x A^T (for dB); a frozen layer saves nothing (W needs no gradient).
  tensor linear_forward(tensor x, int k, block_tape& tp) {
    auto y = L_.alloc(d_.N * d_.out[k] * f32);
    if (!d_.lora[k])
      return y;
    tp.lin_in[k] = L_.hold(x);
    tp.z[k] = L_.alloc(d_.N * d_.r * f32);
    auto p = L_.alloc(d_.N * d_.out[k] * f32);
    auto scaled = L_.alloc(d_.N * d_.out[k] * f32);
    auto sum = L_.alloc(d_.N * d_.out[k] * f32);
    L_.drop(y);
    L_.drop(p);
    L_.drop(scaled);
    return sum;
  }

  // q, k, v are (B, H, T, D) views of c_attn's output; matmul folds (B, H) into one batch dimension, a copy
  // unless B or H is 1.
  bool views() const {
    return d_.B == 1 || d_.H == 1;
  }

  // AttentionImpl::forward on ln_1's output h.
  tensor attention_forward(tensor h, block_tape& tp) {
    auto qkv = linear_forward(h, c_attn, tp);
    const bool g = tp.fl.qkv;
    // att = matmul(q, k^T) * 1/sqrt(D)
    tensor qc = none, kc = none;
    if (views()) {
      if (g)
        tp.qkv = L_.hold(qkv);
    } else {
      qc = L_.alloc(NC() * f32);
      kc = L_.alloc(NC() * f32);
    }
    auto s0 = L_.alloc(scores() * f32);
    if (g) {
      tp.q = qc;
      tp.k = kc;
    } else {
      L_.drop(qc);
      L_.drop(kc);
    }
    auto att = L_.alloc(scores() * f32);
    L_.drop(s0);
    // the causal mask: ones(T, T).tril(), and its logical_not for masked_fill
    auto ones = L_.alloc(d_.T * d_.T);
    auto causal = L_.alloc(d_.T * d_.T);
    L_.drop(ones);
    auto not_causal = L_.alloc(d_.T * d_.T);
    auto filled = L_.alloc(scores() * f32);
    L_.drop(att);
    if (g)
      tp.causal = not_causal;
    else
      L_.drop(not_causal);
    auto biased = L_.alloc(scores() * f32); // + the padding bias
    L_.drop(filled);
    auto probs = L_.alloc(scores() * f32);
    L_.drop(biased);
    if (g)
      tp.probs = L_.hold(probs);
    // y = matmul(att, v).transpose(1, 2).contiguous()
    tensor vc = none;
    if (!views())
      vc = L_.alloc(NC() * f32);
    auto o = L_.alloc(NC() * f32);
    if (g)
      tp.v = vc;
    else
      L_.drop(vc);
    auto ctx = L_.alloc(NC() * f32);
    L_.drop(o);
    auto proj = linear_forward(ctx, attn_proj, tp);
    L_.drop(ctx);
    // leaving the function: the causal mask, the probabilities and the q, k, v views go
    L_.drop(causal);
    L_.drop(probs);
    L_.drop(qkv);
    return proj;
  }

  // BlockImpl::forward: y = x + attn(ln_1(x)); return y + mlp(ln_2(y)). Takes no reference to x.
  tensor block_forward(tensor x, block_tape& tp) {
    const auto& fl = tp.fl;
    auto h1 = L_.alloc(NC() * f32);
    if (fl.in) {
      tp.x = L_.hold(x);
      tp.ln1 = L_.alloc(2 * d_.N * f32);
    }
    auto a = attention_forward(h1, tp);
    auto y = L_.alloc(NC() * f32);
    L_.drop(a);
    L_.drop(h1);
    auto h2 = L_.alloc(NC() * f32);
    if (fl.y) {
      tp.y = L_.hold(y);
      tp.ln2 = L_.alloc(2 * d_.N * f32);
    }
    auto fc = linear_forward(h2, c_fc, tp);
    if (fl.fc)
      tp.fc = L_.hold(fc);
    auto ge = L_.alloc(d_.N * d_.F * f32);
    auto m = linear_forward(ge, mlp_proj, tp);
    L_.drop(fc);
    L_.drop(ge);
    auto out = L_.alloc(NC() * f32);
    L_.drop(m);
    L_.drop(h2);
    L_.drop(y);
    return out;
  }

  // Blocks [first, last) on x (run_blocks), taking x's reference; in: whether x requires grad.
  tensor run_blocks(tensor x, int64_t first, int64_t last, bool in, std::vector<block_tape>& tapes) {
    auto bias = padding_bias();
    for (int64_t i = first; i < last; ++i) {
      block_tape tp;
      tp.fl = flow_of(d_, in);
      auto next = block_forward(x, tp);
      L_.drop(x);
      x = next;
      in = tp.fl.out;
      tapes.push_back(tp);
    }
    L_.drop(bias);
    return x;
  }

  // -- backward, in the order the engine runs it: the node created last first among those ready --

  tensor param_grad(int64_t numel) {
    auto g = L_.alloc(numel * f32);
    grads_.push_back(g); // held until drop_grads after the optimizer step
    return g;
  }

  // Adds gradient `extra` into `into` as the engine's input buffer does in LibTorch 1.13: dense gradients
  // are summed into a new tensor (never in place), then both addends are let go.
  tensor accumulate(tensor into, tensor extra, int64_t bytes) {
    auto sum = L_.alloc(bytes);
    L_.drop(into);
    L_.drop(extra);
    return sum;
  }

  // lora_linear's backward from its output gradient g (its reference is consumed): the sum's Add, the scale,
  // (x A^T) B^T, x A^T, then the base addmm. Returns dX when x needs a gradient.
  tensor linear_backward(tensor g, int k, bool x_grad, block_tape& tp) {
    const int64_t in = d_.in[k], out = d_.out[k];
    tensor dx = none;
    if (d_.lora[k]) {
      auto gs = L_.alloc(d_.N * out * f32);
      param_grad(out * d_.r); // dB (a matmul's second operand is differentiated first)
      auto dz = L_.alloc(d_.N * d_.r * f32);
      L_.drop(gs);
      L_.drop(tp.z[k]);
      param_grad(d_.r * in); // dA
      if (x_grad)
        dx = L_.alloc(d_.N * in * f32);
      L_.drop(dz);
      L_.drop(tp.lin_in[k]);
    }
    if (x_grad) {
      auto base = L_.alloc(d_.N * in * f32); // dY W^T
      L_.drop(g);
      return dx == none ? base : accumulate(dx, base, d_.N * in * f32);
    }
    L_.drop(g);
    return dx;
  }

  // The attention branch's backward from the gradient of its output (consumed). Returns d ln_1's output.
  tensor attention_backward(tensor g, block_tape& tp) {
    const auto& fl = tp.fl;
    auto d_ctx = linear_backward(g, attn_proj, fl.qkv, tp);
    if (!fl.qkv)
      return none;
    // transpose(1, 2).contiguous() backward: the transposed gradient is copied to (B H, T, D)
    auto dc = L_.alloc(NC() * f32);
    L_.drop(d_ctx);
    // matmul(att, v)
    auto d_v = L_.alloc(NC() * f32);
    auto d_att = L_.alloc(scores() * f32);
    L_.drop(dc);
    L_.drop(tp.v);
    // softmax, masked_fill, scale
    auto d_s = L_.alloc(scores() * f32);
    L_.drop(d_att);
    L_.drop(tp.probs);
    auto d_m = L_.alloc(scores() * f32);
    L_.drop(d_s);
    L_.drop(tp.causal);
    auto d_sc = L_.alloc(scores() * f32);
    L_.drop(d_m);
    // matmul(q, k^T)
    auto d_k = L_.alloc(NC() * f32);
    auto d_q = L_.alloc(NC() * f32);
    L_.drop(d_sc);
    L_.drop(tp.q);
    L_.drop(tp.k);
    L_.drop(tp.qkv);
    // each head-split view back to (B, T, C): q's and v's transposed gradients are copied; k's, transposed
    // twice, already is a strided (B, T, C) view. Then split's cat.
    auto cv = L_.alloc(NC() * f32);
    L_.drop(d_v);
    auto cq = L_.alloc(NC() * f32);
    L_.drop(d_q);
    auto d_qkv = L_.alloc(3 * NC() * f32);
    L_.drop(cv);
    L_.drop(d_k);
    L_.drop(cq);
    return linear_backward(d_qkv, c_attn, fl.in, tp);
  }

  // A block's backward from the gradient of its output (its reference consumed). Returns the gradient of the
  // block input when that needs one.
  tensor block_backward(tensor g, block_tape& tp) {
    const auto& fl = tp.fl;
    // out = y + mlp(...): the MLP branch runs first; y's gradient (the same tensor) waits.
    tensor g_y = fl.y ? L_.hold(g) : none;
    if (fl.fc || d_.lora[mlp_proj]) {
      auto d_ge = linear_backward(g, mlp_proj, fl.fc, tp);
      if (fl.fc) {
        auto d_fc = L_.alloc(d_.N * d_.F * f32); // GELU
        L_.drop(d_ge);
        L_.drop(tp.fc);
        auto d_h2 = linear_backward(d_fc, c_fc, fl.y, tp);
        if (fl.y) {
          auto d_y = L_.alloc(NC() * f32); // ln_2
          L_.drop(d_h2);
          L_.drop(tp.y);
          L_.drop(tp.ln2);
          g_y = accumulate(g_y, d_y, NC() * f32);
        }
      }
    } else {
      L_.drop(g);
    }
    if (!fl.y)
      return none;
    // y = x + attn(ln_1(x)): the attention branch first; x's gradient (the same tensor) waits.
    tensor g_x = fl.in ? L_.hold(g_y) : none;
    if (fl.attn) {
      auto d_h1 = attention_backward(g_y, tp);
      if (fl.in) {
        auto d_x = L_.alloc(NC() * f32); // ln_1
        L_.drop(d_h1);
        L_.drop(tp.x);
        L_.drop(tp.ln1);
        g_x = accumulate(g_x, d_x, NC() * f32);
      } else {
        L_.drop(d_h1);
      }
    } else {
      L_.drop(g_y);
    }
    return g_x;
  }

  // -- the step --

  void begin_step() {
    auto fresh = alloc_batch();
    for (auto t : batch_)
      L_.drop(t);
    batch_ = fresh;
    // head forward: embed(ids) = wte(ids) + wpe(arange(T)), then blocks [0, a)
    auto pos = L_.alloc(d_.T * i64);
    auto tok = L_.alloc(NC() * f32);
    auto posv = L_.alloc(d_.T * d_.C * f32);
    auto x = L_.alloc(NC() * f32);
    L_.drop(tok);
    L_.drop(posv);
    L_.drop(pos);
    head_out_ = run_blocks(x, 0, s_.a, false, head_); // kept by the segment (and the outgoing view)
  }

  void tail_step() {
    const int64_t L = m_.n_layer;
    auto in = L_.alloc(NC() * f32); // the received body output
    L_.drop(prev_tail_in_);         // the segment's input_ is replaced...
    L_.drop(prev_tail_grad_);       // ...and with it the previous input's gradient
    auto x = run_blocks(L_.hold(in), L - s_.b, L, true, tail_);
    // ln_f
    auto normed = L_.alloc(NC() * f32);
    auto lnf_stats = L_.alloc(2 * d_.N * f32);
    auto lnf_in = x; // saved: the reference moves to the tape
    // classifier: the last real token of each row (B, C), saved for dW; logits (B, K)
    auto pooled = L_.alloc(d_.B * d_.C * f32);
    auto logits = L_.alloc(d_.B * d_.K * f32);
    L_.drop(normed);
    // cross_entropy = nll_loss(log_softmax(logits)): log_softmax's output is saved
    auto logp = L_.alloc(d_.B * d_.K * f32);
    // backward from the loss
    auto d_logp = L_.alloc(d_.B * d_.K * f32);
    auto d_logits = L_.alloc(d_.B * d_.K * f32);
    L_.drop(d_logp);
    L_.drop(logp);
    param_grad(d_.K * d_.C);
    auto d_pooled = L_.alloc(d_.B * d_.C * f32);
    L_.drop(d_logits);
    L_.drop(pooled);
    auto d_normed = L_.alloc(NC() * f32); // index backward: zeros (B, T, C) with the rows put in
    L_.drop(d_pooled);
    auto g = L_.alloc(NC() * f32); // ln_f
    L_.drop(d_normed);
    L_.drop(lnf_in);
    L_.drop(lnf_stats);
    for (auto it = tail_.rbegin(); it != tail_.rend(); ++it)
      g = block_backward(g, *it);
    L_.drop(logits); // the segment's output_ is reset
    // g is the input's .grad: the segment keeps it (and the input) until the next step's tail forward
    prev_tail_in_ = in;
    prev_tail_grad_ = g;
  }

  void finish_step() {
    auto received = L_.alloc(NC() * f32); // the edge's gradient for the head output
    tensor g = L_.hold(received);
    for (auto it = head_.rbegin(); it != head_.rend(); ++it)
      g = block_backward(g, *it);
    L_.drop(g);
    L_.drop(head_out_);
    L_.drop(received);
    for (auto t : grads_) // clip, AdamW step (moments already held), drop_grads
      L_.drop(t);
    grads_.clear();
  }

  dims d_;
  const model_shape& m_;
  split s_;
  bool head_only_ = false;
  ledger L_;
  tensor prev_tail_in_ = none, prev_tail_grad_ = none, head_out_ = none;
  std::array<tensor, 3> batch_{none, none, none};
  std::vector<block_tape> head_, tail_;
  std::vector<tensor> grads_;
};

} // namespace

// -- public -----------------------------------------------------------------------------------

bool operator==(split x, split y) {
  return x.a == y.a && x.b == y.b;
}

bool operator!=(split x, split y) {
  return !(x == y);
}

model_shape shape_of(const model::gpt2_config& model, const model::lora_config& lora, int64_t num_labels) {
  model_shape m;
  m.n_layer = model.n_layer;
  m.n_embd = model.n_embd;
  m.n_head = model.n_head;
  m.n_inner = model.inner();
  m.vocab = model.vocab_size;
  m.n_positions = model.n_positions;
  m.lora_rank = lora.rank;
  m.lora_targets = lora.targets;
  m.num_labels = num_labels;
  return m;
}

double block_forward_flops(const model_shape& m, const step_shape& step) {
  return block_forward(dims_of(m, step));
}

step_flops training_step_flops(const model_shape& m, const step_shape& step, split s, layout where) {
  const auto d = dims_of(m, step);
  check_split(m, s);
  if (where == layout::two_part && s.b != 0)
    bad(fmt::format("cost model: a two-part split has no tail (b = {}, need 0)", s.b));
  const double NC = static_cast<double>(d.N * d.C);
  const double fwd = block_forward(d);
  const double lora = static_cast<double>(lora_parameters(d));
  step_flops out;
  // Head: the position-embedding add, then blocks whose input needs a gradient from block 1 on.
  out.client += NC;
  bool in = false;
  for (int64_t i = 0; i < s.a; ++i) {
    const auto fl = flow_of(d, in);
    out.client += fwd + block_backward(d, fl);
    in = fl.out;
  }
  // Body and tail inputs are leaves that require grad.
  const double full = fwd + block_backward(d, flow_of(d, true));
  out.edge += static_cast<double>(m.n_layer - s.a - s.b) * full;
  out.client += static_cast<double>(s.b) * full;
  // ln_f, the classifier on the last tokens (dW and dX backward), log-softmax + NLL.
  // (two_part: the edge's, as is the classifier's AdamW.)
  const double BK = static_cast<double>(d.B * d.K);
  double& top = where == layout::two_part ? out.edge : out.client;
  top += 3 * layer_norm_flops * NC;
  top += 3 * 2.0 * BK * static_cast<double>(d.C);
  top += 3 * log_softmax_flops * BK + static_cast<double>(d.B);
  // The optimizers, each over its own trainable tensors.
  out.client += adamw_flops * static_cast<double>(s.a + s.b) * lora;
  top += adamw_flops * static_cast<double>(d.K * d.C);
  out.edge += adamw_flops * static_cast<double>(m.n_layer - s.a - s.b) * lora;
  if (where == layout::whole_model) {
    out.client += out.edge;
    out.edge = 0;
  }
  return out;
}

int64_t client_memory_bytes(const model_shape& m, const step_shape& step, split s, layout where) {
  const auto d = dims_of(m, step);
  check_split(m, s);
  if (where == layout::whole_model)
    return client_step(d, m, {m.n_layer - s.b, s.b}).run();
  if (where == layout::two_part) {
    if (s.b != 0)
      bad(fmt::format("cost model: a two-part split has no tail (b = {}, need 0)", s.b));
    return client_step(d, m, s, true).run();
  }
  return client_step(d, m, s).run();
}

int64_t activation_bytes(const model_shape& m, const step_shape& step, int64_t bytes_per_value) {
  if (bytes_per_value < 1)
    bad(fmt::format("cost model: bytes_per_value = {} is out of range; need >= 1", bytes_per_value));
  if (step.batch < 1 || step.seq_len < 1)
    bad(fmt::format("cost model: step (batch = {}, seq_len = {}) is empty", step.batch, step.seq_len));
  return step.batch * step.seq_len * m.n_embd * bytes_per_value;
}

} // namespace elsa::sim
