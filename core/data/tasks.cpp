// Builds the four classification tasks from the raw sources and splits them. Splits are made per label
// over source documents (groups) in a seeded order, so each label is represented in every split and no
// group straddles two splits.
#include "core/data/tasks.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include <fmt/core.h>
#include <fmt/format.h>

#include "core/data/clean.hpp"
#include "core/data/ngram.hpp"
#include "core/data/random.hpp"
#include "core/data/sources.hpp"
#include "core/errors.hpp"

namespace elsa::data {

namespace fs = std::filesystem;

namespace {

struct raw_task {
  std::vector<std::string> label_names;
  std::vector<example> examples; // in source order
  load_counts counts;
};

// Keeps the first copy of each text; a text seen under two labels is dropped entirely, because either
// label would be wrong half the time and the copies could land in different splits.
void deduplicate(raw_task& t) {
  std::unordered_map<std::string_view, std::pair<size_t, bool>> first; // text -> (index, conflict)
  first.reserve(t.examples.size());
  for (size_t i = 0; i < t.examples.size(); ++i) {
    const auto& e = t.examples[i];
    if (e.text.empty())
      continue;
    auto [it, inserted] = first.try_emplace(e.text, i, false);
    if (!inserted && t.examples[it->second.first].label != e.label)
      it->second.second = true;
  }
  std::vector<char> keep(t.examples.size(), 0);
  size_t conflicting = 0;
  for (size_t i = 0; i < t.examples.size(); ++i) {
    const auto& e = t.examples[i];
    if (e.text.empty())
      continue;
    const auto& [first_index, conflict] = first.find(e.text)->second;
    conflicting += conflict && first_index == i;
    keep[i] = !conflict && first_index == i;
  }
  first.clear(); // its keys view into t.examples, which are moved next
  std::vector<example> kept;
  for (size_t i = 0; i < t.examples.size(); ++i)
    if (keep[i])
      kept.push_back(std::move(t.examples[i]));
  t.examples = std::move(kept);
  t.counts.unique = t.examples.size();
  t.counts.conflicting = conflicting;
}

raw_task build_spam(const fs::path& data_dir) {
  raw_task t;
  t.label_names = {"ham", "spam"};
  t.counts.raw_per_label.assign(2, 0);
  auto messages = read_spam_assassin(data_dir);
  std::unordered_set<std::string> bodies;
  for (auto& m : messages) {
    ++t.counts.raw;
    ++t.counts.raw_per_label[m.spam ? 1 : 0];
    // Identical bodies are re-sent copies of one message (same spam to two traps, list digests).
    if (!bodies.insert(m.raw_body).second)
      continue;
    t.examples.push_back(example{std::move(m.text), m.spam ? 1 : 0, std::move(m.id)});
  }
  t.counts.unique_bodies = bodies.size();
  return t;
}

raw_task build_party(const fs::path& data_dir) {
  raw_task t;
  t.label_names = {"democratic", "republican"};
  t.counts.raw_per_label.assign(2, 0);
  for (auto& s : read_sotu(data_dir)) {
    if (s.party != "d" && s.party != "r")
      continue; // Whig, Federalist, ... are not part of the two-party task
    int32_t label = s.party == "r" ? 1 : 0;
    for (auto& sentence : split_sentences(s.text, party_min_words)) {
      ++t.counts.raw;
      ++t.counts.raw_per_label[static_cast<size_t>(label)];
      t.examples.push_back(example{std::move(sentence), label, s.id});
    }
  }
  return t;
}

raw_task build_genre(const fs::path& data_dir) {
  raw_task t;
  t.label_names = genre_task_genres();
  t.counts.raw_per_label.assign(t.label_names.size(), 0);
  for (auto& doc : read_brown(data_dir)) {
    auto it = std::find(t.label_names.begin(), t.label_names.end(), doc.genre);
    if (it == t.label_names.end())
      continue;
    auto label = static_cast<int32_t>(it - t.label_names.begin());
    std::string passage;
    size_t words = 0;
    auto flush = [&] {
      if (words >= party_min_words) {
        ++t.counts.raw;
        ++t.counts.raw_per_label[static_cast<size_t>(label)];
        t.examples.push_back(example{passage, label, doc.id});
      }
      passage.clear();
      words = 0;
    };
    for (const auto& sentence : doc.sentences) {
      size_t n = count_words(sentence);
      if (words > 0 && words + n > genre_passage_words)
        flush();
      if (!passage.empty())
        passage += ' ';
      passage += sentence;
      words += n;
    }
    flush();
  }
  return t;
}

raw_task build_supersense(const fs::path& data_dir) {
  raw_task t;
  const auto& classes = supersense_lex_files();
  for (const auto& [lex, name] : classes)
    t.label_names.push_back(name);
  t.counts.raw_per_label.assign(classes.size(), 0);
  for (auto& s : read_wordnet(data_dir, "noun")) {
    auto it = std::find_if(classes.begin(), classes.end(), [&s](const auto& c) { return c.first == s.lex_file; });
    if (it == classes.end())
      continue;
    auto label = static_cast<int32_t>(it - classes.begin());
    ++t.counts.raw;
    ++t.counts.raw_per_label[static_cast<size_t>(label)];
    t.examples.push_back(example{std::move(s.gloss), label, std::move(s.offset)});
  }
  return t;
}

void check_split_options(const split_options& o) {
  auto bad = [](double f) { return !(f >= 0.0 && f < 1.0); };
  if (bad(o.validation_fraction))
    throw elsa::error(errc::invalid_argument,
                      fmt::format("split option validation_fraction = {} must be in [0, 1)", o.validation_fraction));
  if (bad(o.test_fraction))
    throw elsa::error(errc::invalid_argument,
                      fmt::format("split option test_fraction = {} must be in [0, 1)", o.test_fraction));
  if (o.validation_fraction + o.test_fraction >= 1.0)
    throw elsa::error(errc::invalid_argument,
                      fmt::format("split options validation_fraction + test_fraction = {} must be below 1 so that "
                                  "training keeps some data",
                                  o.validation_fraction + o.test_fraction));
}

// Per label: groups in a seeded order fill validation up to its share of that label's examples, then
// test, then the rest is train. Group order before shuffling is sorted by name, so the result does not
// depend on the order the files were read in.
void split(raw_task& raw, const std::string& name, uint64_t seed_key, const split_options& o, task_data& out) {
  const size_t labels = raw.label_names.size();
  // Groups numbered in order of appearance; their names sorted give the order before shuffling.
  std::unordered_map<std::string_view, size_t> group_index;
  std::vector<std::string_view> group_name;
  std::vector<int32_t> group_label;
  std::vector<size_t> group_size;
  std::vector<split_side> group_side;
  std::vector<size_t> example_group(raw.examples.size());
  for (size_t i = 0; i < raw.examples.size(); ++i) {
    const auto& e = raw.examples[i];
    auto [it, inserted] = group_index.try_emplace(e.group, group_name.size());
    if (inserted) {
      group_name.push_back(e.group);
      group_label.push_back(e.label);
      group_size.push_back(0);
      group_side.push_back(e.side);
    } else if (group_label[it->second] != e.label) {
      throw elsa::error(errc::malformed_input,
                        fmt::format("task {}: source document {} has examples with two labels", name, e.group));
    } else if (group_side[it->second] != e.side) {
      throw elsa::error(errc::malformed_input,
                        fmt::format("task {}: source document {} has examples in two splits", name, e.group));
    }
    example_group[i] = it->second;
    ++group_size[it->second];
  }
  std::vector<size_t> by_name(group_name.size());
  std::iota(by_name.begin(), by_name.end(), size_t{0});
  std::sort(by_name.begin(), by_name.end(), [&group_name](size_t a, size_t b) { return group_name[a] < group_name[b]; });

  enum class side : uint8_t { train, validation, test };
  std::vector<side> assignment(group_name.size(), side::train);
  std::mt19937_64 rng(detail::mix_seed(o.seed, seed_key));
  for (size_t g = 0; g < group_side.size(); ++g)
    if (group_side[g] != split_side::any)
      assignment[g] = group_side[g] == split_side::validation ? side::validation
                      : group_side[g] == split_side::test     ? side::test
                                                              : side::train;
  for (size_t label = 0; label < labels; ++label) {
    std::vector<size_t> groups;
    size_t total = 0;
    for (auto g : by_name) {
      if (group_label[g] == static_cast<int32_t>(label) && group_side[g] == split_side::any) {
        groups.push_back(g);
        total += group_size[g];
      }
    }
    detail::shuffle(groups, rng);
    const double want_validation = o.validation_fraction * static_cast<double>(total);
    const double want_test = o.test_fraction * static_cast<double>(total);
    size_t in_validation = 0, in_test = 0;
    for (size_t k = 0; k < groups.size(); ++k) {
      const auto g = groups[k];
      const bool last = k + 1 == groups.size();
      // The last group always trains, so that a label with few groups is never missing from train.
      if (!last && static_cast<double>(in_validation) < want_validation) {
        assignment[g] = side::validation;
        in_validation += group_size[g];
      } else if (!last && static_cast<double>(in_test) < want_test) {
        assignment[g] = side::test;
        in_test += group_size[g];
      } else {
        assignment[g] = side::train;
      }
    }
  }
  group_index.clear(); // views into the examples, which are moved next
  group_name.clear();
  for (size_t i = 0; i < raw.examples.size(); ++i) {
    auto& e = raw.examples[i];
    switch (assignment[example_group[i]]) {
      case side::train:
        out.train.push_back(std::move(e));
        break;
      case side::validation:
        out.validation.push_back(std::move(e));
        break;
      case side::test:
        out.test.push_back(std::move(e));
        break;
    }
  }
}

// Splitting by document cannot see a reply that quotes a whole earlier message from another split, or a
// gloss that is a substring of a longer one; those held-out examples would be seen in training.
void drop_contained(task_data& t) {
  // Index the (few) held-out windows and mark those that occur in train, instead of sorting every train
  // window: the same answer as ngram_set::covers over train, several times faster.
  std::vector<uint64_t> held_out;
  for (const auto* split : {&t.validation, &t.test})
    for (const auto& e : *split) {
      auto grams = word_ngram_hashes(e.text);
      held_out.insert(held_out.end(), grams.begin(), grams.end());
    }
  std::sort(held_out.begin(), held_out.end());
  held_out.erase(std::unique(held_out.begin(), held_out.end()), held_out.end());
  std::vector<char> in_train(held_out.size(), 0);
  // A 2^22-bit filter on the hashes' low bits rejects most train windows before the binary search.
  constexpr uint64_t filter_mask = (uint64_t{1} << 22) - 1;
  std::vector<uint64_t> filter((filter_mask + 1) / 64, 0);
  for (auto g : held_out)
    filter[(g & filter_mask) / 64] |= uint64_t{1} << (g % 64);
  for (const auto& e : t.train)
    for (auto g : word_ngram_hashes(e.text)) {
      if ((filter[(g & filter_mask) / 64] & (uint64_t{1} << (g % 64))) == 0)
        continue;
      auto it = std::lower_bound(held_out.begin(), held_out.end(), g);
      if (it != held_out.end() && *it == g)
        in_train[static_cast<size_t>(it - held_out.begin())] = 1;
    }
  auto contained = [&](const example& e) {
    auto grams = word_ngram_hashes(e.text);
    return !grams.empty() && std::all_of(grams.begin(), grams.end(), [&](uint64_t g) {
      return in_train[static_cast<size_t>(std::lower_bound(held_out.begin(), held_out.end(), g) - held_out.begin())] != 0;
    });
  };
  for (auto* split : {&t.validation, &t.test}) {
    auto before = split->size();
    split->erase(std::remove_if(split->begin(), split->end(), contained), split->end());
    t.counts.contained += before - split->size();
  }
}

} // namespace

const std::vector<task>& all_tasks() {
  static const std::vector<task> tasks{task::spam, task::party, task::genre, task::supersense};
  return tasks;
}

const char* to_string(task t) {
  switch (t) {
    case task::spam:
      return "spam";
    case task::party:
      return "party";
    case task::genre:
      return "genre";
    case task::supersense:
      return "supersense";
    case task::file:
      return "file";
  }
  return "unknown";
}

task task_from_string(std::string_view name) {
  for (auto t : all_tasks())
    if (name == to_string(t))
      return t;
  throw elsa::error(errc::invalid_argument,
                    fmt::format("unknown task '{}'; the tasks are spam, party, genre, supersense", name));
}

const std::vector<std::string>& genre_task_genres() {
  // Five registers far apart in vocabulary and style, each with >= 17 documents so that every split gets
  // at least two documents of each genre (see docs/data.md).
  static const std::vector<std::string> genres{"news", "religion", "hobbies", "learned", "romance"};
  return genres;
}

const std::vector<std::pair<int, std::string>>& supersense_lex_files() {
  static const std::vector<std::pair<int, std::string>> classes{
    {5, "animal"}, {6, "artifact"}, {18, "person"}, {20, "plant"}, {13, "food"}};
  return classes;
}

task_data load_task(const fs::path& data_dir, task t, const split_options& options) {
  check_split_options(options);
  require_data_dir(data_dir);
  raw_task raw;
  switch (t) {
    case task::spam:
      raw = build_spam(data_dir);
      break;
    case task::party:
      raw = build_party(data_dir);
      break;
    case task::genre:
      raw = build_genre(data_dir);
      break;
    case task::supersense:
      raw = build_supersense(data_dir);
      break;
    case task::file:
      throw elsa::error(errc::invalid_argument, "load_task: a file task is read with load_file_task");
  }
  deduplicate(raw);
  task_data out;
  out.id = t;
  out.name = to_string(t);
  out.seed_key = static_cast<uint64_t>(t);
  out.label_names = raw.label_names;
  out.counts = raw.counts;
  split(raw, out.name, out.seed_key, options, out);
  drop_contained(out);
  return out;
}

task_data build_task(std::string name, uint64_t seed_key, std::vector<std::string> label_names,
                     std::vector<example> examples, const split_options& options) {
  check_split_options(options);
  raw_task raw;
  raw.label_names = std::move(label_names);
  raw.counts.raw = examples.size();
  raw.counts.raw_per_label.assign(raw.label_names.size(), 0);
  for (const auto& e : examples)
    ++raw.counts.raw_per_label.at(static_cast<size_t>(e.label));
  raw.examples = std::move(examples);
  deduplicate(raw);
  task_data out;
  out.id = task::file;
  out.name = std::move(name);
  out.seed_key = seed_key;
  out.label_names = raw.label_names;
  out.counts = raw.counts;
  split(raw, out.name, out.seed_key, options, out);
  drop_contained(out);
  return out;
}

} // namespace elsa::data
