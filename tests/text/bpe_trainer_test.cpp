// BPE training: merges derived by hand on a tiny corpus, agreement with a naive recount-everything trainer
// on a random one, determinism, the GPT-2 file round trip and encoding with the learned vocabulary.
#include "core/text/bpe_trainer.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/errors.hpp"
#include "core/text/tokenizer.hpp"

namespace {

namespace fs = std::filesystem;
using elsa::text::bpe_tokenizer;
using elsa::text::merge_rule;
using elsa::text::train_bpe;

// Each word is a text of its own, so GPT-2's pre-tokeniser keeps it whole (one run of letters).
std::vector<std::string> repeat_words(const std::vector<std::pair<std::string, int>>& counts) {
  std::vector<std::string> texts;
  for (const auto& [w, n] : counts)
    for (int i = 0; i < n; ++i)
      texts.push_back(w);
  return texts;
}

// The Hugging Face course corpus: hug x10, pug x5, pun x12, bun x4, hugs x5.
std::vector<std::string> hug_corpus() {
  return repeat_words({{"hug", 10}, {"pug", 5}, {"pun", 12}, {"bun", 4}, {"hugs", 5}});
}

TEST(BpeTrainer, LearnsTheMergesDerivedByHand) {
  // Pair counts: (u,g) 10+5+5=20 > (p,u) 17 > (u,n) 12+4=16 > (h,u) 15: merge "u g". Then hug=h|ug,
  // pug=p|ug, hugs=h|ug|s: (u,n) 16 > (h,ug) 15 > (p,u) 12: merge "u n". Then (h,ug) 15 > (p,un) 12:
  // "h ug", then "p un" (12). Left: (p,ug) 5, (hug,s) 5, (b,un) 4; the tie goes to the smaller bytes,
  // "hug" < "p": "hug s", then "p ug", then "b un". Every word is then one token.
  const auto tok = train_bpe(hug_corpus(), 1000);
  const std::vector<merge_rule> expected = {{"u", "g"},   {"u", "n"},  {"h", "ug"}, {"p", "un"},
                                            {"hug", "s"}, {"p", "ug"}, {"b", "un"}};
  EXPECT_EQ(tok.merges(), expected);
  // It stops when no pair is left: 256 bytes + 7 merges + <|endoftext|>.
  EXPECT_EQ(tok.vocab_size(), 264u);
  EXPECT_EQ(tok.eot_id(), 263);
  EXPECT_EQ(tok.token(256), "ug");
  EXPECT_EQ(tok.token(260), "hugs");
  EXPECT_EQ(tok.encode("hugs"), std::vector<int32_t>{260});
  EXPECT_EQ(tok.encode("bug"), (std::vector<int32_t>{*tok.token_id("b"), 256}));
}

TEST(BpeTrainer, StopsAtTheRequestedSizeAndReportsProgress) {
  std::vector<std::pair<size_t, size_t>> calls;
  const auto tok = train_bpe(hug_corpus(), 260, [&](size_t done, size_t total) { calls.emplace_back(done, total); });
  const std::vector<merge_rule> expected = {{"u", "g"}, {"u", "n"}, {"h", "ug"}};
  EXPECT_EQ(tok.merges(), expected);
  EXPECT_EQ(tok.vocab_size(), 260u);
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), (std::pair<size_t, size_t>{3, 3}));
}

TEST(BpeTrainer, SpacesBecomeTheByteLevelG) {
  // " ab" x3 and "ab" x2: (a,b) 5 > (space,a) 3. The space is spelled 'Ġ' in GPT-2's files.
  const auto tok = train_bpe({" ab ab ab", "ab", "ab"}, 259);
  const std::vector<merge_rule> expected = {{"a", "b"}, {"Ġ", "ab"}};
  EXPECT_EQ(tok.merges(), expected);
  EXPECT_EQ(tok.encode(" ab"), std::vector<int32_t>{257});
}

// Independent reference: recount every pair of every word at each step (quadratic, fine when tiny).
std::vector<merge_rule> naive_train(const std::vector<std::string>& words, size_t merges_wanted) {
  std::map<std::string, int64_t> counts;
  for (const auto& w : words)
    ++counts[w];
  std::vector<std::pair<std::vector<std::string>, int64_t>> split;
  for (const auto& [w, n] : counts) {
    std::vector<std::string> symbols;
    for (char c : w)
      symbols.emplace_back(1, c);
    split.emplace_back(symbols, n);
  }
  std::vector<merge_rule> merges;
  while (merges.size() < merges_wanted) {
    std::map<merge_rule, int64_t> pairs;
    for (const auto& [s, n] : split)
      for (size_t i = 0; i + 1 < s.size(); ++i)
        pairs[{s[i], s[i + 1]}] += n;
    if (pairs.empty())
      break;
    // std::map iterates pairs in ascending order, so the first maximum wins ties as the trainer's rule says.
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (it->second > best->second)
        best = it;
    merges.push_back(best->first);
    for (auto& [s, n] : split) {
      std::vector<std::string> out;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == best->first.first && s[i + 1] == best->first.second) {
          out.push_back(s[i] + s[i + 1]);
          ++i;
        } else {
          out.push_back(s[i]);
        }
      }
      s = std::move(out);
    }
  }
  return merges;
}

TEST(BpeTrainer, AgreesWithANaiveTrainer) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> letter(0, 3), len(1, 10), pick(0, 79);
  std::vector<std::string> vocab;
  for (int i = 0; i < 80; ++i) {
    std::string w;
    for (int k = len(rng); k > 0; --k)
      w += static_cast<char>('a' + letter(rng));
    vocab.push_back(w);
  }
  std::vector<std::string> words;
  for (int i = 0; i < 3000; ++i)
    words.push_back(vocab[std::min(pick(rng), pick(rng))]);  // skewed, so counts differ and ties still occur
  const auto expected = naive_train(words, 150);
  const auto tok = train_bpe(words, 257 + 150);
  // Letters are their own byte-level spelling, so the vocabulary forms compare directly.
  EXPECT_EQ(tok.merges(), expected);
  EXPECT_GT(expected.size(), 50u);
}

TEST(BpeTrainer, IsDeterministicWhateverTheTextOrder) {
  auto texts = hug_corpus();
  texts.push_back("The pug hugs the bun. 1234 puns!");
  const auto a = train_bpe(texts, 300);
  std::mt19937 rng(3);
  std::shuffle(texts.begin(), texts.end(), rng);
  const auto b = train_bpe(texts, 300);
  EXPECT_EQ(a.merges(), b.merges());
}

TEST(BpeTrainer, RejectsATooSmallVocabulary) {
  try {
    train_bpe({"abc"}, 256);
    FAIL() << "expected elsa::error";
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), elsa::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("257"), std::string::npos) << e.what();
  }
}

TEST(BpeTrainer, SavedFilesLoadAndEncodeTheSame) {
  const std::vector<std::string> texts = {
    "Call me Ishmael. Some years ago - never mind how long precisely - having little or no money in my purse,",
    "and nothing particular to interest me on shore, I thought I would sail about a little and see the watery",
    "part of the world. It is a way I have of driving off the spleen, and regulating the circulation.",
    "Ünïcödé wörds, tabs\tand\n\nnewlines, 12345 numbers, it's they'll we've <|endoftext|> done."};
  const auto tok = train_bpe(texts, 400);
  const fs::path dir = fs::temp_directory_path() / ("elsa_bpe_trainer_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  tok.save(dir / "vocab.json", dir / "merges.txt");
  std::ifstream merges_in(dir / "merges.txt");
  std::string first_line;
  std::getline(merges_in, first_line);
  EXPECT_EQ(first_line, "#version: 0.2");

  const auto again = bpe_tokenizer::load(dir / "vocab.json", dir / "merges.txt");
  fs::remove_all(dir);
  EXPECT_EQ(again.vocab_size(), tok.vocab_size());
  EXPECT_EQ(again.merges(), tok.merges());
  EXPECT_EQ(again.eot_id(), static_cast<int32_t>(again.vocab_size()) - 1);
  EXPECT_EQ(again.token(again.eot_id()), "<|endoftext|>");

  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const auto& text : texts) {
    EXPECT_EQ(again.encode(text), tok.encode(text));
    EXPECT_EQ(again.decode(again.encode(text)), text);
    // Text the vocabulary was trained on compresses well.
    EXPECT_LT(again.encode(text).size(), text.size() * 2 / 3);
  }
  for (int round = 0; round < 100; ++round) {
    std::string noise;
    for (int i = 0; i < 200; ++i)
      noise += static_cast<char>(byte(rng));
    ASSERT_EQ(again.decode(again.encode(noise)), noise);
  }
}

} // namespace
