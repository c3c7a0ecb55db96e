// Ref-counted immutable message bytes and their CAF 0.17 (de)serialisation as one raw block.
// The serialiser path must call apply_raw itself: a byte vector whitelisted as an "unsafe" message type
// would be sent as zero bytes, which is the trap this file exists to avoid.
#include "messages/payload.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include <caf/binary_deserializer.hpp>
#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <caf/serializer.hpp>

namespace elsa::messages {

namespace {

struct free_deleter {
  void operator()(void* ptr) const noexcept {
    std::free(ptr);
  }
};

// Cap'n Proto reads 8-byte words in place; anything less aligned must be copied first.
bool word_aligned(const void* ptr) {
  return reinterpret_cast<std::uintptr_t>(ptr) % 8 == 0;
}

void* checked_malloc(std::size_t size) {
  // malloc(0) may return null; one byte keeps "null means out of memory" unambiguous.
  void* mem = std::malloc(size == 0 ? 1 : size);
  if (mem == nullptr)
    throw std::bad_alloc{};
  return mem;
}

} // namespace

payload payload::copy_of(const void* data, std::size_t size) {
  void* mem = checked_malloc(size);
  if (size > 0)
    std::memcpy(mem, data, size);
  return adopt_malloced(mem, size);
}

payload payload::wrap(std::shared_ptr<const void> owner, const void* data, std::size_t size) {
  if (!word_aligned(data))
    return copy_of(data, size);
  return payload{std::move(owner), static_cast<const std::byte*>(data), size};
}

payload payload::adopt_malloced(void* storage, std::size_t size) {
  std::shared_ptr<void> owner{storage, free_deleter{}};
  return payload{std::move(owner), static_cast<const std::byte*>(storage), size};
}

bool operator==(const payload& lhs, const payload& rhs) noexcept {
  if (lhs.size_ != rhs.size_)
    return false;
  return lhs.size_ == 0 || lhs.data_ == rhs.data_ || std::memcmp(lhs.data_, rhs.data_, lhs.size_) == 0;
}

std::string to_string(const payload& x) {
  return "payload(" + std::to_string(x.size()) + " bytes)";
}

namespace {

std::atomic<payload_offload*> installed_offload{nullptr};

// The length a payload never has: what follows is a ticket, not bytes.
constexpr std::size_t ticket_marker = max_wire_payload_bytes + 1;

} // namespace

void set_payload_offload(payload_offload* offload) noexcept {
  installed_offload.store(offload);
}

caf::error inspect(caf::serializer& sink, payload& x) {
  if (auto* offload = installed_offload.load()) {
    payload_ticket t;
    if (offload->hold(x, t)) {
      auto marker = ticket_marker;
      if (auto err = sink.begin_sequence(marker))
        return err;
      if (auto err = sink(t.id_hi, t.id_lo, t.size, t.host, t.port))
        return err;
      return sink.end_sequence();
    }
  }
  auto size = x.size();
  if (auto err = sink.begin_sequence(size))
    return err;
  // Serialisers only read from the pointer; the const_cast is for apply_raw's shared signature.
  if (size > 0)
    if (auto err = sink.apply_raw(size, const_cast<std::byte*>(x.data())))
      return err;
  return sink.end_sequence();
}

caf::error inspect(caf::deserializer& source, payload& x) {
  std::size_t size = 0;
  if (auto err = source.begin_sequence(size))
    return err;
  if (size == ticket_marker) {
    payload_ticket t;
    if (auto err = source(t.id_hi, t.id_lo, t.size, t.host, t.port))
      return err;
    if (auto err = source.end_sequence())
      return err;
    if (t.size > max_wire_payload_bytes)
      return caf::make_error(caf::sec::invalid_argument,
                             "elsa payload ticket for " + std::to_string(t.size) + " bytes exceeds the limit of "
                               + std::to_string(max_wire_payload_bytes) + " bytes");
    auto* offload = installed_offload.load();
    if (offload == nullptr)
      return caf::make_error(caf::sec::invalid_argument,
                             "elsa payload ticket, but this process has no data plane to fetch it with");
    auto fetched = offload->fetch(t);
    if (!fetched)
      return std::move(fetched.error());
    x = std::move(*fetched);
    return caf::none;
  }
  if (size > max_wire_payload_bytes)
    return caf::make_error(caf::sec::invalid_argument,
                           "elsa payload of " + std::to_string(size) + " bytes exceeds the limit of "
                             + std::to_string(max_wire_payload_bytes) + " bytes");
  // A corrupt length must not make us allocate gigabytes for a message that is not there.
  if (auto* binary = dynamic_cast<caf::binary_deserializer*>(&source);
      binary != nullptr && size > binary->remaining())
    return caf::make_error(caf::sec::end_of_stream,
                           "elsa payload claims " + std::to_string(size) + " bytes but only "
                             + std::to_string(binary->remaining()) + " remain");
  std::unique_ptr<void, free_deleter> mem{checked_malloc(size)};
  if (size > 0)
    if (auto err = source.apply_raw(size, mem.get()))
      return err;
  if (auto err = source.end_sequence())
    return err;
  x = payload::adopt_malloced(mem.release(), size);
  return caf::none;
}

} // namespace elsa::messages
