// The bytes of one encoded ELSA message as actors pass it around: an immutable, reference-counted,
// 8-byte-aligned buffer. Copies share the buffer (in one process nothing is copied); across processes CAF
// serialises it as one length-prefixed block of raw bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

namespace elsa::messages {

/// Largest payload CAF deserialisation accepts before allocating (the codec's own, usually smaller,
/// limit applies when the bytes are decoded). Protects against a corrupt length prefix.
inline constexpr std::size_t max_wire_payload_bytes = std::size_t{1} << 31;

/// An encoded message. Default-constructed payloads are empty. Never mutated after construction.
class payload {
public:
  payload() = default;

  /// Copies `size` bytes into fresh aligned storage.
  static payload copy_of(const void* data, std::size_t size);

  /// Shares `size` bytes at `data`, kept alive by `owner`, without copying when `data` is 8-byte aligned
  /// (Cap'n Proto readers need aligned words); copies into aligned storage otherwise.
  static payload wrap(std::shared_ptr<const void> owner, const void* data, std::size_t size);

  /// Takes over `storage` (from std::malloc/std::calloc, at least 8-byte aligned) holding `size` bytes.
  static payload adopt_malloced(void* storage, std::size_t size);

  const std::byte* data() const noexcept {
    return data_;
  }

  std::size_t size() const noexcept {
    return size_;
  }

  bool empty() const noexcept {
    return size_ == 0;
  }

  /// What keeps the bytes alive; decoded tensors hold this so they outlive the payload object.
  const std::shared_ptr<const void>& owner() const noexcept {
    return owner_;
  }

  /// True when both payloads view the same memory (a copy, not a re-encoding).
  bool shares_buffer_with(const payload& other) const noexcept {
    return data_ == other.data_ && size_ == other.size_ && owner_ == other.owner_;
  }

  /// Same bytes (not necessarily the same buffer).
  friend bool operator==(const payload& lhs, const payload& rhs) noexcept;
  friend bool operator!=(const payload& lhs, const payload& rhs) noexcept {
    return !(lhs == rhs);
  }

private:
  payload(std::shared_ptr<const void> owner, const std::byte* data, std::size_t size)
    : owner_(std::move(owner)), data_(data), size_(size) {
    // nop
  }

  std::shared_ptr<const void> owner_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Where a large payload's bytes wait when they do not travel inside the CAF message (actors/data_plane.hpp:
/// the sending process holds them and the receiving process fetches them over a socket of its own, beside
/// BASP). The ticket is what crosses BASP instead of the bytes.
struct payload_ticket {
  uint64_t id_hi = 0, id_lo = 0;  // random: a ticket is fetched once, by whoever holds it
  uint64_t size = 0;              // the payload's bytes (checked against max_wire_payload_bytes)
  std::string host;               // the holder's data-plane address
  uint16_t port = 0;
};

class payload_offload {
public:
  virtual ~payload_offload() = default;
  /// Holds `x` for one fetch and fills `ticket`; false: send it inline (too small, or not held).
  virtual bool hold(const payload& x, payload_ticket& ticket) = 0;
  /// The bytes of `ticket`, fetched from the process that holds them, or the error (one line).
  virtual caf::expected<payload> fetch(const payload_ticket& ticket) = 0;
};

/// Installs the process's offload for CAF serialisation (nullptr, the default: every payload inline).
/// Install before the actor system starts and remove after it is gone.
void set_payload_offload(payload_offload* offload) noexcept;

/// "payload(N bytes)", for CAF's logging and deep_to_string.
std::string to_string(const payload& x);

/// CAF 0.17 serialisation: a length (begin_sequence) then the bytes with ONE apply_raw; with an offload
/// installed that holds the payload, a marker length (max_wire_payload_bytes + 1) then the ticket instead.
caf::error inspect(caf::serializer& sink, payload& x);

/// CAF 0.17 deserialisation: reads the length, checks it against max_wire_payload_bytes (and the bytes
/// left, for a binary_deserializer) before allocating, then reads the bytes with ONE apply_raw; after the
/// marker, reads a ticket and fetches its bytes through the installed offload (an error without one).
caf::error inspect(caf::deserializer& source, payload& x);

} // namespace elsa::messages
