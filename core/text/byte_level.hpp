// GPT-2's byte-level alphabet: every byte 0..255 has a printable stand-in character, so vocabulary files are
// text and any byte string is spelled with the 256 base tokens. Also the strict UTF-8 checks the
// pre-tokeniser uses to split input into valid runs and stray bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace elsa::text {

/// The code point GPT-2 uses to spell byte b (OpenAI encoder.py, bytes_to_unicode()).
char32_t byte_to_code_point(uint8_t b);

/// The byte spelled by code point cp, or nothing when cp is not in the 256-character alphabet.
std::optional<uint8_t> code_point_to_byte(char32_t cp);

/// The bytes in the order GPT-2 numbers its base tokens: id i of encoder.json is byte_order()[i].
const std::array<uint8_t, 256>& byte_order();

/// Spells raw bytes in the byte-level alphabet (UTF-8 of the stand-in characters), as vocab.json keys are.
std::string bytes_to_vocab_form(std::string_view bytes);

/// The raw bytes a vocab.json key stands for, or nothing when the key holds a character outside the
/// alphabet (or is not valid UTF-8).
std::optional<std::string> vocab_form_to_bytes(std::string_view token);

/// Length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates or code points past
/// U+10FFFF) that starts at text[pos], or 0 when the byte there does not start one.
size_t utf8_sequence_length(std::string_view text, size_t pos);

/// Appends the UTF-8 encoding of cp to out.
void append_utf8(std::string& out, char32_t cp);

} // namespace elsa::text
