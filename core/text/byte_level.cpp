// GPT-2's byte <-> character table and strict UTF-8 decoding, shared by the tokenizer and the trainer.
#include "core/text/byte_level.hpp"

namespace elsa::text {

namespace {

// bytes_to_unicode() from OpenAI's encoder.py: printable Latin-1 bytes stand for themselves, the other 68
// bytes get U+0100 onwards in byte order. The base-token order lists the self-standing bytes first.
struct byte_tables {
  std::array<char32_t, 256> to_cp{};
  std::array<int16_t, 324> from_cp{};  // the alphabet lies in U+0021..U+0143
  std::array<uint8_t, 256> order{};

  byte_tables() {
    from_cp.fill(-1);
    auto self_standing = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    size_t next_id = 0;
    for (int b = 0; b < 256; ++b)
      if (self_standing(b)) {
        to_cp[b] = static_cast<char32_t>(b);
        order[next_id++] = static_cast<uint8_t>(b);
      }
    char32_t extra = 256;
    for (int b = 0; b < 256; ++b)
      if (!self_standing(b)) {
        to_cp[b] = extra++;
        order[next_id++] = static_cast<uint8_t>(b);
      }
    for (int b = 0; b < 256; ++b)
      from_cp[to_cp[b]] = static_cast<int16_t>(b);
  }
};

const byte_tables& tables() {
  static const byte_tables instance;
  return instance;
}

} // namespace

char32_t byte_to_code_point(uint8_t b) {
  return tables().to_cp[b];
}

std::optional<uint8_t> code_point_to_byte(char32_t cp) {
  const auto& t = tables();
  if (cp >= t.from_cp.size() || t.from_cp[cp] < 0)
    return std::nullopt;
  return static_cast<uint8_t>(t.from_cp[cp]);
}

const std::array<uint8_t, 256>& byte_order() {
  return tables().order;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string bytes_to_vocab_form(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes)
    append_utf8(out, byte_to_code_point(static_cast<uint8_t>(c)));
  return out;
}

size_t utf8_sequence_length(std::string_view text, size_t pos) {
  auto at = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const size_t left = text.size() - pos;
  const uint8_t b0 = at(pos);
  if (b0 < 0x80)
    return 1;
  auto cont = [&](size_t i) { return (at(pos + i) & 0xC0) == 0x80; };
  // The ranges of the second byte follow Unicode's table 3-7 of well-formed sequences.
  if (b0 >= 0xC2 && b0 <= 0xDF)
    return left >= 2 && cont(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3)
      return 0;
    const uint8_t b1 = at(pos + 1);
    const uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const uint8_t hi = b0 == 0xED ? 0x9F : 0xBF;
    return b1 >= lo && b1 <= hi && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4)
      return 0;
    const uint8_t b1 = at(pos + 1);
    const uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80;
    const uint8_t hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return b1 >= lo && b1 <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

std::optional<std::string> vocab_form_to_bytes(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (size_t pos = 0; pos < token.size();) {
    const size_t n = utf8_sequence_length(token, pos);
    if (n == 0)
      return std::nullopt;
    auto byte = [&](size_t i) { return static_cast<char32_t>(static_cast<uint8_t>(token[pos + i])); };
    char32_t cp = 0;
    switch (n) {
      case 1:
        cp = byte(0);
        break;
      case 2:
        cp = ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
        break;
      case 3:
        cp = ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
        break;
      default:
        cp = ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
        break;
    }
    const auto b = code_point_to_byte(cp);
    if (!b)
      return std::nullopt;
    out.push_back(static_cast<char>(*b));
    pos += n;
  }
  return out;
}

} // namespace elsa::text
