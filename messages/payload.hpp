// The bytes of one encoded ELSA message as actors pass it around: an immutable, reference-counted,
// 8-byte-aligned buffer. Copies share the buffer (in one process nothing is copied); across processes CAF
// serialises it as one length-prefixed block of raw bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

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

/// "payload(N bytes)", for CAF's logging and deep_to_string.
std::string to_string(const payload& x);

/// CAF 0.17 serialisation: a length (begin_sequence) then the bytes with ONE apply_raw.
caf::error inspect(caf::serializer& sink, payload& x);

/// CAF 0.17 deserialisation: reads the length, checks it against max_wire_payload_bytes (and the bytes
/// left, for a binary_deserializer) before allocating, then reads the bytes with ONE apply_raw.
caf::error inspect(caf::deserializer& source, payload& x);

} // namespace elsa::messages
