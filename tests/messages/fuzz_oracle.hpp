// The codec's fuzzing oracle (issue: "more than no crash"), shared by the libFuzzer target
// (tests/messages/codec_fuzzer.cpp, built with -DELSA_FUZZ=ON) and the corpus replay test of the default
// build (fuzz_corpus_test.cpp). For any bytes: a refusal names a rule other than `internal` (an exception
// inside the decoder); when decode_any accepts, peek and the typed decoder of its kind accept the same kind,
// sender and body, and the message re-encodes and decodes back equal. Returns what broke, or "" if nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include <fmt/format.h>

#include "messages/codec.hpp"
#include "messages/payload.hpp"
#include "messages/types.hpp"

namespace elsa::messages::fuzz {

namespace detail {

// The typed decoder for the alternative at `index` of message_body, compared with decode_any's body.
template <std::size_t I = 0>
std::string typed_agrees(const codec& c, const payload& bytes, std::size_t index, const received<message_body>& any) {
  if constexpr (I < std::variant_size_v<message_body>) {
    if (index != I)
      return typed_agrees<I + 1>(c, bytes, index, any);
    using T = std::variant_alternative_t<I, message_body>;
    auto typed = c.decode<T>(bytes);
    if (!typed.ok())
      return fmt::format("decode_any accepted a {} that decode<{}> refuses: {}", to_string(kind_of<T>),
                         to_string(kind_of<T>), typed.error().message);
    if (!(typed->sender == any.sender) || !(typed->body == std::get<I>(any.body)))
      return fmt::format("decode<{}> and decode_any disagree on the sender or the body", to_string(kind_of<T>));
    return {};
  } else {
    return "a body of no known kind";
  }
}

} // namespace detail

inline std::string check_bytes(const codec& c, const std::uint8_t* data, std::size_t size) {
  const auto bytes = payload::copy_of(data, size);
  const auto any = c.decode_any(bytes);
  const auto peeked = c.peek(bytes);
  if (!any.ok()) {
    if (any.error().message.empty())
      return "a refusal without a message";
    // guarded() turns an exception inside the decoder into violation::internal: a bug, not bad input.
    if (any.error().rule == violation::internal)
      return "the decoder threw: " + any.error().message;
    return {};
  }
  if (!peeked.ok())
    return "decode_any accepted what peek refuses: " + peeked.error().message;
  const auto kind = static_cast<message_kind>(any->body.index());
  if (peeked->first != kind || !(peeked->second == any->sender))
    return fmt::format("peek says {} from {}/{}, decode_any {} from {}/{}", to_string(peeked->first),
                       static_cast<int>(peeked->second.role), peeked->second.id, to_string(kind),
                       static_cast<int>(any->sender.role), any->sender.id);
  if (auto why = detail::typed_agrees(c, bytes, any->body.index(), *any); !why.empty())
    return why;
  const auto again = c.encode_any(any->sender, any->body);
  if (!again.ok())
    return "an accepted message does not re-encode: " + again.error().message;
  const auto back = c.decode_any(*again);
  if (!back.ok())
    return "a re-encoded message does not decode: " + back.error().message;
  if (!(back->sender == any->sender) || !(back->body == any->body))
    return fmt::format("a {} re-encoded and decoded is not the same message", to_string(kind));
  return {};
}

} // namespace elsa::messages::fuzz
