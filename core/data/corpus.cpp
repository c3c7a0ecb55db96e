// Probe set, pre-training corpus and held-out LM text. Disjointness is by construction (different sources
// or train-only splits) and enforced again item by item against the held-out texts, because public
// sources repeat themselves (the same gloss under two lexicographer files, a sentence in two speeches).
#include "core/data/corpus.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <fmt/core.h>

#include "core/data/clean.hpp"
#include "core/data/ngram.hpp"
#include "core/data/random.hpp"
#include "core/data/sources.hpp"
#include "core/errors.hpp"

namespace elsa::data {

namespace fs = std::filesystem;

namespace {

// Joins items into documents of at most corpus_document_words words. Items never split; `flush_between`
// starts a fresh document (a new chapter or speech keeps its own context).
class packer {
public:
  packer(std::vector<std::string>& out, char separator) : out_(out), separator_(separator) {
    // nop
  }

  ~packer() {
    flush();
  }

  void add(const std::string& item) {
    size_t n = count_words(item);
    if (words_ > 0 && words_ + n > corpus_document_words)
      flush();
    if (!current_.empty())
      current_ += separator_;
    current_ += item;
    words_ += n;
  }

  void flush() {
    if (!current_.empty())
      out_.push_back(std::move(current_));
    current_.clear();
    words_ = 0;
  }

private:
  std::vector<std::string>& out_;
  char separator_;
  std::string current_;
  size_t words_ = 0;
};

// Held-out texts, for dropping corpus items that equal or contain one of them.
class held_out_filter {
public:
  void add(const std::string& text) {
    exact_.insert(text);
    auto grams = word_ngram_hashes(text);
    if (grams.empty())
      return;
    by_first_gram_[grams.front()].push_back(grams_.size());
    grams_.push_back(std::move(grams));
  }

  /// True when `item` may go into the corpus.
  bool keep(const std::string& item) const {
    if (item.empty() || exact_.count(item) != 0)
      return false;
    auto grams = word_ngram_hashes(item);
    if (grams.empty())
      return true;
    std::vector<uint64_t> sorted = grams;
    std::sort(sorted.begin(), sorted.end());
    for (auto g : grams) {
      auto it = by_first_gram_.find(g);
      if (it == by_first_gram_.end())
        continue;
      for (auto k : it->second) {
        const auto& text_grams = grams_[k];
        if (std::all_of(text_grams.begin(), text_grams.end(),
                        [&sorted](uint64_t h) { return std::binary_search(sorted.begin(), sorted.end(), h); }))
          return false;
      }
    }
    return true;
  }

private:
  std::unordered_set<std::string> exact_;
  std::vector<std::vector<uint64_t>> grams_;
  std::unordered_map<uint64_t, std::vector<size_t>> by_first_gram_;
};

// The documents of one split of one task: e-mails stay one per document, sentences and passages are packed
// per source document, glosses (one per synset) are packed across synsets.
void append_split(std::vector<std::string>& out, const task_data& t, const std::vector<example>& split,
                  const held_out_filter* filter) {
  const bool glosses = t.id == task::supersense;
  packer pack(out, glosses ? '\n' : ' ');
  const std::string* group = nullptr;
  for (const auto& e : split) {
    if (filter != nullptr && !filter->keep(e.text))
      continue;
    if (t.id == task::spam || (!glosses && group != nullptr && *group != e.group))
      pack.flush();
    group = &e.group;
    pack.add(e.text);
  }
}

const task_data& find_task(const std::vector<task_data>& tasks, task id) {
  for (const auto& t : tasks)
    if (t.id == id)
      return t;
  throw elsa::error(errc::invalid_argument,
                    fmt::format("the pre-training corpus needs all four tasks loaded; task '{}' is missing",
                                to_string(id)));
}

std::vector<task_data> load_all(const fs::path& data_dir, const split_options& options) {
  std::vector<task_data> tasks;
  for (auto t : all_tasks())
    tasks.push_back(load_task(data_dir, t, options));
  return tasks;
}

} // namespace

std::vector<std::string> probe_set(const fs::path& data_dir, size_t count, uint64_t seed) {
  std::unordered_set<std::string> noun_glosses;
  for (auto& s : read_wordnet(data_dir, "noun"))
    noun_glosses.insert(std::move(s.gloss));
  std::vector<std::string> candidates;
  std::unordered_set<std::string> seen;
  for (auto& s : read_wordnet(data_dir, "verb")) {
    if (count_words(s.gloss) < 4 || noun_glosses.count(s.gloss) != 0 || !seen.insert(s.gloss).second)
      continue;
    candidates.push_back(std::move(s.gloss));
  }
  if (count > candidates.size())
    throw elsa::error(errc::invalid_argument,
                      fmt::format("probe set count = {} is more than the {} usable WordNet verb glosses; ask for fewer",
                                  count, candidates.size()));
  std::mt19937_64 rng(detail::mix_seed(seed, 0x70726f6265ull)); // "probe"
  // A partial Fisher-Yates: the first `count` positions are a uniform sample, in sampled order.
  for (size_t i = 0; i < count; ++i)
    std::swap(candidates[i], candidates[i + detail::uniform_index(rng, candidates.size() - i)]);
  candidates.resize(count);
  return candidates;
}

std::vector<std::string> pretraining_corpus(const fs::path& data_dir, const split_options& options) {
  return pretraining_corpus(data_dir, load_all(data_dir, options));
}

namespace {

// Every validation and test text of the four tasks: corpus items equal to one are dropped.
held_out_filter held_out_of(const std::vector<task_data>& tasks) {
  held_out_filter held_out;
  for (auto id : all_tasks()) {
    const auto& t = find_task(tasks, id);
    for (const auto* split : {&t.validation, &t.test})
      for (const auto& e : *split)
        held_out.add(e.text);
  }
  return held_out;
}

} // namespace

std::vector<std::string> pretraining_corpus(const fs::path& data_dir, const std::vector<task_data>& tasks) {
  const auto held_out = held_out_of(tasks);
  std::vector<std::string> docs;
  // 1. The train splits of the four tasks.
  for (auto id : all_tasks()) {
    const auto& t = find_task(tasks, id);
    append_split(docs, t, t.train, &held_out);
  }
  // 2.-5. Text no task holds.
  for (auto& d : public_corpus(data_dir, tasks))
    docs.push_back(std::move(d));
  return docs;
}

std::vector<std::string> public_corpus(const fs::path& data_dir, const split_options& options) {
  return public_corpus(data_dir, load_all(data_dir, options));
}

std::vector<std::string> public_corpus(const fs::path& data_dir, const std::vector<task_data>& tasks) {
  const auto held_out = held_out_of(tasks);
  auto keep = [&held_out](const std::string& item) { return held_out.keep(item); };

  std::vector<std::string> docs;
  // 2. Moby Dick, paragraph by paragraph, one chapter at a time.
  {
    packer pack(docs, '\n');
    for (const auto& chapter : read_moby_dick(data_dir)) {
      size_t p = 0;
      while (p < chapter.size()) {
        size_t end = chapter.find('\n', p);
        if (end == std::string::npos)
          end = chapter.size();
        auto paragraph = chapter.substr(p, end - p);
        p = end + 1;
        if (keep(paragraph))
          pack.add(paragraph);
      }
      pack.flush();
    }
  }
  // 3. Brown genres the genre task does not classify.
  {
    const auto& used = genre_task_genres();
    packer pack(docs, ' ');
    for (const auto& doc : read_brown(data_dir)) {
      if (std::find(used.begin(), used.end(), doc.genre) != used.end())
        continue;
      for (const auto& sentence : doc.sentences)
        if (keep(sentence))
          pack.add(sentence);
      pack.flush();
    }
  }
  // 4. State of the Union speeches of the other parties (every sentence, short ones included).
  {
    packer pack(docs, ' ');
    for (const auto& s : read_sotu(data_dir)) {
      if (s.party == "d" || s.party == "r")
        continue;
      for (const auto& sentence : split_sentences(s.text, 1))
        if (keep(sentence))
          pack.add(sentence);
      pack.flush();
    }
  }
  // 5. WordNet noun glosses of the lexicographer files supersense does not classify.
  {
    const auto& used = supersense_lex_files();
    packer pack(docs, '\n');
    for (const auto& s : read_wordnet(data_dir, "noun")) {
      bool task_class = std::any_of(used.begin(), used.end(), [&s](const auto& c) { return c.first == s.lex_file; });
      if (!task_class && keep(s.gloss))
        pack.add(s.gloss);
    }
  }
  return docs;
}

std::vector<std::string> lm_heldout(const fs::path& data_dir, const split_options& options) {
  return lm_heldout(load_all(data_dir, options));
}

std::vector<std::string> lm_heldout(const std::vector<task_data>& tasks) {
  std::vector<std::string> docs;
  for (auto id : all_tasks()) {
    const auto& t = find_task(tasks, id);
    append_split(docs, t, t.validation, nullptr);
  }
  return docs;
}

text_stats measure(const std::vector<std::string>& documents) {
  text_stats s;
  s.documents = documents.size();
  for (const auto& d : documents) {
    s.bytes += d.size();
    s.words += count_words(d);
  }
  return s;
}

} // namespace elsa::data
