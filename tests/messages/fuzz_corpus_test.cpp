// The fuzzing oracle on the default build: the seed corpus of tests/messages/corpus/ (real messages: the
// encodings of the sample messages of every kind) and seeded mutations of it pass the oracle of
// fuzz_oracle.hpp, which the libFuzzer target (-DELSA_FUZZ=ON, messages/README.md, section Fuzzing) runs on millions of inputs.
// ELSA_WRITE_CORPUS=1 rewrites the corpus from the samples.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <iterator>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "fuzz_oracle.hpp"
#include "samples.hpp"
#include "tests/test_support.hpp"

namespace elsa::messages {
namespace {

namespace fs = std::filesystem;

fs::path corpus_dir() {
  return elsa::testing::source_dir() / "tests/messages/corpus";
}

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The corpus as it should be: every sample body of two seeds, encoded, named by kind.
std::map<std::string, payload> expected_corpus() {
  codec c;
  std::map<std::string, payload> out;
  for (uint64_t seed : {1u, 2u}) {
    int i = 0;
    for (const auto& [sender, body] : testing::all_samples(seed))
      out[fmt::format("{}_{}_{}.bin", to_string(static_cast<message_kind>(body.index())), seed, i++)]
        = c.encode_any(sender, body).value();
  }
  return out;
}

TEST(FuzzCorpus, IsTheEncodingOfRealMessagesOfEveryKind) {
  const auto want = expected_corpus();
  if (std::getenv("ELSA_WRITE_CORPUS") != nullptr) {
    fs::create_directories(corpus_dir());
    for (const auto& [name, bytes] : want)
      std::ofstream(corpus_dir() / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(corpus_dir()))
    files += e.path().extension() == ".bin" ? 1 : 0;
  EXPECT_EQ(files, want.size()) << "the corpus has files no sample gives (ELSA_WRITE_CORPUS=1 rewrites it)";
  for (const auto& [name, bytes] : want) {
    const auto have = read_bytes(corpus_dir() / name);
    ASSERT_EQ(have.size(), bytes.size()) << name;
    EXPECT_EQ(std::memcmp(have.data(), bytes.data(), have.size()), 0) << name;
  }
}

TEST(FuzzCorpus, EveryFileAndItsMutationsPassTheOracle) {
  codec c;
  std::mt19937_64 rng{314159};
  std::size_t checked = 0;
  for (const auto& e : fs::directory_iterator(corpus_dir())) {
    const auto bytes = read_bytes(e.path());
    EXPECT_TRUE(c.decode_any(payload::copy_of(bytes.data(), bytes.size())).ok()) << "a seed is a valid message";
    EXPECT_EQ(fuzz::check_bytes(c, bytes.data(), bytes.size()), "") << e.path().filename();
    // Seeded mutations of the file: bit flips, bytes, truncation; the oracle must hold for each.
    for (int i = 0; i < 300; ++i) {
      auto m = bytes;
      switch (rng() % 3) {
        case 0:
          m[rng() % m.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
          break;
        case 1:
          m[rng() % std::min<std::size_t>(m.size(), 160)] = static_cast<std::uint8_t>(rng());
          break;
        default:
          m.resize(rng() % m.size());
      }
      EXPECT_EQ(fuzz::check_bytes(c, m.data(), m.size()), "") << e.path().filename() << " mutation " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 5000u);
}

} // namespace
} // namespace elsa::messages
