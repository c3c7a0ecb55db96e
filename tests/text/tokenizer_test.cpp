// The GPT-2 tokenizer against independent references: the r50k_base cases of gpt-tokenizer's TestPlans.txt
// (fetched, not pasted), exact round trips of random bytes and real text, and clear errors on bad input.
#include "core/text/tokenizer.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/errors.hpp"
#include "tests/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using elsa::text::bpe_tokenizer;

fs::path gpt2_dir() {
  return elsa::testing::data_dir() / "gpt2";
}

// Loads the real GPT-2 vocabulary once for the whole suite (it takes ~0.1 s).
const bpe_tokenizer& gpt2() {
  static const bpe_tokenizer tok = [] {
    const fs::path vocab = gpt2_dir() / "encoder.json";
    if (!fs::exists(vocab))
      throw std::runtime_error("missing " + vocab.string() + ": run scripts/fetch_data.sh first");
    return bpe_tokenizer::load(vocab, gpt2_dir() / "vocab.bpe");
  }();
  return tok;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path.string() + ": run scripts/fetch_data.sh first");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct test_case {
  std::string encoding, sample;
  std::vector<int32_t> encoded;
};

// TestPlans.txt holds records "EncodingName: X" / "Sample: ..." / "Encoded: [...]" separated by blank lines.
// A sample runs from "Sample: " up to the "Encoded:" line, so a sample with newlines spans several lines.
std::vector<test_case> parse_test_plans(const std::string& text) {
  std::vector<test_case> cases;
  std::istringstream in(text);
  std::string line;
  test_case current;
  bool in_sample = false;
  while (std::getline(in, line)) {
    if (line.rfind("EncodingName: ", 0) == 0) {
      current = {};
      current.encoding = line.substr(14);
      in_sample = false;
    } else if (line.rfind("Sample:", 0) == 0) {
      current.sample = line.size() > 8 ? line.substr(8) : "";
      in_sample = true;
    } else if (line.rfind("Encoded: ", 0) == 0) {
      std::string list = line.substr(9);
      if (list.size() < 2 || list.front() != '[' || list.back() != ']')
        throw std::runtime_error("TestPlans.txt: bad Encoded line: " + line);
      std::istringstream ids(list.substr(1, list.size() - 2));
      std::string id;
      while (std::getline(ids, id, ','))
        current.encoded.push_back(std::stoi(id));
      cases.push_back(current);
      in_sample = false;
    } else if (in_sample) {
      current.sample += "\n" + line;
    }
  }
  return cases;
}

std::string join(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids)
    out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}

fs::path temp_root() {
  return fs::temp_directory_path() / ("elsa_tokenizer_test_" + std::to_string(::getpid()));
}

fs::path temp_dir(const std::string& name) {
  fs::path dir = temp_root() / name;
  fs::create_directories(dir);
  return dir;
}

// Removes this process's scratch folder when the suite ends.
struct scratch_cleanup : ::testing::Environment {
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(temp_root(), ec);
  }
};
const auto* const cleanup = ::testing::AddGlobalTestEnvironment(new scratch_cleanup);

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Runs f, expecting elsa::error with the given code, and returns its message.
template <class F>
std::string error_of(F&& f, elsa::errc code) {
  try {
    f();
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no elsa::error thrown";
  return {};
}

// -- agreement with GPT-2 -------------------------------------------------------

TEST(Gpt2Tokenizer, PassesAllR50kTestPlans) {
  const auto cases = parse_test_plans(read_all(elsa::testing::data_dir() / "gpt-tokenizer" / "TestPlans.txt"));
  size_t seen = 0;
  for (const auto& c : cases) {
    if (c.encoding != "r50k_base")
      continue;
    ++seen;
    EXPECT_EQ(join(gpt2().encode(c.sample)), join(c.encoded)) << "sample: " << c.sample;
    EXPECT_EQ(gpt2().decode(c.encoded), c.sample);
  }
  EXPECT_EQ(seen, 64u) << "TestPlans.txt should hold 64 r50k_base cases";
}

TEST(Gpt2Tokenizer, KnowsItsSpecialToken) {
  const auto& tok = gpt2();
  EXPECT_EQ(tok.vocab_size(), 50257u);
  EXPECT_EQ(tok.eot_id(), 50256);
  EXPECT_EQ(tok.token_id("<|endoftext|>"), 50256);
  EXPECT_EQ(tok.token_id("Ġthe"), 262);
  EXPECT_FALSE(tok.token_id("no such token").has_value());
  const auto with = tok.encode("hello<|endoftext|> world");
  EXPECT_EQ(join(with), "31373 50256 995");
  const auto without = tok.encode_ordinary("hello<|endoftext|> world");
  EXPECT_EQ(std::count(without.begin(), without.end(), 50256), 0);
  EXPECT_EQ(tok.decode(with), "hello<|endoftext|> world");
  EXPECT_EQ(tok.decode(without), "hello<|endoftext|> world");
}

// -- round trips -----------------------------------------------------------------

TEST(Gpt2Tokenizer, RoundTripsRandomBytes) {
  std::mt19937 rng(20261124);
  // Mixes of raw bytes (mostly invalid UTF-8), ASCII with spaces, and UTF-8 fragments cut mid-sequence.
  const std::vector<std::string> alphabet = {"a", "Z", " ", "  ", "\n", "\t", "'s", "'", "7", "!", "é", "€", "𝄞",
                                             "\xe2\x82", "\xf0\x9d", "\x80", "\xff", "\xc0\xaf", "\xed\xa0\x80",
                                             "\xc2\x85", "\xe3\x80\x80", "<|endoftext|>", "<|"};
  std::uniform_int_distribution<int> byte(0, 255), len(0, 300), pick(0, static_cast<int>(alphabet.size()) - 1),
    mode(0, 2);
  for (int round = 0; round < 400; ++round) {
    std::string text;
    const int n = len(rng);
    const int m = mode(rng);
    for (int i = 0; i < n; ++i) {
      if (m == 0)
        text += static_cast<char>(byte(rng));
      else if (m == 1)
        text += alphabet[pick(rng)];
      else
        text += (i % 5 == 0) ? static_cast<char>(byte(rng)) : static_cast<char>('a' + byte(rng) % 26);
    }
    ASSERT_EQ(gpt2().decode(gpt2().encode(text)), text) << "round " << round;
    ASSERT_EQ(gpt2().decode(gpt2().encode_ordinary(text)), text) << "round " << round;
  }
}

TEST(Gpt2Tokenizer, EncodesInvalidBytesOneByOne) {
  // 0xFF never occurs in UTF-8, so it is a piece of its own: the byte token that spells it, 'ÿ'.
  const auto ids = gpt2().encode("\xff");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(gpt2().token(ids[0]), "ÿ");
  EXPECT_EQ(gpt2().decode(gpt2().encode("ab\xff\xfe cd")), "ab\xff\xfe cd");
}

TEST(Gpt2Tokenizer, RoundTripsLongPieces) {
  // Long single pieces exercise the heap merge; the result must still spell the input exactly.
  const std::string letters(5000, 'a');
  const std::string spaces(3000, ' ');
  const std::string punct(4000, '!');
  for (const auto& text : {letters, spaces + "x", punct, letters + spaces + punct})
    EXPECT_EQ(gpt2().decode(gpt2().encode(text)), text);
  // GPT-2 merges "a a" (rank 6996) before "aa aa" (24538) and has no "aaaa aaaa": 5000 a's are 1250 "aaaa"
  // tokens, as OpenAI's encoder.py gives.
  const auto ids = gpt2().encode(letters);
  ASSERT_EQ(ids.size(), 1250u);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), *gpt2().token_id("aaaa")), 1250);
}

TEST(Gpt2Tokenizer, RoundTripsRealText) {
  const fs::path moby = elsa::testing::data_dir() / "moby-dick" / "data" / "data.txt";
  const std::string text = read_all(moby).substr(0, 300000);
  const auto ids = gpt2().encode(text);
  EXPECT_EQ(gpt2().decode(ids), text);
  // English prose is about 4 bytes per GPT-2 token; far off means the merges are not applied.
  EXPECT_GT(static_cast<double>(text.size()) / ids.size(), 3.5);
  // A raw e-mail carries headers, odd spacing and sometimes non-UTF-8 bytes.
  const fs::path spam = elsa::testing::data_dir() / "spam-assassin" / "data" / "spam-2";
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(spam)) {
    if (entry.path().extension() != ".txt" || ++files > 40)
      continue;
    const std::string mail = read_all(entry.path());
    ASSERT_EQ(gpt2().decode(gpt2().encode(mail)), mail) << entry.path();
  }
  EXPECT_GT(files, 40u) << "expected the SpamAssassin spam-2 folder under " << spam;
}

TEST(Gpt2Tokenizer, EncodesTheSameFromManyThreads) {
  // Each thread has its own piece cache; a shared tokenizer must give every thread the same ids.
  const std::string text = read_all(elsa::testing::data_dir() / "moby-dick" / "data" / "data.txt").substr(0, 100000);
  const auto expected = gpt2().encode(text);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&got, &text, t] {
      for (int pass = 0; pass < 2; ++pass)
        got[t] = gpt2().encode(text);
    });
  for (auto& th : threads)
    th.join();
  for (const auto& ids : got)
    EXPECT_EQ(ids, expected);
}

// -- bad input -------------------------------------------------------------------

TEST(Gpt2Tokenizer, MissingFileNamesThePath) {
  const auto msg = error_of([] { bpe_tokenizer::load("/nonexistent/encoder.json", gpt2_dir() / "vocab.bpe"); },
                            elsa::errc::file_not_found);
  EXPECT_NE(msg.find("/nonexistent/encoder.json"), std::string::npos) << msg;
  const auto msg2 = error_of([] { bpe_tokenizer::load(gpt2_dir() / "encoder.json", "/nonexistent/vocab.bpe"); },
                             elsa::errc::file_not_found);
  EXPECT_NE(msg2.find("/nonexistent/vocab.bpe"), std::string::npos) << msg2;
}

TEST(Gpt2Tokenizer, TruncatedVocabularyIsMalformed) {
  const fs::path dir = temp_dir("truncated");
  const std::string full = read_all(gpt2_dir() / "encoder.json");
  write_file(dir / "encoder.json", full.substr(0, full.size() / 2));
  const auto msg = error_of([&] { bpe_tokenizer::load(dir / "encoder.json", gpt2_dir() / "vocab.bpe"); },
                            elsa::errc::malformed_input);
  EXPECT_NE(msg.find((dir / "encoder.json").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(Gpt2Tokenizer, MalformedMergesLineNamesFileAndLine) {
  const fs::path dir = temp_dir("merges");
  std::string merges = read_all(gpt2_dir() / "vocab.bpe");
  // Break line 4 (the header is line 1): "a b" becomes "a  b c".
  size_t pos = 0;
  for (int i = 0; i < 3; ++i)
    pos = merges.find('\n', pos) + 1;
  merges.insert(merges.find('\n', pos), " c");
  write_file(dir / "vocab.bpe", merges);
  const auto msg = error_of([&] { bpe_tokenizer::load(gpt2_dir() / "encoder.json", dir / "vocab.bpe"); },
                            elsa::errc::malformed_input);
  EXPECT_NE(msg.find((dir / "vocab.bpe").string() + ":4:"), std::string::npos) << msg;

  // A merge whose tokens the vocabulary lacks, on line 3.
  write_file(dir / "unknown.bpe", "#version: 0.2\nĠ t\nq \xe2\x82\xac\xe2\x82\xac\n");
  const auto msg2 = error_of([&] { bpe_tokenizer::load(gpt2_dir() / "encoder.json", dir / "unknown.bpe"); },
                             elsa::errc::malformed_input);
  EXPECT_NE(msg2.find((dir / "unknown.bpe").string() + ":3:"), std::string::npos) << msg2;
  EXPECT_NE(msg2.find("not in the vocabulary"), std::string::npos) << msg2;
}

TEST(Gpt2Tokenizer, DecodeRejectsUnknownIds) {
  const auto msg = error_of([] { gpt2().decode({31373, 50257}); }, elsa::errc::invalid_argument);
  EXPECT_NE(msg.find("50257"), std::string::npos) << msg;
  EXPECT_NE(msg.find("position 1"), std::string::npos) << msg;
  error_of([] { gpt2().decode({-1}); }, elsa::errc::invalid_argument);
}

TEST(Gpt2Tokenizer, SaveThenLoadGivesTheSameTokenizer) {
  const fs::path dir = temp_dir("save");
  gpt2().save(dir / "vocab.json", dir / "merges.txt");
  const auto again = bpe_tokenizer::load(dir / "vocab.json", dir / "merges.txt");
  EXPECT_EQ(again.vocab_size(), gpt2().vocab_size());
  EXPECT_EQ(again.merges(), gpt2().merges());
  const std::string text = "The quick brown fox jumps over 13 lazy dogs. 🌍\n\n  x";
  EXPECT_EQ(again.encode(text), gpt2().encode(text));
}

} // namespace
