// Cap'n Proto encoding and validating decoding of ELSA messages. Encoding references tensor bytes where they
// are and copies them once, straight into the payload's buffer; decoding views tensor bytes inside the
// payload, so it copies none.
#include "messages/codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <type_traits>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "messages/schema/envelope.capnp.h"

// Tensor data is defined as little-endian on the wire and copied as-is; a big-endian port would have to
// byte-swap here.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the ELSA wire format assumes a little-endian host");

namespace elsa::messages {

const char* to_string(violation v) noexcept {
  switch (v) {
    case violation::not_a_message:
      return "not_a_message";
    case violation::trailing_bytes:
      return "trailing_bytes";
    case violation::too_large:
      return "too_large";
    case violation::wrong_version:
      return "wrong_version";
    case violation::wrong_kind:
      return "wrong_kind";
    case violation::unknown_enum:
      return "unknown_enum";
    case violation::id_out_of_range:
      return "id_out_of_range";
    case violation::rank_limit:
      return "rank_limit";
    case violation::element_limit:
      return "element_limit";
    case violation::byte_length:
      return "byte_length";
    case violation::list_limit:
      return "list_limit";
    case violation::text_limit:
      return "text_limit";
    case violation::inconsistent:
      return "inconsistent";
    case violation::value_out_of_range:
      return "value_out_of_range";
    case violation::internal:
      return "internal";
  }
  return "unknown violation";
}

namespace {

namespace w = wire;
using body_reader = w::Envelope::Body::Reader;
using body_builder = w::Envelope::Body::Builder;

/// The only wire version this build reads and writes.
constexpr uint16_t wire_version = 1;

/// Cap'n Proto list lengths are 29-bit, so one Data field holds at most this many bytes.
constexpr uint64_t max_data_bytes = (uint64_t{1} << 29) - 1;

// -- errors ---------------------------------------------------------------------
// Inside this file a broken rule unwinds to the single catch in guarded(), exactly as Cap'n Proto
// reports malformed input itself; callers of the codec only ever see values.

struct rule_broken {
  codec_error error;
};

errc code_for(violation v) {
  switch (v) {
    case violation::too_large:
    case violation::id_out_of_range:
    case violation::rank_limit:
    case violation::element_limit:
    case violation::list_limit:
    case violation::text_limit:
    case violation::value_out_of_range:
      return errc::invalid_argument;
    case violation::internal:
      return errc::io_error;
    default:
      return errc::malformed_input;
  }
}

[[noreturn]] void fail(violation v, std::string message) {
  throw rule_broken{codec_error{code_for(v), v, std::move(message)}};
}

// A macro so that the message (string building, the costly part) is only evaluated when the rule is broken:
// valid messages must not pay for error texts they never show.
#define ELSA_REQUIRE(condition, rule, message)                                                                \
  do {                                                                                                         \
    if (!(condition))                                                                                          \
      fail((rule), (message));                                                                                 \
  } while (false)

/// A field's name, assembled only when an error message needs it. Children point at their parent, which
/// lives on the caller's stack for the duration of the call.
class field_name {
public:
  field_name(const char* name) : name_(name) {
    // nop
  }

  field_name(const char* name, std::size_t index) : name_(name), index_(index) {
    // nop
  }

  /// This field's member, e.g. tensor.dot(".shape").
  field_name dot(const char* member) const {
    return field_name{this, member, npos};
  }

  /// This list's element i.
  field_name at(std::size_t index) const {
    return field_name{this, "", index};
  }

  std::string str() const {
    std::string out = parent_ != nullptr ? parent_->str() : std::string{};
    out += name_;
    if (index_ != npos)
      out += "[" + std::to_string(index_) + "]";
    return out;
  }

private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  field_name(const field_name* parent, const char* name, std::size_t index)
    : parent_(parent), name_(name), index_(index) {
    // nop
  }

  const field_name* parent_ = nullptr;
  const char* name_;
  std::size_t index_ = npos;
};

// Runs `f`, turning every failure (ours, Cap'n Proto's, allocation) into a codec_error value.
template <class F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const rule_broken& broken) {
    return broken.error;
  } catch (const kj::Exception& e) {
    return codec_error{errc::malformed_input, violation::not_a_message,
                       std::string{what} + ": not a valid Cap'n Proto message ("
                         + e.getDescription().cStr() + "); the bytes are corrupt or truncated"};
  } catch (const std::bad_alloc&) {
    return codec_error{errc::io_error, violation::internal, std::string{what} + ": out of memory"};
  } catch (const std::exception& e) {
    return codec_error{errc::io_error, violation::internal, std::string{what} + ": " + e.what()};
  }
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

// -- enums ------------------------------------------------------------------------
// C++ enums use the schema's ordinals, so conversion is a cast after a range check.

template <class E, class Wire>
E enum_from_wire(Wire value, E last, const field_name& field) {
  auto raw = static_cast<uint16_t>(value);
  ELSA_REQUIRE(raw <= static_cast<uint16_t>(last), violation::unknown_enum,
          field.str() + ": unknown enum value " + std::to_string(raw) + " (this build knows 0.."
            + std::to_string(static_cast<unsigned>(last)) + ")");
  return static_cast<E>(raw);
}

template <class Wire, class E>
Wire enum_to_wire(E value) {
  return static_cast<Wire>(static_cast<uint16_t>(value));
}

template <class E>
void require_known(E value, E last, const field_name& field) {
  ELSA_REQUIRE(static_cast<unsigned>(value) <= static_cast<unsigned>(last), violation::unknown_enum,
          field.str() + ": unknown enum value " + std::to_string(static_cast<unsigned>(value)));
}

// -- validation of plain structs (shared by encode and decode) -----------------------

class validator {
public:
  explicit validator(const codec_limits& limits) : limits_(limits) {
    // nop
  }

  void sender(const participant& who) const {
    participant_of(who, "envelope.sender");
  }

  void participant_of(const participant& who, const field_name& field) const {
    require_known(who.role, tier::cloud, field.dot(".tier"));
    switch (who.role) {
      case tier::client:
        client_id(who.id, field.dot(".id"));
        break;
      case tier::edge:
        edge_id(who.id, field.dot(".id"));
        break;
      case tier::coordinator:
      case tier::cloud:
        ELSA_REQUIRE(who.id == 0, violation::id_out_of_range,
                field.str() + ".id: " + std::string{to_string(who.role)} + " id " + std::to_string(who.id)
                  + " is not 0 (there is one " + to_string(who.role) + ")");
        break;
    }
  }

  void client_id(uint32_t id, const field_name& field) const {
    ELSA_REQUIRE(id < limits_.max_clients, violation::id_out_of_range,
            field.str() + ": client id " + std::to_string(id) + " is out of range (clients are 0.."
              + std::to_string(limits_.max_clients) + "-1)");
  }

  void edge_id(uint32_t id, const field_name& field) const {
    ELSA_REQUIRE(id < limits_.max_edges, violation::id_out_of_range,
            field.str() + ": edge id " + std::to_string(id) + " is out of range (edges are 0.."
              + std::to_string(limits_.max_edges) + "-1)");
  }

  void cluster_id(uint32_t id, const field_name& field) const {
    ELSA_REQUIRE(id < limits_.max_clusters, violation::id_out_of_range,
            field.str() + ": cluster id " + std::to_string(id) + " is out of range (clusters are 0.."
              + std::to_string(limits_.max_clusters) + "-1)");
  }

  void task_index(uint32_t id, const field_name& field) const {
    ELSA_REQUIRE(id < limits_.max_tasks, violation::id_out_of_range,
            field.str() + ": task " + std::to_string(id) + " is out of range (tasks are 0.."
              + std::to_string(limits_.max_tasks) + "-1)");
  }

  void list_size(std::size_t n, uint64_t limit, const field_name& field) const {
    ELSA_REQUIRE(n <= limit, violation::list_limit,
            field.str() + ": " + std::to_string(n) + " entries, more than the limit of " + std::to_string(limit));
  }

  void text(const std::string& value, const field_name& field, bool may_be_empty) const {
    ELSA_REQUIRE(value.size() <= limits_.max_text_bytes, violation::text_limit,
            field.str() + ": " + std::to_string(value.size()) + " bytes, more than the limit of "
              + std::to_string(limits_.max_text_bytes));
    ELSA_REQUIRE(may_be_empty || !value.empty(), violation::text_limit, field.str() + ": must not be empty");
    // Cap'n Proto texts are NUL-terminated: a NUL inside one would be cut on one side and kept on the other
    // (two names "w\0a" and "w\0b" would encode and then fail to decode as a duplicate "w").
    const auto nul = value.find('\0');
    ELSA_REQUIRE(nul == std::string::npos, violation::text_limit,
            field.str() + ": holds a NUL byte at offset " + std::to_string(nul) + "; texts and names may not");
  }

  /// Rank and element count of a shape; returns the element count.
  uint64_t shape(const std::vector<int64_t>& dims, const field_name& field) const {
    ELSA_REQUIRE(dims.size() <= limits_.max_rank, violation::rank_limit,
            field.str() + ": rank " + std::to_string(dims.size()) + " exceeds the limit of "
              + std::to_string(limits_.max_rank));
    uint64_t total = 1;
    for (auto dim : dims) {
      ELSA_REQUIRE(dim >= 0, violation::value_out_of_range,
              field.str() + ": negative dimension in shape " + shape_string(dims));
      auto udim = static_cast<uint64_t>(dim);
      // Checked before multiplying, so the product cannot overflow.
      ELSA_REQUIRE(udim == 0 || total <= limits_.max_tensor_elements / udim, violation::element_limit,
              field.str() + ": shape " + shape_string(dims) + " has more than "
                + std::to_string(limits_.max_tensor_elements) + " elements (max_tensor_elements)");
      total *= udim;
    }
    ELSA_REQUIRE(total <= limits_.max_tensor_elements, violation::element_limit,
            field.str() + ": shape " + shape_string(dims) + " has more than "
              + std::to_string(limits_.max_tensor_elements) + " elements (max_tensor_elements)");
    return total;
  }

  void tensor(const tensor_bytes& t, const field_name& field) const {
    require_known(t.type(), dtype::bf16, field.dot(".dtype"));
    uint64_t elements = shape(t.shape(), field.dot(".shape"));
    uint64_t expected = elements * dtype_size(t.type());
    ELSA_REQUIRE(expected <= max_data_bytes, violation::too_large,
            field.str() + ": " + std::to_string(expected) + " bytes of data exceed the " + std::to_string(max_data_bytes)
              + "-byte limit of one Cap'n Proto Data field; split the tensor");
    ELSA_REQUIRE(t.size_bytes() == expected, violation::byte_length,
            field.str() + ": " + std::to_string(t.size_bytes()) + " data bytes, but shape " + shape_string(t.shape())
              + " of " + to_string(t.type()) + " needs exactly " + std::to_string(expected));
    ELSA_REQUIRE(t.size_bytes() == 0 || t.data() != nullptr, violation::inconsistent, field.str() + ": null data");
  }

  /// A list with at most one entry per client: bounded, every client id in range and named once; `rest` checks
  /// the other members of entry i, given the entry and its field name.
  template <class Entry, class CheckRest>
  void per_client(const std::vector<Entry>& xs, const field_name& field, CheckRest rest) const {
    list_size(xs.size(), limits_.max_list, field);
    std::vector<uint32_t> clients;
    clients.reserve(xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) {
      auto at = field.at(i);
      client_id(xs[i].client_id, at.dot(".client_id"));
      rest(xs[i], at);
      clients.push_back(xs[i].client_id);
    }
    unique_clients(std::move(clients), field);
  }

  void assignments(const std::vector<assignment>& xs, const field_name& field) const {
    per_client(xs, field, [this](const assignment& a, const field_name& at) {
      edge_id(a.edge_id, at.dot(".edge_id"));
      cluster_id(a.cluster_id, at.dot(".cluster_id"));
    });
  }

  void unique_clients(std::vector<uint32_t> clients, const field_name& field) const {
    std::sort(clients.begin(), clients.end());
    auto dup = std::adjacent_find(clients.begin(), clients.end());
    ELSA_REQUIRE(dup == clients.end(), violation::inconsistent,
            field.str() + ": client " + (dup == clients.end() ? std::string{} : std::to_string(*dup))
              + " appears more than once");
  }

  void unique_names(std::vector<std::string> names, const field_name& field) const {
    std::sort(names.begin(), names.end());
    auto dup = std::adjacent_find(names.begin(), names.end());
    ELSA_REQUIRE(dup == names.end(), violation::inconsistent,
            field.str() + ": tensor name \"" + (dup == names.end() ? std::string{} : *dup) + "\" appears more than once");
  }

  // -- one overload per message ---------------------------------------------------

  void operator()(const open_round& m) const {
    ELSA_REQUIRE(m.local_steps >= 1, violation::value_out_of_range,
            "open_round.local_steps: must be at least 1 (kappa1), got 0");
    assignments(m.assignments, "open_round.assignments");
    list_size(m.splits.size(), limits_.max_list, "open_round.splits");
    std::vector<uint32_t> clients;
    for (std::size_t i = 0; i < m.splits.size(); ++i) {
      const auto& s = m.splits[i];
      field_name at{"open_round.splits", i};
      client_id(s.client_id, at.dot(".client_id"));
      ELSA_REQUIRE(s.head_blocks >= 1, violation::value_out_of_range,
              at.str() + ".head_blocks: must be at least 1 so raw embeddings never leave the client, got 0");
      ELSA_REQUIRE(uint64_t{s.head_blocks} + s.tail_blocks <= limits_.max_blocks, violation::value_out_of_range,
              at.str() + ": head_blocks + tail_blocks = " + std::to_string(uint64_t{s.head_blocks} + s.tail_blocks)
                + " exceeds max_blocks " + std::to_string(limits_.max_blocks));
      clients.push_back(s.client_id);
    }
    unique_clients(std::move(clients), "open_round.splits");
    list_size(m.sampled.size(), limits_.max_list, "open_round.sampled");
    for (std::size_t i = 0; i < m.sampled.size(); ++i)
      client_id(m.sampled[i], field_name{"open_round.sampled", i});
    ELSA_REQUIRE(m.sampling || m.sampled.empty(), violation::inconsistent,
            "open_round.sampled: lists clients but sampling is false");
    unique_clients(m.sampled, "open_round.sampled");
  }

  void operator()(const close_round& m) const {
    require_known(m.reason, close_reason::aborted, "close_round.reason");
    ELSA_REQUIRE(m.reported <= m.expected, violation::inconsistent,
            "close_round: reported " + std::to_string(m.reported) + " exceeds expected "
              + std::to_string(m.expected));
  }

  void operator()(const round_ack& m) const {
    require_known(m.of, ack_of::close, "round_ack.of");
    text(m.detail, "round_ack.detail", true);
  }

  void operator()(const split_tensor& m) const {
    client_id(m.client_id, "split_tensor.client_id");
    require_known(m.from, segment::tail, "split_tensor.segment");
    require_known(m.role, tensor_role::gradient, "split_tensor.role");
    bool valid_pair = (m.role == tensor_role::activation && m.from != segment::tail)
                      || (m.role == tensor_role::gradient && m.from != segment::head);
    ELSA_REQUIRE(valid_pair, violation::inconsistent,
            std::string{"split_tensor: a "} + (m.from == segment::head ? "head" : "tail")
              + (m.role == tensor_role::activation ? " activation" : " gradient")
              + " never crosses a split point (valid: head/body activations, tail/body gradients)");
    tensor(m.tensor, "split_tensor.tensor");
    list_size(m.seq_lengths.size(), limits_.max_list, "split_tensor.seq_lengths");
    list_size(m.labels.size(), limits_.max_list, "split_tensor.labels");
    const auto& shape = m.tensor.shape();
    if (!m.seq_lengths.empty() || !m.labels.empty())
      ELSA_REQUIRE(!shape.empty(), violation::inconsistent,
              "split_tensor: seq_lengths/labels need a tensor with a batch dimension");
    if (!m.seq_lengths.empty()) {
      ELSA_REQUIRE(static_cast<int64_t>(m.seq_lengths.size()) == shape[0], violation::inconsistent,
              "split_tensor.seq_lengths: " + std::to_string(m.seq_lengths.size())
                + " entries for a batch of " + std::to_string(shape[0]));
      if (shape.size() >= 2) {
        auto longest = *std::max_element(m.seq_lengths.begin(), m.seq_lengths.end());
        ELSA_REQUIRE(longest <= shape[1], violation::inconsistent,
                "split_tensor.seq_lengths: length " + std::to_string(longest) + " exceeds the sequence dimension "
                  + std::to_string(shape[1]));
      }
    }
    ELSA_REQUIRE(std::isfinite(m.loss) && m.loss >= 0, violation::value_out_of_range,
            "split_tensor.loss: " + std::to_string(m.loss) + " is not a finite loss >= 0");
    ELSA_REQUIRE(m.loss == 0 || (m.from == segment::body && m.role == tensor_role::gradient), violation::inconsistent,
            "split_tensor.loss: only the edge's gradient reply of a two-part split carries a loss");
    if (!m.labels.empty()) {
      ELSA_REQUIRE(m.from == segment::head && m.role == tensor_role::activation, violation::inconsistent,
              "split_tensor.labels: only head activations of a two-part split carry labels");
      ELSA_REQUIRE(static_cast<int64_t>(m.labels.size()) == shape[0], violation::inconsistent,
              "split_tensor.labels: " + std::to_string(m.labels.size()) + " entries for a batch of "
                + std::to_string(shape[0]));
    }
  }

  void spec(const tensor_spec& s, const field_name& field) const {
    text(s.name, field.dot(".name"), false);
    require_known(s.type, dtype::bf16, field.dot(".dtype"));
    shape(s.shape, field.dot(".shape"));
  }

  void operator()(const adapter_update& m) const {
    cluster_id(m.cluster_id, "adapter_update.cluster_id");
    ELSA_REQUIRE(m.base_round <= m.round, violation::inconsistent,
            "adapter_update: base_round " + std::to_string(m.base_round) + " is after round "
              + std::to_string(m.round));
    ELSA_REQUIRE(std::isfinite(m.sim_seconds) && m.sim_seconds >= 0.0, violation::value_out_of_range,
            "adapter_update.sim_seconds: " + std::to_string(m.sim_seconds) + " is not a finite number >= 0");
    if (auto dense = std::get_if<std::vector<named_tensor>>(&m.form)) {
      list_size(dense->size(), limits_.max_tensors, "adapter_update.dense");
      std::vector<std::string> names;
      names.reserve(dense->size());
      for (std::size_t i = 0; i < dense->size(); ++i) {
        field_name at{"adapter_update.dense", i};
        text((*dense)[i].name, at.dot(".name"), false);
        tensor((*dense)[i].tensor, at.dot(".tensor"));
        names.push_back((*dense)[i].name);
      }
      unique_names(std::move(names), "adapter_update.dense");
      return;
    }
    const auto& sk = std::get<count_sketch>(m.form);
    ELSA_REQUIRE(sk.rows >= 1 && sk.cols >= 1, violation::value_out_of_range,
            "adapter_update.sketch: rows and cols must be at least 1, got " + std::to_string(sk.rows) + " x "
              + std::to_string(sk.cols));
    ELSA_REQUIRE(sk.table.type() == dtype::f32, violation::inconsistent,
            std::string{"adapter_update.sketch.table: dtype must be f32, got "} + to_string(sk.table.type()));
    std::vector<int64_t> expected_shape{sk.rows, sk.cols};
    ELSA_REQUIRE(sk.table.shape() == expected_shape, violation::inconsistent,
            "adapter_update.sketch.table: shape " + shape_string(sk.table.shape()) + " is not rows x cols "
              + shape_string(expected_shape));
    tensor(sk.table, "adapter_update.sketch.table");
    ELSA_REQUIRE(!sk.layout.empty(), violation::inconsistent, "adapter_update.sketch.layout: must not be empty");
    list_size(sk.layout.size(), limits_.max_tensors, "adapter_update.sketch.layout");
    std::vector<std::string> names;
    names.reserve(sk.layout.size());
    for (std::size_t i = 0; i < sk.layout.size(); ++i) {
      spec(sk.layout[i], field_name{"adapter_update.sketch.layout", i});
      names.push_back(sk.layout[i].name);
    }
    list_size(sk.exact.size(), limits_.max_tensors, "adapter_update.sketch.exact");
    for (std::size_t i = 0; i < sk.exact.size(); ++i) {
      field_name at{"adapter_update.sketch.exact", i};
      text(sk.exact[i].name, at.dot(".name"), false);
      tensor(sk.exact[i].tensor, at.dot(".tensor"));
      names.push_back(sk.exact[i].name);
    }
    unique_names(std::move(names), "adapter_update.sketch.layout and exact");
  }

  void operator()(const fingerprint& m) const {
    client_id(m.client_id, "fingerprint.client_id");
    ELSA_REQUIRE(m.probe_count >= 1, violation::value_out_of_range, "fingerprint.probe_count: must be at least 1");
    if (auto g = std::get_if<gaussian_fingerprint>(&m.form)) {
      tensor(g->mean, "fingerprint.gaussian.mean");
      tensor(g->variance, "fingerprint.gaussian.variance");
      ELSA_REQUIRE(g->mean.shape().size() == 1 && g->mean.shape()[0] >= 1, violation::inconsistent,
              "fingerprint.gaussian.mean: shape " + shape_string(g->mean.shape()) + " is not (d) with d >= 1");
      ELSA_REQUIRE(g->variance.shape() == g->mean.shape() && g->variance.type() == g->mean.type(),
              violation::inconsistent,
              "fingerprint.gaussian.variance: shape " + shape_string(g->variance.shape()) + " "
                + to_string(g->variance.type()) + " differs from mean " + shape_string(g->mean.shape()) + " "
                + to_string(g->mean.type()));
      return;
    }
    const auto& p = std::get<predictive_fingerprint>(m.form);
    tensor(p.probs, "fingerprint.predictive");
    ELSA_REQUIRE(p.probs.shape().size() == 2 && p.probs.shape()[0] == int64_t{m.probe_count} && p.probs.shape()[1] >= 1,
            violation::inconsistent,
            "fingerprint.predictive: shape " + shape_string(p.probs.shape()) + " is not (probe_count="
              + std::to_string(m.probe_count) + ", classes >= 1)");
  }

  void operator()(const trust_update& m) const {
    per_client(m.scores, "trust_update.scores", [](const trust_score& t, const field_name& at) {
      ELSA_REQUIRE(std::isfinite(t.score) && t.score >= 0.0 && t.score <= 1.0, violation::value_out_of_range,
              at.str() + ".score: " + std::to_string(t.score) + " is not in [0, 1]");
    });
  }

  void operator()(const assignment_update& m) const {
    require_known(m.reason, assignment_reason::latency, "assignment_update.reason");
    assignments(m.assignments, "assignment_update.assignments");
  }

  void operator()(const heartbeat& m) const {
    ELSA_REQUIRE(m.sent_ns >= 0 && m.echo_ns >= 0, violation::value_out_of_range,
            "heartbeat: sent_ns and echo_ns are steady-clock readings and cannot be negative");
    ELSA_REQUIRE(m.is_reply || m.echo_ns == 0, violation::inconsistent,
            "heartbeat.echo_ns: a ping (is_reply false) must carry 0");
    per_client(m.links, "heartbeat.links", [](const link_rtt& l, const field_name& at) {
      ELSA_REQUIRE(std::isfinite(l.rtt_ms) && l.rtt_ms >= 0.0, violation::value_out_of_range,
              at.str() + ".rtt_ms: " + std::to_string(l.rtt_ms) + " is not a finite number >= 0");
    });
  }

  void operator()(const error_report& m) const {
    require_known(m.code, report_code::internal, "error_report.code");
    text(m.text, "error_report.text", true);
  }

  void operator()(const registration& m) const {
    task_index(m.cluster_id, "registration.cluster_id");
  }

  void operator()(const peer_table& m) const {
    list_size(m.peers.size(), limits_.max_list, "peer_table.peers");
    std::vector<std::pair<unsigned, uint32_t>> seen;
    seen.reserve(m.peers.size());
    for (std::size_t i = 0; i < m.peers.size(); ++i) {
      field_name at{"peer_table.peers", i};
      participant_of(m.peers[i].who, at.dot(".participant"));
      task_index(m.peers[i].cluster_id, at.dot(".cluster_id"));
      seen.emplace_back(static_cast<unsigned>(m.peers[i].who.role), m.peers[i].who.id);
    }
    std::sort(seen.begin(), seen.end());
    auto dup = std::adjacent_find(seen.begin(), seen.end());
    ELSA_REQUIRE(dup == seen.end(), violation::inconsistent,
            "peer_table.peers: " + (dup == seen.end() ? std::string{}
                                     : std::string{to_string(static_cast<tier>(dup->first))} + " "
                                         + std::to_string(dup->second))
              + " appears more than once");
  }

  // -- who may send what ---------------------------------------------------------------
  // Catches misrouted messages: a client speaking for another client, an edge sending head tensors.

  void sender_may_send(const participant& who, const open_round&) const {
    not_from_client(who, "open_round");
  }

  void sender_may_send(const participant& who, const close_round&) const {
    not_from_client(who, "close_round");
  }

  void sender_may_send(const participant&, const round_ack&) const {
    // Everyone acknowledges.
  }

  void sender_may_send(const participant& who, const split_tensor& m) const {
    if (m.from == segment::body) {
      ELSA_REQUIRE(who.role == tier::edge, violation::inconsistent,
              std::string{"split_tensor: body tensors come from an edge, not from a "} + to_string(who.role));
      return;
    }
    ELSA_REQUIRE(who.role == tier::client && who.id == m.client_id, violation::inconsistent,
            "split_tensor: head/tail tensors of client " + std::to_string(m.client_id)
              + " must come from that client, not from " + to_string(who.role) + " " + std::to_string(who.id));
  }

  void sender_may_send(const participant& who, const adapter_update& m) const {
    ELSA_REQUIRE(who.role != tier::coordinator, violation::inconsistent,
            "adapter_update: the coordinator does not send adapters");
    ELSA_REQUIRE(who.role == tier::client || m.sim_seconds == 0.0, violation::inconsistent,
            std::string{"adapter_update.sim_seconds: only a client's upload carries simulated seconds, not a "}
              + to_string(who.role) + "'s");
  }

  void sender_may_send(const participant& who, const fingerprint& m) const {
    ELSA_REQUIRE(who.role == tier::client && who.id == m.client_id, violation::inconsistent,
            "fingerprint: client " + std::to_string(m.client_id) + "'s fingerprint must come from that client, not from "
              + to_string(who.role) + " " + std::to_string(who.id));
  }

  void sender_may_send(const participant& who, const trust_update&) const {
    from_control_plane(who, "trust_update");
  }

  void sender_may_send(const participant& who, const assignment_update&) const {
    from_control_plane(who, "assignment_update");
  }

  void sender_may_send(const participant& who, const heartbeat& m) const {
    // Everyone pings and answers; only an edge measures client links.
    ELSA_REQUIRE(m.links.empty() || who.role == tier::edge, violation::inconsistent,
            "heartbeat.links: only an edge reports client links");
  }

  void sender_may_send(const participant&, const error_report&) const {
    // Everyone may complain.
  }

  void sender_may_send(const participant& who, const registration&) const {
    ELSA_REQUIRE(who.role != tier::cloud, violation::inconsistent,
            "registration: the cloud registers with no one (everyone registers with it or the coordinator)");
  }

  void sender_may_send(const participant& who, const peer_table&) const {
    ELSA_REQUIRE(who.role == tier::coordinator, violation::inconsistent,
            std::string{"peer_table: only the coordinator hands out peers, not a "} + to_string(who.role));
  }

private:
  static void not_from_client(const participant& who, const char* what) {
    ELSA_REQUIRE(who.role != tier::client, violation::inconsistent,
            std::string{what} + ": clients do not control rounds");
  }

  static void from_control_plane(const participant& who, const char* what) {
    ELSA_REQUIRE(who.role == tier::coordinator || who.role == tier::cloud, violation::inconsistent,
            std::string{what} + ": only the coordinator or the cloud sends this, not a " + to_string(who.role));
  }

  const codec_limits& limits_;
};

// -- writing ---------------------------------------------------------------------------

/// Tensor bytes a message refers to instead of containing. Cap'n Proto keeps each as a segment of its own
/// (Orphanage::referenceExternalData); flatten() copies it from the sender's memory straight into the
/// payload, which is the one copy those bytes get.
struct external_bytes {
  const std::byte* data;
  std::size_t size;
};

/// Most tensors referenced as external segments in one message. Readers distrust messages with very many
/// segments, so tensors beyond this are copied inline instead (and counted as extra copies).
constexpr std::size_t max_external_segments = 128;

constexpr std::size_t words_for(std::size_t bytes) {
  return (bytes + 7) / 8;
}

// Size hints for the builder's first segment: an upper bound on the metadata words (struct sections,
// pointers, list tags). Tensor data lives in external segments and does not count; an inlined tensor or
// a low hint only makes Cap'n Proto allocate another segment, which flatten() handles like any other.
std::size_t hint(const tensor_bytes& t) {
  return 8 + t.shape().size();
}

std::size_t hint(const std::string& s) {
  return 2 + words_for(s.size() + 1);
}

std::size_t hint(const open_round& m) {
  return 16 + 4 * (m.assignments.size() + m.splits.size()) + m.sampled.size() / 2;
}

std::size_t hint(const close_round&) {
  return 8;
}

std::size_t hint(const round_ack& m) {
  return 8 + hint(m.detail);
}

std::size_t hint(const split_tensor& m) {
  return 16 + hint(m.tensor) + words_for(4 * m.seq_lengths.size()) + words_for(4 * m.labels.size());
}

std::size_t hint(const tensor_spec& s) {
  return 8 + hint(s.name) + s.shape.size();
}

std::size_t hint(const adapter_update& m) {
  std::size_t total = 16;
  if (auto dense = std::get_if<std::vector<named_tensor>>(&m.form)) {
    for (const auto& nt : *dense)
      total += 4 + hint(nt.name) + hint(nt.tensor);
  } else {
    const auto& sk = std::get<count_sketch>(m.form);
    total += 8 + hint(sk.table);
    for (const auto& s : sk.layout)
      total += hint(s);
    for (const auto& nt : sk.exact)
      total += 4 + hint(nt.name) + hint(nt.tensor);
  }
  return total;
}

std::size_t hint(const fingerprint& m) {
  if (auto g = std::get_if<gaussian_fingerprint>(&m.form))
    return 16 + hint(g->mean) + hint(g->variance);
  return 16 + hint(std::get<predictive_fingerprint>(m.form).probs);
}

std::size_t hint(const trust_update& m) {
  return 8 + 4 * m.scores.size();
}

std::size_t hint(const assignment_update& m) {
  return 8 + 4 * m.assignments.size();
}

std::size_t hint(const heartbeat& m) {
  return 8 + 2 * m.links.size();
}

std::size_t hint(const error_report& m) {
  return 8 + hint(m.text);
}

std::size_t hint(const registration&) {
  return 8;
}

std::size_t hint(const peer_table& m) {
  return 8 + 6 * m.peers.size();
}

class writer {
public:
  writer(capnp::Orphanage orphanage, std::vector<external_bytes>& externals, uint64_t& inline_bytes)
    : orphanage_(orphanage), externals_(externals), inline_bytes_(inline_bytes) {
    // nop
  }

  template <class ShapeBuilder>
  static void shape(ShapeBuilder builder, const std::vector<int64_t>& dims) {
    for (unsigned i = 0; i < dims.size(); ++i)
      builder.set(i, static_cast<uint64_t>(dims[i]));
  }

  void tensor(w::Tensor::Builder b, const tensor_bytes& t) {
    b.setDtype(enum_to_wire<w::DType>(t.type()));
    shape(b.initShape(static_cast<unsigned>(t.shape().size())), t.shape());
    if (t.size_bytes() == 0)
      return;
    bool word_aligned = reinterpret_cast<std::uintptr_t>(t.data()) % sizeof(capnp::word) == 0;
    if (word_aligned && externals_.size() < max_external_segments) {
      auto bytes = capnp::Data::Reader{reinterpret_cast<const kj::byte*>(t.data()), t.size_bytes()};
      b.adoptData(orphanage_.referenceExternalData(bytes));
      externals_.push_back(external_bytes{t.data(), t.size_bytes()});
      return;
    }
    // Unaligned source (Cap'n Proto cannot reference it) or too many tensors: copy into the message now;
    // flatten() copies these bytes a second time.
    auto data = b.initData(static_cast<unsigned>(t.size_bytes()));
    std::memcpy(data.begin(), t.data(), t.size_bytes());
    inline_bytes_ += t.size_bytes();
  }

  static void assignments(capnp::List<w::Assignment>::Builder out, const std::vector<assignment>& xs) {
    for (unsigned i = 0; i < xs.size(); ++i) {
      out[i].setClientId(xs[i].client_id);
      out[i].setEdgeId(xs[i].edge_id);
      out[i].setClusterId(xs[i].cluster_id);
    }
  }

  template <class ListBuilder>
  static void u32_list(ListBuilder out, const std::vector<uint32_t>& xs) {
    for (unsigned i = 0; i < xs.size(); ++i)
      out.set(i, xs[i]);
  }

  void operator()(body_builder body, const open_round& m) {
    auto b = body.initOpenRound();
    b.setRound(m.round);
    b.setLocalSteps(m.local_steps);
    b.setDeadlineMs(m.deadline_ms);
    b.setCloudRound(m.cloud_round);
    b.setFingerprint(m.fingerprint);
    assignments(b.initAssignments(static_cast<unsigned>(m.assignments.size())), m.assignments);
    auto splits = b.initSplits(static_cast<unsigned>(m.splits.size()));
    for (unsigned i = 0; i < m.splits.size(); ++i) {
      splits[i].setClientId(m.splits[i].client_id);
      splits[i].setHeadBlocks(m.splits[i].head_blocks);
      splits[i].setTailBlocks(m.splits[i].tail_blocks);
    }
    b.setSampling(m.sampling);
    auto sampled = b.initSampled(static_cast<unsigned>(m.sampled.size()));
    for (unsigned i = 0; i < m.sampled.size(); ++i)
      sampled.set(i, m.sampled[i]);
  }

  void operator()(body_builder body, const close_round& m) {
    auto b = body.initCloseRound();
    b.setRound(m.round);
    b.setReason(enum_to_wire<w::CloseReason>(m.reason));
    b.setReported(m.reported);
    b.setExpected(m.expected);
  }

  void operator()(body_builder body, const round_ack& m) {
    auto b = body.initRoundAck();
    b.setRound(m.round);
    b.setOf(enum_to_wire<w::AckOf>(m.of));
    b.setAccepted(m.accepted);
    b.setDetail(m.detail);
  }

  void operator()(body_builder body, const split_tensor& m) {
    auto b = body.initSplitTensor();
    b.setRound(m.round);
    b.setStep(m.step);
    b.setClientId(m.client_id);
    b.setSegment(enum_to_wire<w::Segment>(m.from));
    b.setRole(enum_to_wire<w::Role>(m.role));
    tensor(b.initTensor(), m.tensor);
    u32_list(b.initSeqLengths(static_cast<unsigned>(m.seq_lengths.size())), m.seq_lengths);
    u32_list(b.initLabels(static_cast<unsigned>(m.labels.size())), m.labels);
    b.setProbe(m.probe);
    b.setLoss(m.loss);
  }

  void operator()(body_builder body, const adapter_update& m) {
    auto b = body.initAdapterUpdate();
    b.setRound(m.round);
    b.setBaseRound(m.base_round);
    b.setSampleCount(m.sample_count);
    b.setClusterId(m.cluster_id);
    b.setSimSeconds(m.sim_seconds);
    auto form = b.getForm();
    if (auto dense = std::get_if<std::vector<named_tensor>>(&m.form)) {
      auto list = form.initDense(static_cast<unsigned>(dense->size()));
      for (unsigned i = 0; i < dense->size(); ++i) {
        list[i].setName((*dense)[i].name);
        tensor(list[i].initTensor(), (*dense)[i].tensor);
      }
      return;
    }
    const auto& sk = std::get<count_sketch>(m.form);
    auto s = form.initSketch();
    s.setRows(sk.rows);
    s.setCols(sk.cols);
    s.setSeed(sk.seed);
    auto layout = s.initLayout(static_cast<unsigned>(sk.layout.size()));
    for (unsigned i = 0; i < sk.layout.size(); ++i) {
      layout[i].setName(sk.layout[i].name);
      layout[i].setDtype(enum_to_wire<w::DType>(sk.layout[i].type));
      shape(layout[i].initShape(static_cast<unsigned>(sk.layout[i].shape.size())), sk.layout[i].shape);
    }
    tensor(s.initTable(), sk.table);
    auto exact = s.initExact(static_cast<unsigned>(sk.exact.size()));
    for (unsigned i = 0; i < sk.exact.size(); ++i) {
      exact[i].setName(sk.exact[i].name);
      tensor(exact[i].initTensor(), sk.exact[i].tensor);
    }
  }

  void operator()(body_builder body, const fingerprint& m) {
    auto b = body.initFingerprint();
    b.setRound(m.round);
    b.setClientId(m.client_id);
    b.setProbeCount(m.probe_count);
    auto form = b.getForm();
    if (auto g = std::get_if<gaussian_fingerprint>(&m.form)) {
      auto gb = form.initGaussian();
      tensor(gb.initMean(), g->mean);
      tensor(gb.initVariance(), g->variance);
      return;
    }
    tensor(form.initPredictive(), std::get<predictive_fingerprint>(m.form).probs);
  }

  void operator()(body_builder body, const trust_update& m) {
    auto b = body.initTrustUpdate();
    b.setRound(m.round);
    auto scores = b.initScores(static_cast<unsigned>(m.scores.size()));
    for (unsigned i = 0; i < m.scores.size(); ++i) {
      scores[i].setClientId(m.scores[i].client_id);
      scores[i].setScore(m.scores[i].score);
      scores[i].setExcluded(m.scores[i].excluded);
    }
  }

  void operator()(body_builder body, const assignment_update& m) {
    auto b = body.initAssignmentUpdate();
    b.setRound(m.round);
    b.setReason(enum_to_wire<w::AssignmentReason>(m.reason));
    assignments(b.initAssignments(static_cast<unsigned>(m.assignments.size())), m.assignments);
    b.setAfterClose(m.after_close);
  }

  void operator()(body_builder body, const heartbeat& m) {
    auto b = body.initHeartbeat();
    b.setSeq(m.seq);
    b.setSentNs(m.sent_ns);
    b.setEchoNs(m.echo_ns);
    b.setIsReply(m.is_reply);
    b.setQueueLength(m.queue_length);
    auto links = b.initLinks(static_cast<unsigned>(m.links.size()));
    for (unsigned i = 0; i < m.links.size(); ++i) {
      links[i].setClientId(m.links[i].client_id);
      links[i].setRttMs(m.links[i].rtt_ms);
    }
  }

  void operator()(body_builder body, const error_report& m) {
    auto b = body.initErrorReport();
    b.setCode(enum_to_wire<w::ErrorCode>(m.code));
    b.setRound(m.round);
    b.setText(m.text);
  }

  void operator()(body_builder body, const registration& m) {
    auto b = body.initRegistration();
    b.setSamples(m.samples);
    b.setClusterId(m.cluster_id);
  }

  void operator()(body_builder body, const peer_table& m) {
    auto peers = body.initPeerTable().initPeers(static_cast<unsigned>(m.peers.size()));
    for (unsigned i = 0; i < m.peers.size(); ++i) {
      auto p = peers[i].initParticipant();
      p.setTier(enum_to_wire<w::Tier>(m.peers[i].who.role));
      p.setId(m.peers[i].who.id);
      peers[i].setSamples(m.peers[i].samples);
      peers[i].setClusterId(m.peers[i].cluster_id);
    }
  }

private:
  capnp::Orphanage orphanage_;
  std::vector<external_bytes>& externals_;
  uint64_t& inline_bytes_;
};

/// Lays the builder's segments out as one flat message (segment table, then each segment) in a fresh
/// buffer that becomes the payload. Returns the payload and adds the external tensor bytes to `copied`.
payload flatten(capnp::MessageBuilder& builder, const std::vector<external_bytes>& externals, uint64_t& copied) {
  auto segments = builder.getSegmentsForOutput();
  // Stream framing: (segment count - 1), then each segment's size in words, as uint32, padded to a word.
  std::vector<uint32_t> table(segments.size() + 1 + (segments.size() + 1) % 2, 0);
  table[0] = static_cast<uint32_t>(segments.size() - 1);
  std::size_t total = table.size() * sizeof(uint32_t);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    table[i + 1] = static_cast<uint32_t>(segments[i].size());
    total += segments[i].size() * sizeof(capnp::word);
  }
  struct free_deleter {
    void operator()(void* ptr) const noexcept {
      std::free(ptr);
    }
  };
  // Not zeroed: every byte is written below.
  std::unique_ptr<std::byte, free_deleter> mem{static_cast<std::byte*>(std::malloc(total))};
  if (!mem)
    throw std::bad_alloc{};
  std::memcpy(mem.get(), table.data(), table.size() * sizeof(uint32_t));
  std::byte* out = mem.get() + table.size() * sizeof(uint32_t);
  std::size_t next = 0;
  for (auto segment : segments) {
    auto bytes = segment.size() * sizeof(capnp::word);
    const auto* begin = reinterpret_cast<const std::byte*>(segment.begin());
    if (next < externals.size() && begin == externals[next].data && words_for(externals[next].size) == segment.size()) {
      // Exactly the tensor's bytes: reading its whole last word could run past the sender's buffer.
      std::memcpy(out, begin, externals[next].size);
      std::memset(out + externals[next].size, 0, bytes - externals[next].size);
      copied += externals[next].size;
      ++next;
    } else {
      std::memcpy(out, begin, bytes);
    }
    out += bytes;
  }
  ELSA_REQUIRE(next == externals.size(), violation::internal,
               "encode: " + std::to_string(externals.size() - next) + " tensor segments missing from the output");
  return payload::adopt_malloced(mem.release(), total);
}

// -- reading ---------------------------------------------------------------------------
// Readers check list lengths before copying anything, convert enums with range checks, and leave the
// remaining rules to the validator (the same one the encoder runs).

class reader {
public:
  reader(const codec_limits& limits, std::shared_ptr<const void> owner)
    : limits_(limits), owner_(std::move(owner)), check_(limits) {
    // nop
  }

  std::string text(capnp::Text::Reader t, const field_name& field) const {
    ELSA_REQUIRE(t.size() <= limits_.max_text_bytes, violation::text_limit,
            field.str() + ": " + std::to_string(t.size()) + " bytes, more than the limit of "
              + std::to_string(limits_.max_text_bytes));
    return std::string{t.cStr(), t.size()};
  }

  std::vector<int64_t> shape(capnp::List<uint64_t>::Reader dims, const field_name& field) const {
    ELSA_REQUIRE(dims.size() <= limits_.max_rank, violation::rank_limit,
            field.str() + ": rank " + std::to_string(dims.size()) + " exceeds the limit of "
              + std::to_string(limits_.max_rank));
    std::vector<int64_t> out;
    out.reserve(dims.size());
    for (auto dim : dims) {
      // Anything above the element limit is rejected here, before it could wrap to a negative int64.
      ELSA_REQUIRE(dim <= limits_.max_tensor_elements, violation::element_limit,
              field.str() + ": dimension " + std::to_string(dim) + " exceeds max_tensor_elements "
                + std::to_string(limits_.max_tensor_elements));
      out.push_back(static_cast<int64_t>(dim));
    }
    return out;
  }

  tensor_bytes tensor(w::Tensor::Reader r, const field_name& field) const {
    auto type = enum_from_wire(r.getDtype(), dtype::bf16, field.dot(".dtype"));
    auto dims = shape(r.getShape(), field.dot(".shape"));
    auto data = r.getData();
    // A view into the payload: the bytes are not copied, the payload's buffer is kept alive instead.
    return tensor_bytes::view_of(type, std::move(dims), data.begin(), data.size(), owner_);
  }

  participant sender(w::Participant::Reader r) const {
    participant who;
    who.role = enum_from_wire(r.getTier(), tier::cloud, "envelope.sender.tier");
    who.id = r.getId();
    return who;
  }

  std::vector<assignment> assignments(capnp::List<w::Assignment>::Reader xs, const field_name& field) const {
    check_.list_size(xs.size(), limits_.max_list, field);
    std::vector<assignment> out;
    out.reserve(xs.size());
    for (auto x : xs)
      out.push_back(assignment{x.getClientId(), x.getEdgeId(), x.getClusterId()});
    return out;
  }

  std::vector<uint32_t> u32_list(capnp::List<uint32_t>::Reader xs, const field_name& field) const {
    check_.list_size(xs.size(), limits_.max_list, field);
    std::vector<uint32_t> out;
    out.reserve(xs.size());
    for (auto x : xs)
      out.push_back(x);
    return out;
  }

  open_round read(w::OpenRound::Reader r) const {
    open_round m;
    m.round = r.getRound();
    m.local_steps = r.getLocalSteps();
    m.deadline_ms = r.getDeadlineMs();
    m.cloud_round = r.getCloudRound();
    m.fingerprint = r.getFingerprint();
    m.assignments = assignments(r.getAssignments(), "open_round.assignments");
    auto splits = r.getSplits();
    check_.list_size(splits.size(), limits_.max_list, "open_round.splits");
    m.splits.reserve(splits.size());
    for (auto s : splits)
      m.splits.push_back(split_point{s.getClientId(), s.getHeadBlocks(), s.getTailBlocks()});
    m.sampling = r.getSampling();
    auto sampled = r.getSampled();
    check_.list_size(sampled.size(), limits_.max_list, "open_round.sampled");
    m.sampled.reserve(sampled.size());
    for (auto c : sampled)
      m.sampled.push_back(c);
    return m;
  }

  close_round read(w::CloseRound::Reader r) const {
    close_round m;
    m.round = r.getRound();
    m.reason = enum_from_wire(r.getReason(), close_reason::aborted, "close_round.reason");
    m.reported = r.getReported();
    m.expected = r.getExpected();
    return m;
  }

  round_ack read(w::RoundAck::Reader r) const {
    round_ack m;
    m.round = r.getRound();
    m.of = enum_from_wire(r.getOf(), ack_of::close, "round_ack.of");
    m.accepted = r.getAccepted();
    m.detail = text(r.getDetail(), "round_ack.detail");
    return m;
  }

  split_tensor read(w::SplitTensor::Reader r) const {
    split_tensor m;
    m.round = r.getRound();
    m.step = r.getStep();
    m.client_id = r.getClientId();
    m.from = enum_from_wire(r.getSegment(), segment::tail, "split_tensor.segment");
    m.role = enum_from_wire(r.getRole(), tensor_role::gradient, "split_tensor.role");
    m.tensor = tensor(r.getTensor(), "split_tensor.tensor");
    m.seq_lengths = u32_list(r.getSeqLengths(), "split_tensor.seq_lengths");
    m.labels = u32_list(r.getLabels(), "split_tensor.labels");
    m.probe = r.getProbe();
    m.loss = r.getLoss();
    return m;
  }

  tensor_spec spec(w::TensorSpec::Reader r, const field_name& field) const {
    tensor_spec s;
    s.name = text(r.getName(), field.dot(".name"));
    s.type = enum_from_wire(r.getDtype(), dtype::bf16, field.dot(".dtype"));
    s.shape = shape(r.getShape(), field.dot(".shape"));
    return s;
  }

  adapter_update read(w::AdapterUpdate::Reader r) const {
    adapter_update m;
    m.round = r.getRound();
    m.base_round = r.getBaseRound();
    m.sample_count = r.getSampleCount();
    m.cluster_id = r.getClusterId();
    m.sim_seconds = r.getSimSeconds();
    auto form = r.getForm();
    switch (form.which()) {
      case w::AdapterUpdate::Form::DENSE: {
        auto list = form.getDense();
        check_.list_size(list.size(), limits_.max_tensors, "adapter_update.dense");
        std::vector<named_tensor> dense;
        dense.reserve(list.size());
        for (unsigned i = 0; i < list.size(); ++i) {
          field_name at{"adapter_update.dense", i};
          dense.push_back(named_tensor{text(list[i].getName(), at.dot(".name")),
                                       tensor(list[i].getTensor(), at.dot(".tensor"))});
        }
        m.form = std::move(dense);
        return m;
      }
      case w::AdapterUpdate::Form::SKETCH: {
        auto s = form.getSketch();
        count_sketch sk;
        sk.rows = s.getRows();
        sk.cols = s.getCols();
        sk.seed = s.getSeed();
        auto layout = s.getLayout();
        check_.list_size(layout.size(), limits_.max_tensors, "adapter_update.sketch.layout");
        sk.layout.reserve(layout.size());
        for (unsigned i = 0; i < layout.size(); ++i)
          sk.layout.push_back(spec(layout[i], field_name{"adapter_update.sketch.layout", i}));
        sk.table = tensor(s.getTable(), "adapter_update.sketch.table");
        auto exact = s.getExact();
        check_.list_size(exact.size(), limits_.max_tensors, "adapter_update.sketch.exact");
        for (unsigned i = 0; i < exact.size(); ++i) {
          field_name at{"adapter_update.sketch.exact", i};
          sk.exact.push_back(named_tensor{text(exact[i].getName(), at.dot(".name")),
                                          tensor(exact[i].getTensor(), at.dot(".tensor"))});
        }
        m.form = std::move(sk);
        return m;
      }
    }
    fail(violation::unknown_enum,
         "adapter_update.form: unknown union member " + std::to_string(static_cast<unsigned>(form.which())));
  }

  fingerprint read(w::Fingerprint::Reader r) const {
    fingerprint m;
    m.round = r.getRound();
    m.client_id = r.getClientId();
    m.probe_count = r.getProbeCount();
    auto form = r.getForm();
    switch (form.which()) {
      case w::Fingerprint::Form::GAUSSIAN: {
        auto g = form.getGaussian();
        m.form = gaussian_fingerprint{tensor(g.getMean(), "fingerprint.gaussian.mean"),
                                      tensor(g.getVariance(), "fingerprint.gaussian.variance")};
        return m;
      }
      case w::Fingerprint::Form::PREDICTIVE:
        m.form = predictive_fingerprint{tensor(form.getPredictive(), "fingerprint.predictive")};
        return m;
    }
    fail(violation::unknown_enum,
         "fingerprint.form: unknown union member " + std::to_string(static_cast<unsigned>(form.which())));
  }

  trust_update read(w::TrustUpdate::Reader r) const {
    trust_update m;
    m.round = r.getRound();
    auto scores = r.getScores();
    check_.list_size(scores.size(), limits_.max_list, "trust_update.scores");
    m.scores.reserve(scores.size());
    for (auto s : scores)
      m.scores.push_back(trust_score{s.getClientId(), s.getScore(), s.getExcluded()});
    return m;
  }

  assignment_update read(w::AssignmentUpdate::Reader r) const {
    assignment_update m;
    m.round = r.getRound();
    m.reason = enum_from_wire(r.getReason(), assignment_reason::latency, "assignment_update.reason");
    m.assignments = assignments(r.getAssignments(), "assignment_update.assignments");
    m.after_close = r.getAfterClose();
    return m;
  }

  heartbeat read(w::Heartbeat::Reader r) const {
    heartbeat m;
    m.seq = r.getSeq();
    m.sent_ns = r.getSentNs();
    m.echo_ns = r.getEchoNs();
    m.is_reply = r.getIsReply();
    m.queue_length = r.getQueueLength();
    auto links = r.getLinks();
    check_.list_size(links.size(), limits_.max_list, "heartbeat.links");
    m.links.reserve(links.size());
    for (auto l : links)
      m.links.push_back(link_rtt{l.getClientId(), l.getRttMs()});
    return m;
  }

  error_report read(w::ErrorReport::Reader r) const {
    error_report m;
    m.code = enum_from_wire(r.getCode(), report_code::internal, "error_report.code");
    m.round = r.getRound();
    m.text = text(r.getText(), "error_report.text");
    return m;
  }

  registration read(w::Registration::Reader r) const {
    return registration{r.getSamples(), r.getClusterId()};
  }

  peer_table read(w::PeerTable::Reader r) const {
    peer_table m;
    auto peers = r.getPeers();
    check_.list_size(peers.size(), limits_.max_list, "peer_table.peers");
    m.peers.reserve(peers.size());
    for (auto p : peers) {
      participant who;
      who.role = enum_from_wire(p.getParticipant().getTier(), tier::cloud, "peer_table.peers.participant.tier");
      who.id = p.getParticipant().getId();
      m.peers.push_back(peer_entry{who, p.getSamples(), p.getClusterId()});
    }
    return m;
  }

  /// Reads the body that `body.which()` says is there, as message kind `kind`.
  template <class T>
  T read_body(body_reader body) const;

private:
  const codec_limits& limits_;
  std::shared_ptr<const void> owner_;
  validator check_;
};

// -- kinds -----------------------------------------------------------------------------

template <class T>
struct wire_of;

#define ELSA_WIRE_OF(type, which_tag, getter)                                                                 \
  template <>                                                                                                  \
  struct wire_of<type> {                                                                                       \
    static constexpr auto which = w::Envelope::Body::which_tag;                                                \
    static auto get(body_reader body) {                                                                        \
      return body.getter();                                                                                    \
    }                                                                                                          \
  };

ELSA_WIRE_OF(open_round, OPEN_ROUND, getOpenRound)
ELSA_WIRE_OF(close_round, CLOSE_ROUND, getCloseRound)
ELSA_WIRE_OF(round_ack, ROUND_ACK, getRoundAck)
ELSA_WIRE_OF(split_tensor, SPLIT_TENSOR, getSplitTensor)
ELSA_WIRE_OF(adapter_update, ADAPTER_UPDATE, getAdapterUpdate)
ELSA_WIRE_OF(fingerprint, FINGERPRINT, getFingerprint)
ELSA_WIRE_OF(trust_update, TRUST_UPDATE, getTrustUpdate)
ELSA_WIRE_OF(assignment_update, ASSIGNMENT_UPDATE, getAssignmentUpdate)
ELSA_WIRE_OF(heartbeat, HEARTBEAT, getHeartbeat)
ELSA_WIRE_OF(error_report, ERROR_REPORT, getErrorReport)
ELSA_WIRE_OF(registration, REGISTRATION, getRegistration)
ELSA_WIRE_OF(peer_table, PEER_TABLE, getPeerTable)

#undef ELSA_WIRE_OF

template <class T>
T reader::read_body(body_reader body) const {
  return read(wire_of<T>::get(body));
}

// message_kind follows the union's declaration order; checked so the two cannot drift apart.
template <std::size_t... Is>
constexpr bool kinds_match_wire(std::index_sequence<Is...>) {
  return ((static_cast<std::size_t>(wire_of<std::variant_alternative_t<Is, message_body>>::which) == Is) && ...);
}
static_assert(kinds_match_wire(std::make_index_sequence<std::variant_size_v<message_body>>{}),
              "message_kind / message_body order must match the Envelope.body union");

constexpr std::size_t kind_count = std::variant_size_v<message_body>;

// -- opening a payload -----------------------------------------------------------------

/// A payload made readable: aligned words, a reader with limits, the envelope checked.
class opened {
public:
  opened(const payload& bytes, const codec_limits& limits) : bytes_(aligned(bytes)) {
    ELSA_REQUIRE(!bytes_.empty(), violation::not_a_message, "message: empty payload");
    ELSA_REQUIRE(bytes_.size() <= limits.max_message_bytes, violation::too_large,
            "message: " + std::to_string(bytes_.size()) + " bytes exceed max_message_bytes "
              + std::to_string(limits.max_message_bytes));
    ELSA_REQUIRE(bytes_.size() % sizeof(capnp::word) == 0, violation::not_a_message,
            "message: " + std::to_string(bytes_.size())
              + " bytes is not a whole number of 8-byte words; the bytes are truncated or not a message");
    auto words = bytes_.size() / sizeof(capnp::word);
    capnp::ReaderOptions options;
    // Each word is read about once; the slack covers the envelope being read again by peek-then-decode.
    // Cap'n Proto's default (64 MiB) would reject large tensors.
    options.traversalLimitInWords = 4 * words + 1024;
    auto begin = reinterpret_cast<const capnp::word*>(bytes_.data());
    message_.emplace(kj::ArrayPtr<const capnp::word>(begin, words), options);
    ELSA_REQUIRE(message_->getEnd() == begin + words, violation::trailing_bytes,
            "message: " + std::to_string((begin + words - message_->getEnd()) * sizeof(capnp::word))
              + " bytes follow the end of the message");
    envelope_ = message_->getRoot<w::Envelope>();
    ELSA_REQUIRE(envelope_.getVersion() == wire_version, violation::wrong_version,
            "message: wire version " + std::to_string(envelope_.getVersion()) + ", this build speaks version "
              + std::to_string(wire_version));
    body_ = envelope_.getBody();
    auto which = static_cast<std::size_t>(body_.which());
    ELSA_REQUIRE(which < kind_count, violation::unknown_enum,
            "message: unknown message kind " + std::to_string(which) + " (newer sender?)");
    kind_ = static_cast<message_kind>(which);
  }

  const payload& bytes() const {
    return bytes_;
  }

  w::Envelope::Reader envelope() const {
    return envelope_;
  }

  body_reader body() const {
    return body_;
  }

  message_kind kind() const {
    return kind_;
  }

private:
  // Our payloads are always aligned; anything else is copied into aligned storage first.
  static payload aligned(const payload& bytes) {
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) == 0)
      return bytes;
    return payload::copy_of(bytes.data(), bytes.size());
  }

  payload bytes_;
  std::optional<capnp::FlatArrayMessageReader> message_;
  w::Envelope::Reader envelope_;
  body_reader body_;
  message_kind kind_ = message_kind::open_round;
};

template <class T>
received<T> read_checked(const opened& msg, const codec_limits& limits) {
  reader in{limits, msg.bytes().owner()};
  validator check{limits};
  received<T> out{in.sender(msg.envelope().getSender()), in.read_body<T>(msg.body())};
  check.sender(out.sender);
  check(out.body);
  check.sender_may_send(out.sender, out.body);
  return out;
}

template <std::size_t I = 0>
received<message_body> read_any(const opened& msg, const codec_limits& limits) {
  if constexpr (I < kind_count) {
    using type = std::variant_alternative_t<I, message_body>;
    if (static_cast<std::size_t>(msg.kind()) == I) {
      auto typed = read_checked<type>(msg, limits);
      return received<message_body>{typed.sender, message_body{std::in_place_index<I>, std::move(typed.body)}};
    }
    return read_any<I + 1>(msg, limits);
  } else {
    fail(violation::unknown_enum, "message: unknown message kind");
  }
}

} // namespace

// -- codec -------------------------------------------------------------------------------

template <class T>
result<payload> codec::encode(const participant& sender, const T& body) const {
  return guarded("encode", [&]() -> result<payload> {
    validator check{limits_};
    check.sender(sender);
    check(body);
    check.sender_may_send(sender, body);
    // Metadata goes into the builder's own (small, zeroed) segments; tensor bytes stay where they are
    // until flatten() copies them once into the payload.
    capnp::MallocMessageBuilder builder{static_cast<unsigned>(std::min<std::size_t>(hint(body) + 32, 1u << 20))};
    auto env = builder.initRoot<w::Envelope>();
    env.setVersion(wire_version);
    auto who = env.initSender();
    who.setTier(enum_to_wire<w::Tier>(sender.role));
    who.setId(sender.id);
    std::vector<external_bytes> externals;
    uint64_t inline_bytes = 0;
    writer out{builder.getOrphanage(), externals, inline_bytes};
    out(env.getBody(), body);
    uint64_t copied = inline_bytes;
    auto bytes = flatten(builder, externals, copied);
    ELSA_REQUIRE(bytes.size() <= limits_.max_message_bytes, violation::too_large,
                 std::string{"encode: "} + to_string(kind_of<T>) + " of " + std::to_string(bytes.size())
                   + " bytes exceeds max_message_bytes " + std::to_string(limits_.max_message_bytes));
    tensor_bytes_copied_ += copied;
    extra_bytes_copied_ += inline_bytes;
    ++messages_;
    return bytes;
  });
}

result<payload> codec::encode_any(const participant& sender, const message_body& body) const {
  return std::visit([&](const auto& typed) { return encode(sender, typed); }, body);
}

template <class T>
result<received<T>> codec::decode(const payload& bytes) const {
  return guarded("decode", [&]() -> result<received<T>> {
    opened msg{bytes, limits_};
    ELSA_REQUIRE(msg.kind() == kind_of<T>, violation::wrong_kind,
            std::string{"decode: expected a "} + to_string(kind_of<T>) + " message, got a "
              + to_string(msg.kind()));
    return read_checked<T>(msg, limits_);
  });
}

result<received<message_body>> codec::decode_any(const payload& bytes) const {
  return guarded("decode", [&]() -> result<received<message_body>> {
    opened msg{bytes, limits_};
    return read_any(msg, limits_);
  });
}

result<std::pair<message_kind, participant>> codec::peek(const payload& bytes) const {
  return guarded("peek", [&]() -> result<std::pair<message_kind, participant>> {
    opened msg{bytes, limits_};
    reader in{limits_, nullptr};
    auto who = in.sender(msg.envelope().getSender());
    validator{limits_}.sender(who);
    return std::make_pair(msg.kind(), who);
  });
}

codec_stats codec::stats() const noexcept {
  return codec_stats{messages_.load(), tensor_bytes_copied_.load(), extra_bytes_copied_.load()};
}

#define ELSA_INSTANTIATE(type)                                                                                \
  template result<payload> codec::encode<type>(const participant&, const type&) const;                        \
  template result<received<type>> codec::decode<type>(const payload&) const;

ELSA_INSTANTIATE(open_round)
ELSA_INSTANTIATE(close_round)
ELSA_INSTANTIATE(round_ack)
ELSA_INSTANTIATE(split_tensor)
ELSA_INSTANTIATE(adapter_update)
ELSA_INSTANTIATE(fingerprint)
ELSA_INSTANTIATE(trust_update)
ELSA_INSTANTIATE(assignment_update)
ELSA_INSTANTIATE(heartbeat)
ELSA_INSTANTIATE(error_report)
ELSA_INSTANTIATE(registration)
ELSA_INSTANTIATE(peer_table)

#undef ELSA_INSTANTIATE
#undef ELSA_REQUIRE

} // namespace elsa::messages
