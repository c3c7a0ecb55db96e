// Word n-gram hashing, used to find held-out texts that are contained in other texts (a mailing-list reply
// quoting an earlier message, a gloss inside a longer gloss). Exact-string checks miss those.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

namespace elsa::data {

/// Window length (words) of the containment checks: long enough that a shared window is a copy, not a
/// common phrase.
inline constexpr size_t containment_words = 12;

/// FNV-1a 64 of `bytes` (a word, a name).
uint64_t fnv1a(std::string_view bytes);

/// Hashes of all windows of `n` consecutive whitespace-separated words (FNV-1a per word, polynomial over
/// the window), in text order; empty when the text has fewer than n words.
std::vector<uint64_t> word_ngram_hashes(std::string_view text, size_t n = containment_words);

/// A set of n-gram hashes: add texts, then freeze() before querying.
class ngram_set {
public:
  explicit ngram_set(size_t n = containment_words) : n_(n) {
    // nop
  }

  void add(std::string_view text);
  void freeze();

  bool contains(uint64_t hash) const {
    return std::binary_search(hashes_.begin(), hashes_.end(), hash);
  }

  /// True when `text` has at least n words and every one of its n-word windows is in the set: the text
  /// (almost surely) occurs inside the added texts.
  bool covers(std::string_view text) const;

  size_t n() const {
    return n_;
  }

private:
  size_t n_;
  std::vector<uint64_t> hashes_;
};

} // namespace elsa::data
