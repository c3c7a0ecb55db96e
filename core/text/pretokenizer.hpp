// GPT-2's pre-tokenisation: the regex that cuts text into words before BPE runs inside each word, made
// total over arbitrary bytes (invalid UTF-8 becomes one piece per byte) so that every input round-trips.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace elsa::text {

/// The pattern from OpenAI's encoder.py, as PCRE2 source. `\s` is spelled out as Unicode White_Space
/// because PCRE2's UCP `\s` leaves out U+0085, which the Python `regex` module (and tiktoken) include.
extern const char* const gpt2_split_pattern;

/// Compiled GPT-2 split pattern (PCRE2, UTF + UCP, JIT-compiled where the platform has it). Immutable
/// once built, so one instance may be shared by many threads; each scan has its own match state.
class pretokenizer {
public:
  /// Compiles the pattern; throws std::runtime_error if PCRE2 rejects it (a PCRE2 built without Unicode).
  pretokenizer();
  ~pretokenizer();
  pretokenizer(const pretokenizer&) = delete;
  pretokenizer& operator=(const pretokenizer&) = delete;

  /// Walks the pieces of one text in order; the pieces concatenate back to the text exactly. Valid UTF-8
  /// runs go through the regex (a run's end acts as the end of text for `\s+(?!\S)`); each byte that does
  /// not start a well-formed UTF-8 sequence is a piece of its own.
  class cursor {
  public:
    cursor(const pretokenizer& owner, std::string_view text);
    ~cursor();
    cursor(const cursor&) = delete;
    cursor& operator=(const cursor&) = delete;

    /// Sets piece to the next piece and returns true, or returns false at the end of the text.
    bool next(std::string_view& piece);

  private:
    const pretokenizer& owner_;
    std::string_view text_;
    size_t pos_ = 0;
    size_t run_begin_ = 0;
    size_t run_end_ = 0;
    void* match_data_ = nullptr;  // pcre2_match_data_8, kept opaque so this header needs no pcre2.h
  };

  /// Whether the pattern is running JIT-compiled (reported by the benchmark).
  bool jit() const noexcept {
    return jit_;
  }

private:
  friend class cursor;
  void* code_ = nullptr;  // pcre2_code_8
  bool jit_ = false;
};

/// The process-wide compiled pattern; built on first use (thread-safe), shared by all tokenizers.
const pretokenizer& gpt2_pretokenizer();

} // namespace elsa::text
