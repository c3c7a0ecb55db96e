// Encoding ELSA messages (types.hpp) into Cap'n Proto payloads and decoding + validating them back.
// Errors are values: nothing here throws into the caller, so an actor can turn any byte string into
// either a message or an error entry for the run record.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "core/errors.hpp"
#include "messages/payload.hpp"
#include "messages/types.hpp"

namespace elsa::messages {

/// Which rule a message broke (finer than elsa::errc, so callers and tests can tell failures apart).
enum class violation : uint8_t {
  /// The bytes are not a Cap'n Proto message (bad segment table, truncated, pointers out of bounds).
  not_a_message,
  /// Bytes follow the end of the message.
  trailing_bytes,
  /// The whole message is larger than codec_limits::max_message_bytes.
  too_large,
  /// The envelope's version is not the one this build speaks.
  wrong_version,
  /// A valid message of another kind than the one asked for.
  wrong_kind,
  /// An enum holds a value this build does not know.
  unknown_enum,
  /// A participant, client, edge or cluster id outside the configured range.
  id_out_of_range,
  /// A tensor has more dimensions than codec_limits::max_rank.
  rank_limit,
  /// A tensor has more elements than codec_limits::max_tensor_elements (or its shape overflows).
  element_limit,
  /// A tensor's byte length differs from product(shape) * dtype size.
  byte_length,
  /// A list (tensors, assignments, scores, lengths) is longer than allowed.
  list_limit,
  /// A name or text is longer than codec_limits::max_text_bytes (or a name is empty).
  text_limit,
  /// Fields disagree with each other (shapes, sketch table vs rows x cols, duplicate names, ...).
  inconsistent,
  /// A single value is outside its documented range (trust score, split point, ...).
  value_out_of_range,
  /// Allocation failed or Cap'n Proto failed for reasons not tied to the input.
  internal,
};

/// e.g. "byte_length".
const char* to_string(violation v) noexcept;

/// Why encoding or decoding failed: project-wide code, the rule broken, and one line naming the field,
/// the value and the limit.
struct codec_error {
  errc code = errc::malformed_input;
  violation rule = violation::not_a_message;
  std::string message;
};

/// A value or a codec_error; never throws unless value() is called on an error.
template <class T>
class result {
public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {
    // nop
  }

  result(codec_error err) : state_(std::in_place_index<1>, std::move(err)) {
    // nop
  }

  bool ok() const noexcept {
    return state_.index() == 0;
  }

  explicit operator bool() const noexcept {
    return ok();
  }

  /// The value; throws elsa::error carrying the codec_error for callers that prefer exceptions
  /// (tests, the CLI). Actors check ok() instead.
  T& value() & {
    check();
    return std::get<0>(state_);
  }

  const T& value() const& {
    check();
    return std::get<0>(state_);
  }

  T&& value() && {
    check();
    return std::get<0>(std::move(state_));
  }

  T& operator*() & {
    return value();
  }

  const T& operator*() const& {
    return value();
  }

  T* operator->() {
    return &value();
  }

  const T* operator->() const {
    return &value();
  }

  /// The error; only meaningful when !ok().
  const codec_error& error() const {
    return std::get<1>(state_);
  }

private:
  void check() const {
    if (!ok())
      throw elsa::error(error().code, error().message);
  }

  std::variant<T, codec_error> state_;
};

/// What a decoder accepts. Defaults are generous for one machine; a run narrows the ids to its topology.
/// These defaults are the single source of truth (docs quote them from here).
struct codec_limits {
  /// Client ids must be below this.
  uint32_t max_clients = 4096;
  /// Edge ids must be below this.
  uint32_t max_edges = 256;
  /// Cluster ids must be below this.
  uint32_t max_clusters = 256;
  /// A registration's (and a peer table entry's) task index must be below this: a client registers the task
  /// its data belongs to, which may exceed the cluster ids (one cluster for four tasks under clustering =
  /// "none").
  uint32_t max_tasks = 256;
  /// A split point's head_blocks + tail_blocks must not exceed this (GPT-2 medium has 24 blocks).
  uint32_t max_blocks = 64;
  /// Dimensions per tensor.
  uint32_t max_rank = 8;
  /// Elements per tensor. Independently, Cap'n Proto caps one tensor's data at 2^29 - 1 bytes.
  uint64_t max_tensor_elements = uint64_t{1} << 28;
  /// Whole encoded message, bytes (also bounds how much a reader may traverse).
  uint64_t max_message_bytes = uint64_t{1} << 30;
  /// Named tensors in a dense update, or specs in a sketch layout.
  uint32_t max_tensors = 4096;
  /// Assignments, split points, trust scores, sequence lengths, labels.
  uint32_t max_list = 1u << 20;
  /// Tensor names, ack details and error texts, bytes.
  uint32_t max_text_bytes = 4096;
};

/// How much encoding copied, to back the claim that tensor data moves with one memcpy.
struct codec_stats {
  /// Messages encoded.
  uint64_t messages = 0;
  /// Tensor bytes memcpy'd into payloads (each tensor's bytes exactly once).
  uint64_t tensor_bytes_copied = 0;
  /// Tensor bytes copied a second time: sources not 8-byte aligned, or more than 128 tensors in one
  /// message. Stays 0 for torch tensors, whose storage is aligned.
  uint64_t extra_bytes_copied = 0;
};

/// Encodes and decodes ELSA messages. Thread-safe (const members only; the counters are atomic).
class codec {
public:
  explicit codec(codec_limits limits = {}) : limits_(limits) {
    // nop
  }

  /// A copy has the same limits and starts its own counters.
  codec(const codec& other) : limits_(other.limits_) {
    // nop
  }

  codec& operator=(const codec&) = delete;

  const codec_limits& limits() const noexcept {
    return limits_;
  }

  /// Encodes `body` from `sender`. Checks the same rules a decoder checks, so nothing is sent that the
  /// receiver would reject. Tensor bytes are read where they are and copied once, into the payload; the
  /// tensors only need to stay alive for the duration of the call.
  template <class T>
  result<payload> encode(const participant& sender, const T& body) const;

  /// Encodes any body.
  result<payload> encode_any(const participant& sender, const message_body& body) const;

  /// Decodes a message that must be of kind T. Decoded tensors view the payload's buffer (no copy)
  /// and keep it alive.
  template <class T>
  result<received<T>> decode(const payload& bytes) const;

  /// Decodes a message of any kind.
  result<received<message_body>> decode_any(const payload& bytes) const;

  /// Reads only the envelope: the kind and sender, without validating the body.
  result<std::pair<message_kind, participant>> peek(const payload& bytes) const;

  /// Counters since construction.
  codec_stats stats() const noexcept;

private:
  codec_limits limits_;
  mutable std::atomic<uint64_t> messages_{0};
  mutable std::atomic<uint64_t> tensor_bytes_copied_{0};
  mutable std::atomic<uint64_t> extra_bytes_copied_{0};
};

} // namespace elsa::messages
