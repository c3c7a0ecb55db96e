// Helpers shared by the data suites: a clear failure when data/ has not been fetched, a per-process cache
// of loaded tasks (ctest runs each test in its own process, a plain run of the binary shares the loads), and
// an n-gram containment check written independently of core/data/ngram.cpp.
#pragma once

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "core/data/tasks.hpp"
#include "tests/test_support.hpp"

namespace elsa::testing {

/// Fails the current test (and returns from it) when the fetched data is missing.
#define ELSA_REQUIRE_DATA()                                                                                        \
  do {                                                                                                             \
    auto elsa_dir_ = ::elsa::testing::data_dir();                                                                  \
    for (const char* elsa_src_ : {"spam-assassin", "sotu", "brown", "wordnet", "moby-dick"})                       \
      if (!std::filesystem::is_directory(elsa_dir_ / elsa_src_))                                                   \
        GTEST_FAIL() << "data source " << (elsa_dir_ / elsa_src_).string()                                         \
                     << " is missing: run scripts/fetch_data.sh (or set ELSA_DATA_DIR)";                           \
  } while (false)

/// load_task with default split options, loaded once per process.
inline const data::task_data& cached_task(data::task t) {
  static std::map<data::task, data::task_data> cache;
  auto it = cache.find(t);
  if (it == cache.end())
    it = cache.emplace(t, data::load_task(data_dir(), t)).first;
  return it->second;
}

/// All four tasks, in enum order, loaded once per process.
inline const std::vector<data::task_data>& cached_tasks() {
  static std::vector<data::task_data> tasks = [] {
    std::vector<data::task_data> out;
    for (auto t : data::all_tasks())
      out.push_back(cached_task(t));
    return out;
  }();
  return tasks;
}

/// Word n-gram hashes with std::hash (deliberately not the library's FNV code).
inline std::vector<size_t> word_grams(std::string_view text, size_t n) {
  std::vector<size_t> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])))
      ++j;
    if (j > i)
      words.push_back(std::hash<std::string_view>{}(text.substr(i, j - i)));
    i = j;
  }
  // Rolling polynomial hash of each window (arithmetic mod 2^64).
  std::vector<size_t> out;
  if (n == 0 || words.size() < n)
    return out;
  constexpr size_t base = 1000003u;
  size_t top = 1; // base^(n-1)
  for (size_t m = 1; m < n; ++m)
    top *= base;
  size_t h = 0;
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

/// Sorted, unique n-gram hashes of many texts.
inline std::vector<size_t> gram_index(const std::vector<std::string_view>& texts, size_t n) {
  std::vector<size_t> all;
  for (auto t : texts) {
    auto g = word_grams(t, n);
    all.insert(all.end(), g.begin(), g.end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

/// True when `text` has >= n words and all its n-grams are in `index`.
inline bool covered(const std::vector<size_t>& index, std::string_view text, size_t n) {
  auto g = word_grams(text, n);
  return !g.empty() && std::all_of(g.begin(), g.end(), [&index](size_t h) {
    return std::binary_search(index.begin(), index.end(), h);
  });
}

} // namespace elsa::testing
