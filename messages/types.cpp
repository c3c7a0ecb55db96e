// Names of the message enums and the tensor_bytes view used by every message that carries tensor data.
// Kept apart from the codec so that code which only builds messages does not pull in Cap'n Proto.
#include "messages/types.hpp"

#include <cstring>
#include <limits>

namespace elsa::messages {

std::size_t dtype_size(dtype type) noexcept {
  switch (type) {
    case dtype::f32:
      return 4;
    case dtype::f16:
    case dtype::bf16:
      return 2;
  }
  return 0;
}

const char* to_string(dtype type) noexcept {
  switch (type) {
    case dtype::f32:
      return "f32";
    case dtype::f16:
      return "f16";
    case dtype::bf16:
      return "bf16";
  }
  return "unknown dtype";
}

const char* to_string(tier role) noexcept {
  switch (role) {
    case tier::client:
      return "client";
    case tier::edge:
      return "edge";
    case tier::coordinator:
      return "coordinator";
    case tier::cloud:
      return "cloud";
  }
  return "unknown tier";
}

const char* to_string(report_code code) noexcept {
  switch (code) {
    case report_code::malformed_message:
      return "malformed_message";
    case report_code::unexpected_message:
      return "unexpected_message";
    case report_code::out_of_range:
      return "out_of_range";
    case report_code::deadline_missed:
      return "deadline_missed";
    case report_code::internal:
      return "internal";
  }
  return "unknown report code";
}

const char* to_string(message_kind kind) noexcept {
  switch (kind) {
    case message_kind::open_round:
      return "open_round";
    case message_kind::close_round:
      return "close_round";
    case message_kind::round_ack:
      return "round_ack";
    case message_kind::split_tensor:
      return "split_tensor";
    case message_kind::adapter_update:
      return "adapter_update";
    case message_kind::fingerprint:
      return "fingerprint";
    case message_kind::trust_update:
      return "trust_update";
    case message_kind::assignment_update:
      return "assignment_update";
    case message_kind::heartbeat:
      return "heartbeat";
    case message_kind::error_report:
      return "error_report";
    case message_kind::registration:
      return "registration";
    case message_kind::peer_table:
      return "peer_table";
  }
  return "unknown message kind";
}

tensor_bytes tensor_bytes::copy_of(dtype type, std::vector<int64_t> shape, const void* data,
                                   std::size_t size) {
  auto storage = std::make_shared<std::vector<std::byte>>(size);
  if (size > 0)
    std::memcpy(storage->data(), data, size);
  const std::byte* begin = storage->data();
  return view_of(type, std::move(shape), begin, size, std::move(storage));
}

tensor_bytes tensor_bytes::view_of(dtype type, std::vector<int64_t> shape, const void* data,
                                   std::size_t size, std::shared_ptr<const void> owner) {
  tensor_bytes result;
  result.type_ = type;
  result.shape_ = std::move(shape);
  result.data_ = static_cast<const std::byte*>(data);
  result.size_ = size;
  result.owner_ = std::move(owner);
  return result;
}

int64_t tensor_bytes::numel() const noexcept {
  int64_t total = 1;
  for (auto dim : shape_) {
    if (dim < 0)
      return -1;
    if (dim != 0 && total > std::numeric_limits<int64_t>::max() / dim)
      return -1;
    total *= dim;
  }
  return total;
}

bool operator==(const tensor_bytes& lhs, const tensor_bytes& rhs) noexcept {
  if (lhs.type_ != rhs.type_ || lhs.shape_ != rhs.shape_ || lhs.size_ != rhs.size_)
    return false;
  return lhs.size_ == 0 || lhs.data_ == rhs.data_ || std::memcmp(lhs.data_, rhs.data_, lhs.size_) == 0;
}

namespace {

int64_t extra(const tensor_bytes& t) noexcept {
  const int64_t n = t.numel();
  return n < 0 ? 0 : n * 4 - static_cast<int64_t>(t.size_bytes());
}

} // namespace

int64_t dense_f32_extra(const split_tensor& m) noexcept {
  return extra(m.tensor);
}

int64_t dense_f32_extra(const adapter_update& m) noexcept {
  if (const auto* dense = std::get_if<std::vector<named_tensor>>(&m.form)) {
    int64_t out = 0;
    for (const auto& t : *dense)
      out += extra(t.tensor);
    return out;
  }
  const auto& sk = std::get<count_sketch>(m.form);
  int64_t out = -static_cast<int64_t>(sk.table.size_bytes());
  for (const auto& t : sk.exact)
    out += extra(t.tensor);
  for (const auto& spec : sk.layout) {
    int64_t n = 1;
    for (auto d : spec.shape)
      n *= d;
    out += n * 4;
  }
  return out;
}

} // namespace elsa::messages
