// PCRE2 glue for GPT-2's split pattern, plus the UTF-8 run splitting that lets arbitrary bytes through.
#include "core/text/pretokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <new>
#include <stdexcept>

#include <fmt/core.h>

#include "core/text/byte_level.hpp"

namespace elsa::text {

// Unicode White_Space, which is what `\s` means in the Python `regex` module that GPT-2's encoder.py uses.
#define ELSA_WS "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

const char* const gpt2_split_pattern =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" ELSA_WS "\\p{L}\\p{N}]+|[" ELSA_WS "]+(?![^" ELSA_WS
  "])|[" ELSA_WS "]+";

#undef ELSA_WS

namespace {

pcre2_code* as_code(void* p) {
  return static_cast<pcre2_code*>(p);
}

} // namespace

pretokenizer::pretokenizer() {
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(gpt2_split_pattern), PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP, &err, &err_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    throw std::runtime_error(
                fmt::format("PCRE2 rejected the GPT-2 split pattern at offset {}: {} (is libpcre2-8 built "
                            "with Unicode support?)",
                            err_offset, reinterpret_cast<const char*>(buf)));
  }
  code_ = code;
  // Without JIT the interpreter is a few times slower but gives the same pieces.
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
}

pretokenizer::~pretokenizer() {
  pcre2_code_free(as_code(code_));
}

const pretokenizer& gpt2_pretokenizer() {
  static const pretokenizer instance;
  return instance;
}

pretokenizer::cursor::cursor(const pretokenizer& owner, std::string_view text) : owner_(owner), text_(text) {
  match_data_ = pcre2_match_data_create_from_pattern(as_code(owner.code_), nullptr);
  if (match_data_ == nullptr)
    throw std::bad_alloc();
}

pretokenizer::cursor::~cursor() {
  pcre2_match_data_free(static_cast<pcre2_match_data*>(match_data_));
}

bool pretokenizer::cursor::next(std::string_view& piece) {
  if (pos_ >= text_.size())
    return false;
  if (pos_ >= run_end_) {
    // Find the maximal well-formed UTF-8 run starting here; a byte that starts none is a piece alone.
    size_t end = pos_;
    while (end < text_.size()) {
      const size_t n = utf8_sequence_length(text_, end);
      if (n == 0)
        break;
      end += n;
    }
    if (end == pos_) {
      piece = text_.substr(pos_, 1);
      ++pos_;
      return true;
    }
    run_begin_ = pos_;
    run_end_ = end;
  }
  auto* md = static_cast<pcre2_match_data*>(match_data_);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text_.data() + run_begin_);
  const size_t length = run_end_ - run_begin_;
  const size_t start = pos_ - run_begin_;
  // The run was validated above, so PCRE2 may skip its own UTF check. Every character matches one of
  // the alternatives, so the first match always begins at `start`.
  const int rc = owner_.jit_ ? pcre2_jit_match(as_code(owner_.code_), subject, length, start, 0, md, nullptr)
                             : pcre2_match(as_code(owner_.code_), subject, length, start,
                                           PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, md, nullptr);
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
  if (rc < 0 || ov[0] != start || ov[1] <= start)
    throw std::logic_error(
                fmt::format("GPT-2 pre-tokeniser: no match at byte {} (PCRE2 code {}); this is a bug, please "
                            "report the input",
                            pos_, rc));
  piece = text_.substr(pos_, ov[1] - start);
  pos_ = run_begin_ + ov[1];
  return true;
}

} // namespace elsa::text
