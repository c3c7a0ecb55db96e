// Word n-gram hashes for containment checks (see ngram.hpp).
#include "core/data/ngram.hpp"


namespace elsa::data {

uint64_t fnv1a(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

} // namespace

std::vector<uint64_t> word_ngram_hashes(std::string_view text, size_t n) {
  std::vector<uint64_t> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i]))
      ++i;
    size_t j = i;
    while (j < text.size() && !is_space(text[j]))
      ++j;
    if (j > i)
      words.push_back(fnv1a(text.substr(i, j - i)));
    i = j;
  }
  std::vector<uint64_t> out;
  if (n == 0 || words.size() < n)
    return out;
  // Rolling polynomial hash mod 2^64: h(k) = sum_m words[k + m] * B^(n - 1 - m).
  constexpr uint64_t base = 0x9E3779B97F4A7C15ull;
  uint64_t top = 1; // B^(n - 1)
  for (size_t m = 1; m < n; ++m)
    top *= base;
  uint64_t h = 0;
  for (size_t m = 0; m < n; ++m)
    h = h * base + words[m];
  out.reserve(words.size() - n + 1);
  out.push_back(h);
  for (size_t k = n; k < words.size(); ++k) {
    h = (h - words[k - n] * top) * base + words[k];
    out.push_back(h);
  }
  return out;
}

void ngram_set::add(std::string_view text) {
  auto hashes = word_ngram_hashes(text, n_);
  hashes_.insert(hashes_.end(), hashes.begin(), hashes.end());
}

void ngram_set::freeze() {
  std::sort(hashes_.begin(), hashes_.end());
  hashes_.erase(std::unique(hashes_.begin(), hashes_.end()), hashes_.end());
}

bool ngram_set::covers(std::string_view text) const {
  auto hashes = word_ngram_hashes(text, n_);
  if (hashes.empty())
    return false;
  for (auto h : hashes)
    if (!contains(h))
      return false;
  return true;
}

} // namespace elsa::data
