// BPE training as in Sennrich et al. and Hugging Face's BpeTrainer: count pre-tokenised words once, then
// merge the best pair repeatedly, updating pair counts only in the words that hold the merged pair (an
// index pair -> words) and keeping candidates in a max-heap whose stale entries are refreshed lazily.
#include "core/text/bpe_trainer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include <fmt/core.h>

#include "core/errors.hpp"
#include "core/text/byte_level.hpp"
#include "core/text/pretokenizer.hpp"

namespace elsa::text {

namespace {

constexpr std::string_view end_of_text = "<|endoftext|>";

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

int32_t left_of(uint64_t key) {
  return static_cast<int32_t>(key >> 32);
}

int32_t right_of(uint64_t key) {
  return static_cast<int32_t>(key & 0xFFFFFFFFu);
}

struct word {
  std::vector<int32_t> symbols;
  int64_t count = 0;
  size_t last_merge = SIZE_MAX;  // the merge that last rewrote this word, to skip repeats in an index list
};

struct candidate {
  int64_t count;
  uint64_t pair;
};

class trainer {
  // Max-heap order: higher count first; on a tie, the pair whose bytes sort first.
  struct heap_less {
    const std::vector<std::string>* tokens;
    bool operator()(const candidate& a, const candidate& b) const {
      if (a.count != b.count)
        return a.count < b.count;
      const std::string& al = (*tokens)[left_of(a.pair)];
      const std::string& bl = (*tokens)[left_of(b.pair)];
      if (al != bl)
        return al > bl;
      return (*tokens)[right_of(a.pair)] > (*tokens)[right_of(b.pair)];
    }
  };

public:
  explicit trainer(size_t vocab_size) : vocab_size_(vocab_size) {
    const auto& order = byte_order();
    for (size_t id = 0; id < 256; ++id) {
      const std::string bytes(1, static_cast<char>(order[id]));
      add_token(bytes);
    }
  }

  // Counts the words of every text. The views point into texts, which outlive training.
  void count(const std::vector<std::string>& texts) {
    std::unordered_map<std::string_view, int64_t> counts;
    for (const std::string& text : texts) {
      std::string_view rest = text;
      while (!rest.empty()) {
        const size_t cut = rest.find(end_of_text);
        const std::string_view segment = rest.substr(0, cut);
        pretokenizer::cursor cursor(gpt2_pretokenizer(), segment);
        std::string_view piece;
        while (cursor.next(piece))
          ++counts[piece];
        rest = cut == std::string_view::npos ? std::string_view{} : rest.substr(cut + end_of_text.size());
      }
    }
    // Sorted so that word order, and hence everything downstream, does not depend on hashing.
    std::vector<std::pair<std::string_view, int64_t>> sorted(counts.begin(), counts.end());
    std::sort(sorted.begin(), sorted.end());
    const auto& order = byte_order();
    std::array<int32_t, 256> byte_id{};
    for (size_t id = 0; id < 256; ++id)
      byte_id[order[id]] = static_cast<int32_t>(id);
    words_.reserve(sorted.size());
    for (const auto& [text, n] : sorted) {
      word w;
      w.count = n;
      w.symbols.reserve(text.size());
      for (char c : text)
        w.symbols.push_back(byte_id[static_cast<uint8_t>(c)]);
      words_.push_back(std::move(w));
    }
  }

  void learn(const train_progress& progress) {
    for (uint32_t w = 0; w < words_.size(); ++w) {
      const auto& s = words_[w].symbols;
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t p = pair_key(s[i], s[i + 1]);
        pair_counts_[p] += words_[w].count;
        where_[p].push_back(w);
      }
    }
    for (const auto& [p, n] : pair_counts_)
      push(p, n);

    const size_t wanted = vocab_size_ - 1;  // room for <|endoftext|>
    const size_t total = wanted - 256;
    const size_t report_every = std::max<size_t>(1, total / 100);
    while (tokens_.size() < wanted && !heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end(), heap_less{&tokens_});
      const candidate top = heap_.back();
      heap_.pop_back();
      auto it = pair_counts_.find(top.pair);
      const int64_t current = it == pair_counts_.end() ? 0 : it->second;
      if (current != top.count) {
        // Counts of existing pairs only fall, so a refreshed entry is still an upper bound for the heap.
        if (current > 0)
          push(top.pair, current);
        continue;
      }
      if (current <= 0)
        continue;
      merge(top.pair);
      const size_t done = tokens_.size() - 256;
      if (progress && (done % report_every == 0 || tokens_.size() == wanted))
        progress(done, total);
    }
    if (progress && tokens_.size() < wanted)
      progress(tokens_.size() - 256, total);  // ran out of pairs before the vocabulary was full
  }

  bpe_tokenizer finish() {
    std::vector<std::string> vocab;
    vocab.reserve(tokens_.size() + 1);
    for (const std::string& bytes : tokens_)
      vocab.push_back(bytes_to_vocab_form(bytes));
    vocab.emplace_back(end_of_text);
    std::vector<merge_rule> rules;
    rules.reserve(merges_.size());
    for (uint64_t p : merges_)
      rules.emplace_back(vocab[left_of(p)], vocab[right_of(p)]);
    return bpe_tokenizer::from_vocab(std::move(vocab), rules);
  }

private:
  void push(uint64_t pair, int64_t count) {
    heap_.push_back({count, pair});
    std::push_heap(heap_.begin(), heap_.end(), heap_less{&tokens_});
  }

  int32_t add_token(const std::string& bytes) {
    auto [it, fresh] = ids_.emplace(bytes, static_cast<int32_t>(tokens_.size()));
    if (fresh)
      tokens_.push_back(bytes);
    return it->second;
  }

  void merge(uint64_t pair) {
    const int32_t left = left_of(pair);
    const int32_t right = right_of(pair);
    const int32_t merged = add_token(tokens_[left] + tokens_[right]);
    const size_t merge_index = merges_.size();
    merges_.push_back(pair);

    grown_.clear();
    auto add = [&](uint64_t p, int64_t n, uint32_t w) {
      pair_counts_[p] += n;
      if (n > 0) {
        grown_.push_back(p);
        where_[p].push_back(w);
      }
    };
    std::vector<uint32_t> holders = std::move(where_[pair]);
    where_.erase(pair);
    for (uint32_t w : holders) {
      word& wd = words_[w];
      if (wd.last_merge == merge_index)
        continue;
      wd.last_merge = merge_index;
      auto& s = wd.symbols;
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] != left || s[i + 1] != right)
          continue;
        if (i > 0) {
          add(pair_key(s[i - 1], left), -wd.count, w);
          add(pair_key(s[i - 1], merged), wd.count, w);
        }
        if (i + 2 < s.size()) {
          add(pair_key(right, s[i + 2]), -wd.count, w);
          add(pair_key(merged, s[i + 2]), wd.count, w);
        }
        s[i] = merged;
        s.erase(s.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      }
    }
    pair_counts_.erase(pair);
    // Pairs holding the new token grew (from zero, unless two merges spelled the same token): they enter the
    // heap once, with their full count, which keeps every pair's best heap entry an upper bound.
    std::sort(grown_.begin(), grown_.end());
    grown_.erase(std::unique(grown_.begin(), grown_.end()), grown_.end());
    for (uint64_t p : grown_) {
      auto it = pair_counts_.find(p);
      if (it != pair_counts_.end() && it->second > 0)
        push(p, it->second);
    }
  }

  size_t vocab_size_;
  std::vector<std::string> tokens_;  // raw bytes, by id
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<word> words_;
  std::unordered_map<uint64_t, int64_t> pair_counts_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where_;
  std::vector<candidate> heap_;
  std::vector<uint64_t> merges_;
  std::vector<uint64_t> grown_;
};

} // namespace

bpe_tokenizer train_bpe(const std::vector<std::string>& texts, size_t vocab_size, const train_progress& progress) {
  if (vocab_size < 257)
    throw error(errc::invalid_argument,
                fmt::format("train_bpe: vocab_size {} is too small; it must be at least 257 (256 byte tokens and "
                            "<|endoftext|>)",
                            vocab_size));
  trainer t(vocab_size);
  t.count(texts);
  t.learn(progress);
  return t.finish();
}

} // namespace elsa::text
