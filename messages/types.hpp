// Plain C++ forms of every ELSA message (the Cap'n Proto schemas in messages/schema/ are the wire forms).
// Actors build and read these; the codec turns them into bytes and back. No LibTorch, no Cap'n Proto here:
// tensors are dtype + shape + raw bytes, so this header stays cheap to include.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace elsa::messages {

// -- tensors ------------------------------------------------------------------

/// Element type of a tensor on the wire (wire enum DType).
enum class dtype : uint8_t {
  f32,
  f16,
  bf16,
};

/// Bytes per element: 4 for f32, 2 for f16 and bf16.
std::size_t dtype_size(dtype type) noexcept;

/// "f32", "f16" or "bf16".
const char* to_string(dtype type) noexcept;

/// A tensor without LibTorch: element type, shape (outermost first, row-major contiguous, little-endian)
/// and a read-only view of its bytes. The bytes are either owned (copy_of) or borrowed from an owner that
/// the view keeps alive (view_of), e.g. a torch tensor on the sending side or the received message buffer
/// on the receiving side, which is how decoding avoids copying tensor data.
class tensor_bytes {
public:
  tensor_bytes() = default;

  /// Copies `size` bytes from `data`. For tests and small tensors; large ones should use view_of.
  static tensor_bytes copy_of(dtype type, std::vector<int64_t> shape, const void* data, std::size_t size);

  /// Borrows `size` bytes at `data`; `owner` (may be null if the caller guarantees the lifetime) keeps
  /// them alive for as long as this view or a copy of it exists.
  static tensor_bytes view_of(dtype type, std::vector<int64_t> shape, const void* data, std::size_t size,
                              std::shared_ptr<const void> owner);

  dtype type() const noexcept {
    return type_;
  }

  const std::vector<int64_t>& shape() const noexcept {
    return shape_;
  }

  const std::byte* data() const noexcept {
    return data_;
  }

  std::size_t size_bytes() const noexcept {
    return size_;
  }

  /// Product of the shape (1 for a scalar); -1 if a dimension is negative or the product overflows.
  int64_t numel() const noexcept;

  /// What keeps the bytes alive (null for a caller-managed view).
  const std::shared_ptr<const void>& owner() const noexcept {
    return owner_;
  }

  /// Same dtype, shape and bytes.
  friend bool operator==(const tensor_bytes& lhs, const tensor_bytes& rhs) noexcept;
  friend bool operator!=(const tensor_bytes& lhs, const tensor_bytes& rhs) noexcept {
    return !(lhs == rhs);
  }

private:
  dtype type_ = dtype::f32;
  std::vector<int64_t> shape_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::shared_ptr<const void> owner_;
};

/// A parameter by its Hugging Face GPT-2 state-dict name.
struct named_tensor {
  std::string name;
  tensor_bytes tensor;
  friend bool operator==(const named_tensor& a, const named_tensor& b) {
    return a.name == b.name && a.tensor == b.tensor;
  }
};

/// Name, dtype and shape of a tensor without its values (the layout of a sketched update).
struct tensor_spec {
  std::string name;
  dtype type = dtype::f32;
  std::vector<int64_t> shape;
  friend bool operator==(const tensor_spec& a, const tensor_spec& b) {
    return a.name == b.name && a.type == b.type && a.shape == b.shape;
  }
};

// -- participants -------------------------------------------------------------

/// The role a participant plays (wire enum Tier).
enum class tier : uint8_t {
  client,
  edge,
  coordinator,
  cloud,
};

const char* to_string(tier role) noexcept;

/// Who sent a message. `id` indexes within the tier; the coordinator and the cloud are always id 0.
struct participant {
  tier role = tier::client;
  uint32_t id = 0;
  friend bool operator==(const participant& a, const participant& b) {
    return a.role == b.role && a.id == b.id;
  }
};

/// Where a client is placed: its edge and its behaviour cluster.
struct assignment {
  uint32_t client_id = 0;
  uint32_t edge_id = 0;
  uint32_t cluster_id = 0;
  friend bool operator==(const assignment& a, const assignment& b) {
    return a.client_id == b.client_id && a.edge_id == b.edge_id && a.cluster_id == b.cluster_id;
  }
};

// -- round control --------------------------------------------------------------

/// A client's split: a blocks in the head (>= 1), b blocks in the tail (0 for two-part splits).
struct split_point {
  uint32_t client_id = 0;
  uint32_t head_blocks = 1;
  uint32_t tail_blocks = 1;
  friend bool operator==(const split_point& a, const split_point& b) {
    return a.client_id == b.client_id && a.head_blocks == b.head_blocks && a.tail_blocks == b.tail_blocks;
  }
};

/// Round r starts: kappa1 local steps, a deadline, and this round's placement and split points.
struct open_round {
  uint32_t round = 0;
  uint32_t local_steps = 1;
  uint64_t deadline_ms = 0;
  bool cloud_round = false;
  std::vector<assignment> assignments;
  std::vector<split_point> splits;
  bool fingerprint = false;  // clients fingerprint on the public probes after their steps, before uploading
  bool sampling = false;          // only some clients take part ([topology] clients_per_round) ...
  std::vector<uint32_t> sampled;  // ... these of the edge's clients (possibly none)
  friend bool operator==(const open_round& a, const open_round& b) {
    return a.round == b.round && a.local_steps == b.local_steps && a.deadline_ms == b.deadline_ms
           && a.cloud_round == b.cloud_round && a.assignments == b.assignments && a.splits == b.splits
           && a.fingerprint == b.fingerprint && a.sampling == b.sampling && a.sampled == b.sampled;
  }
};

enum class close_reason : uint8_t {
  complete,
  quorum,
  deadline,
  aborted,
};

/// Round r is over.
struct close_round {
  uint32_t round = 0;
  close_reason reason = close_reason::complete;
  uint32_t reported = 0;
  uint32_t expected = 0;
  friend bool operator==(const close_round& a, const close_round& b) {
    return a.round == b.round && a.reason == b.reason && a.reported == b.reported && a.expected == b.expected;
  }
};

enum class ack_of : uint8_t {
  open,
  close,
};

/// A participant confirms (or refuses) an open_round or close_round.
struct round_ack {
  uint32_t round = 0;
  ack_of of = ack_of::open;
  bool accepted = true;
  std::string detail;
  friend bool operator==(const round_ack& a, const round_ack& b) {
    return a.round == b.round && a.of == b.of && a.accepted == b.accepted && a.detail == b.detail;
  }
};

// -- split forward / backward ---------------------------------------------------

enum class segment : uint8_t {
  head,
  body,
  tail,
};

enum class tensor_role : uint8_t {
  activation,
  gradient,
};

/// Activations or gradients crossing a split point. Valid (segment, role) pairs: (head, activation),
/// (body, activation), (tail, gradient), (body, gradient).
struct split_tensor {
  uint32_t round = 0;
  uint32_t step = 0;
  uint32_t client_id = 0;
  segment from = segment::head;
  tensor_role role = tensor_role::activation;
  tensor_bytes tensor;                // (batch, seq, d_model)
  std::vector<uint32_t> seq_lengths;  // empty, or one per batch row
  std::vector<uint32_t> labels;       // empty, or one per batch row (two-part split baselines only)
  bool probe = false;                 // a public probe batch (no gradients); `step` is its batch index
  float loss = 0;                     // the step's loss on a two-part split's gradient reply (the edge computed it)
  friend bool operator==(const split_tensor& a, const split_tensor& b) {
    return a.round == b.round && a.step == b.step && a.client_id == b.client_id && a.from == b.from
           && a.role == b.role && a.tensor == b.tensor && a.seq_lengths == b.seq_lengths
           && a.labels == b.labels && a.probe == b.probe && a.loss == b.loss;
  }
};

// -- adapter updates ------------------------------------------------------------

/// Count-sketch form of an update: the r x c f32 table of the flattened concatenation of `layout`.
struct count_sketch {
  uint32_t rows = 0;
  uint32_t cols = 0;
  uint64_t seed = 0;
  std::vector<tensor_spec> layout;
  tensor_bytes table;  // (rows, cols), f32
  std::vector<named_tensor> exact;  // sent as they are beside the sketch (classifier heads); names not in layout
  friend bool operator==(const count_sketch& a, const count_sketch& b) {
    return a.rows == b.rows && a.cols == b.cols && a.seed == b.seed && a.layout == b.layout
           && a.table == b.table && a.exact == b.exact;
  }
};

/// LoRA adapters going up or down the hierarchy; exactly one of dense tensors or a sketch.
struct adapter_update {
  uint32_t round = 0;
  uint32_t base_round = 0;
  uint64_t sample_count = 0;
  uint32_t cluster_id = 0;
  std::variant<std::vector<named_tensor>, count_sketch> form;
  double sim_seconds = 0.0;  // a client's upload: simulated seconds of its own round (core/sim/clock.hpp)
  friend bool operator==(const adapter_update& a, const adapter_update& b) {
    return a.round == b.round && a.base_round == b.base_round && a.sample_count == b.sample_count
           && a.cluster_id == b.cluster_id && a.form == b.form && a.sim_seconds == b.sim_seconds;
  }
};

// -- fingerprints -----------------------------------------------------------------

/// Diagonal Gaussian over final hidden states: mean and variance, both (d), same dtype.
struct gaussian_fingerprint {
  tensor_bytes mean;
  tensor_bytes variance;
  friend bool operator==(const gaussian_fingerprint& a, const gaussian_fingerprint& b) {
    return a.mean == b.mean && a.variance == b.variance;
  }
};

/// Predictive distributions on the probes: (Q, classes).
struct predictive_fingerprint {
  tensor_bytes probs;
  friend bool operator==(const predictive_fingerprint& a, const predictive_fingerprint& b) {
    return a.probs == b.probs;
  }
};

struct fingerprint {
  uint32_t round = 0;
  uint32_t client_id = 0;
  uint32_t probe_count = 0;
  std::variant<gaussian_fingerprint, predictive_fingerprint> form;
  friend bool operator==(const fingerprint& a, const fingerprint& b) {
    return a.round == b.round && a.client_id == b.client_id && a.probe_count == b.probe_count
           && a.form == b.form;
  }
};

// -- trust scores and assignments -------------------------------------------------

struct trust_score {
  uint32_t client_id = 0;
  double score = 1.0;  // in [0, 1]
  bool excluded = false;
  friend bool operator==(const trust_score& a, const trust_score& b) {
    return a.client_id == b.client_id && a.score == b.score && a.excluded == b.excluded;
  }
};

struct trust_update {
  uint32_t round = 0;
  std::vector<trust_score> scores;
  friend bool operator==(const trust_update& a, const trust_update& b) {
    return a.round == b.round && a.scores == b.scores;
  }
};

enum class assignment_reason : uint8_t {
  initial,
  recluster,
  edge_down,
  latency,
};

struct assignment_update {
  uint32_t round = 0;
  assignment_reason reason = assignment_reason::initial;
  std::vector<assignment> assignments;
  bool after_close = false;  // a re-clustering decided after its round's edges closed
  friend bool operator==(const assignment_update& a, const assignment_update& b) {
    return a.round == b.round && a.reason == b.reason && a.assignments == b.assignments
           && a.after_close == b.after_close;
  }
};

// -- registration -----------------------------------------------------------------

/// A participant announces itself to the coordinator (clients, edges) or to the cloud (the coordinator):
/// who it is is the envelope's sender, and the actor that sent it is where to reach it.
struct registration {
  uint64_t samples = 0;     // a client's training examples (what its updates' sample counts may claim); else 0
  uint32_t cluster_id = 0;  // the cluster (task) a client's data belongs to; else 0
  friend bool operator==(const registration& a, const registration& b) {
    return a.samples == b.samples && a.cluster_id == b.cluster_id;
  }
};

/// One registered participant as the coordinator hands it on.
struct peer_entry {
  participant who;
  uint64_t samples = 0;
  uint32_t cluster_id = 0;
  friend bool operator==(const peer_entry& a, const peer_entry& b) {
    return a.who == b.who && a.samples == b.samples && a.cluster_id == b.cluster_id;
  }
};

/// Whom the receiver talks to, from the coordinator once registration is complete. The actor message that
/// carries it carries one actor handle per entry, in the same order (handles are not Cap'n Proto data).
struct peer_table {
  std::vector<peer_entry> peers;
  friend bool operator==(const peer_table& a, const peer_table& b) {
    return a.peers == b.peers;
  }
};

// -- heartbeats -------------------------------------------------------------------

/// One client-edge link as its edge measured it.
struct link_rtt {
  uint32_t client_id = 0;
  double rtt_ms = 0;  // finite, >= 0
  friend bool operator==(const link_rtt& a, const link_rtt& b) {
    return a.client_id == b.client_id && a.rtt_ms == b.rtt_ms;
  }
};

/// Ping (is_reply false) or its reply, which echoes the ping's sent_ns so RTT uses one clock only. An edge's
/// reply to the coordinator's ping carries the RTTs it measured to the clients that answered (`links`; edges
/// only).
struct heartbeat {
  uint64_t seq = 0;
  int64_t sent_ns = 0;
  int64_t echo_ns = 0;
  bool is_reply = false;
  uint32_t queue_length = 0;
  std::vector<link_rtt> links;
  friend bool operator==(const heartbeat& a, const heartbeat& b) {
    return a.seq == b.seq && a.sent_ns == b.sent_ns && a.echo_ns == b.echo_ns && a.is_reply == b.is_reply
           && a.queue_length == b.queue_length && a.links == b.links;
  }
};

// -- errors -----------------------------------------------------------------------

enum class report_code : uint8_t {
  malformed_message,
  unexpected_message,
  out_of_range,
  deadline_missed,
  internal,
};

const char* to_string(report_code code) noexcept;

struct error_report {
  report_code code = report_code::internal;
  uint32_t round = 0;
  std::string text;
  friend bool operator==(const error_report& a, const error_report& b) {
    return a.code == b.code && a.round == b.round && a.text == b.text;
  }
};

// -- kinds --------------------------------------------------------------------------

/// Which body an encoded message carries (the envelope's union tag).
enum class message_kind : uint8_t {
  open_round,
  close_round,
  round_ack,
  split_tensor,
  adapter_update,
  fingerprint,
  trust_update,
  assignment_update,
  heartbeat,
  error_report,
  registration,
  peer_table,
};

/// e.g. "split_tensor".
const char* to_string(message_kind kind) noexcept;

/// Any message body, in message_kind order.
using message_body = std::variant<open_round, close_round, round_ack, split_tensor, adapter_update,
                                  fingerprint, trust_update, assignment_update, heartbeat, error_report,
                                  registration, peer_table>;

namespace detail {

template <class T, class... Ts>
constexpr std::size_t index_of(std::variant<Ts...>*) {
  constexpr bool matches[] = {std::is_same_v<T, Ts>...};
  for (std::size_t i = 0; i < sizeof...(Ts); ++i)
    if (matches[i])
      return i;
  return sizeof...(Ts);
}

} // namespace detail

/// The message_kind of a body type, e.g. kind_of<split_tensor> == message_kind::split_tensor.
template <class T>
inline constexpr message_kind kind_of
  = static_cast<message_kind>(detail::index_of<T>(static_cast<message_body*>(nullptr)));

/// A decoded message and who sent it.
template <class T>
struct received {
  participant sender;
  T body;
};

/// Bytes a message's tensors would add were they dense f32 (0 for a message that is): the record counts
/// each message's dense-equivalent size as its encoded size plus this, so dense / sent is what compression
/// (fp16 tensors, sketched adapters) saved.
int64_t dense_f32_extra(const split_tensor& m) noexcept;
int64_t dense_f32_extra(const adapter_update& m) noexcept;

} // namespace elsa::messages
