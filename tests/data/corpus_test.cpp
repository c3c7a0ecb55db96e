// Tests for the probe set, pre-training corpus and held-out LM text: disjoint from every validation/test
// text (exact membership of documents, lines and sentences; 12-word containment; plain substring search on
// a sample), drawn from the sources they should be, and deterministic.
#include "core/data/corpus.hpp"

#include <algorithm>
#include <functional>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include <gtest/gtest.h>

#include "core/data/sources.hpp"
#include "core/errors.hpp"
#include "tests/data/data_helpers.hpp"

namespace {

using namespace elsa::data;
using elsa::testing::cached_tasks;
using elsa::testing::data_dir;

// Calls `visit` on every piece of the corpus a held-out text could equal: whole documents, their lines
// (glosses, paragraphs, e-mails) and the sentences of those lines (speeches, passages). Sentences shorter
// than party_min_words are skipped: splitting "insects, e.g. ants" gives "ants", a one-word gloss that is
// not a copy of one.
template <class Visit>
void for_each_piece(const std::vector<std::string>& docs, Visit&& visit) {
  for (const auto& doc : docs) {
    visit(std::string_view(doc));
    size_t p = 0;
    while (p <= doc.size()) {
      size_t end = doc.find('\n', p);
      if (end == std::string::npos)
        end = doc.size();
      std::string_view line(doc.data() + p, end - p);
      visit(line);
      for (const auto& s : split_sentences(line, party_min_words))
        visit(std::string_view(s));
      p = end + 1;
    }
  }
}

// The containment check used below must be able to fail: a reply quoting a text whole is caught, a text
// sharing only a few words is not.
TEST(Corpus, ContainmentCheckCatchesAQuotedText) {
  const std::string held_out = "the quick brown fox jumps over the lazy dog while the farmer sleeps in the barn";
  const std::string reply = "Re: animals > " + held_out + " < nice one, thanks";
  const std::string other = "the quick brown fox jumps over the lazy cat while the farmer sleeps in the barn";
  auto index = elsa::testing::gram_index({reply}, 12);
  EXPECT_TRUE(elsa::testing::covered(index, held_out, 12));
  EXPECT_FALSE(elsa::testing::covered(index, other, 12));
  EXPECT_FALSE(elsa::testing::covered(index, "too short to check", 12));
}

TEST(Corpus, HoldsTrainAndExtraSourcesButNoHeldOutOrProbeText) {
  ELSA_REQUIRE_DATA();
  const auto& tasks = cached_tasks();
  auto corpus = pretraining_corpus(data_dir(), tasks);
  ASSERT_FALSE(corpus.empty());
  std::unordered_map<std::string_view, const task_data*> held_out_texts;
  for (const auto& t : tasks)
    for (const auto* split : {&t.validation, &t.test})
      for (const auto& e : *split)
        held_out_texts.emplace(e.text, &t);
  // The default probe set is no client's data: no task text of any split equals it.
  std::unordered_set<std::string> probes;
  for (auto& p : probe_set(data_dir()))
    probes.insert(std::move(p));
  for (const auto& t : tasks)
    for (const auto* split : {&t.train, &t.validation, &t.test})
      for (const auto& e : *split)
        ASSERT_EQ(probes.count(e.text), 0u) << to_string(t.id) << " text is a probe: " << e.text;
  // And none is pre-training text (checked with the held-out texts below).
  const std::string_view tops_gloss =
      "that which is perceived or known or inferred to have its own distinct existence (living or nonliving)";
  bool tops_found = false;
  for_each_piece(corpus, [&](std::string_view piece) {
    auto it = held_out_texts.find(piece);
    ASSERT_TRUE(it == held_out_texts.end()) << to_string(it->second->id) << " held-out text is in the corpus: " << piece;
    ASSERT_EQ(probes.count(std::string(piece)), 0u) << "probe text is in the corpus: " << piece;
    tops_found = tops_found || piece == tops_gloss;
  });

  constexpr size_t n = 12;
  std::vector<std::string_view> views(corpus.begin(), corpus.end());
  const auto index = elsa::testing::gram_index(views, n);
  std::vector<const example*> long_held_out;
  size_t held_out = 0;
  for (const auto& t : tasks) {
    for (const auto* split : {&t.validation, &t.test}) {
      for (const auto& e : *split) {
        ++held_out;
        ASSERT_FALSE(elsa::testing::covered(index, e.text, n))
            << to_string(t.id) << " held-out text is inside a corpus document: " << e.text;
        if (!elsa::testing::word_grams(e.text, n).empty())
          long_held_out.push_back(&e);
      }
    }
  }
  EXPECT_GT(held_out, 20000u);
  // Index-free: substring search of a seeded sample in the whole corpus.
  std::string all;
  for (const auto& d : corpus) {
    all += d;
    all += '\n';
  }
  std::mt19937_64 rng(5);
  for (int k = 0; k < 12; ++k) {
    const auto& e = *long_held_out[rng() % long_held_out.size()];
    std::boyer_moore_horspool_searcher search(e.text.begin(), e.text.end());
    ASSERT_TRUE(std::search(all.begin(), all.end(), search) == all.end())
        << "held-out text is a substring of the corpus: " << e.text;
  }

  // What should be there is there: train text of every task and each extra source.
  for (const auto& t : tasks) {
    ASSERT_FALSE(t.train.empty());
    EXPECT_NE(all.find(t.train.front().text), std::string::npos) << to_string(t.id);
    EXPECT_NE(all.find(t.train.back().text), std::string::npos) << to_string(t.id);
  }
  EXPECT_NE(all.find("Call me Ishmael."), std::string::npos) << "Moby Dick";
  // noun.Tops (lexicographer file 03) is not a supersense class, so its glosses are pre-training text.
  EXPECT_TRUE(tops_found);
  auto brown = read_brown(data_dir());
  const auto& used = genre_task_genres();
  size_t other_genre = 0, task_genre = 0;
  for (const auto& doc : brown) {
    bool used_genre = std::find(used.begin(), used.end(), doc.genre) != used.end();
    // A whole non-task Brown document is in; the first sentence of a task-genre document is in only when
    // that document is in the genre task's train split, so just count the former.
    if (!used_genre)
      other_genre += all.find(doc.sentences.front()) != std::string::npos;
    task_genre += used_genre;
  }
  EXPECT_EQ(other_genre, brown.size() - task_genre);

  // Held-out LM text (perplexity) is the validation splits: packing only joins texts, so every validation
  // word is there and nothing else. Disjointness from the corpus is what was checked above.
  auto heldout = lm_heldout(tasks);
  size_t validation_words = 0;
  for (const auto& t : tasks)
    for (const auto& e : t.validation)
      validation_words += elsa::testing::word_grams(e.text, 1).size();
  EXPECT_EQ(measure(heldout).words, validation_words);
  EXPECT_LT(heldout.size(), validation_words / 100) << "short items should be packed into documents";

}

TEST(ProbeSet, VerbGlossesDeterministicAndSeeded) {
  ELSA_REQUIRE_DATA();
  auto probes = probe_set(data_dir());
  ASSERT_EQ(probes.size(), 256u);
  std::unordered_set<std::string> unique(probes.begin(), probes.end());
  EXPECT_EQ(unique.size(), probes.size());
  EXPECT_EQ(probe_set(data_dir()), probes);
  EXPECT_NE(probe_set(data_dir(), 256, 8), probes);

  // Every probe is a verb gloss of >= 4 words and equals no noun gloss (the supersense source); the check
  // against every task text of every split is in Corpus.HoldsTrainAndExtraSourcesButNoHeldOutOrProbeText, which
  // has all tasks loaded already.
  std::unordered_set<std::string> verb_glosses, noun_glosses;
  for (auto& s : read_wordnet(data_dir(), "verb"))
    verb_glosses.insert(std::move(s.gloss));
  for (auto& s : read_wordnet(data_dir(), "noun"))
    noun_glosses.insert(std::move(s.gloss));
  for (const auto& p : probes) {
    EXPECT_EQ(verb_glosses.count(p), 1u) << p;
    EXPECT_EQ(noun_glosses.count(p), 0u) << p;
    EXPECT_GE(elsa::testing::word_grams(p, 1).size(), 4u) << p;
  }
}

TEST(ProbeSet, TooManyIsAnErrorNamingCount) {
  ELSA_REQUIRE_DATA();
  try {
    probe_set(data_dir(), 1000000);
    FAIL() << "no error for an impossible count";
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), elsa::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("count"), std::string::npos) << e.what();
  }
}

TEST(ProbeSet, MissingDataFolderNamesPathAndFetchScript) {
  const auto missing = std::filesystem::temp_directory_path() / "elsa-no-such-data-dir";
  try {
    probe_set(missing);
    FAIL() << "no error for a missing data folder";
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), elsa::errc::file_not_found);
    EXPECT_NE(std::string(e.what()).find("fetch_data.sh"), std::string::npos) << e.what();
  }
}

} // namespace
