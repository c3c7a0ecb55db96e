// The checkpoint reader's fuzz oracle on the default build: the seed corpus of tests/run/corpus/ (checkpoints of
// both roles of a sample run) and seeded mutations of it pass the oracle of checkpoint_oracle.hpp, which the
// libFuzzer target (-DELSA_FUZZ=ON, docs/faults.md, section Fuzzing) runs on many more. The mutations reach
// past the checksum: besides raw ones (caught by the header or the checksum) the payload is mutated and
// re-framed with a correct checksum, and fields of the decoded payload are swapped for values of other types.
// ELSA_WRITE_CORPUS=1 rewrites the corpus from the samples.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

#include "tests/run/checkpoint_oracle.hpp"
#include "tests/run/checkpoint_samples.hpp"
#include "tests/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace elsa::testing::checkpoints;

constexpr std::size_t header = 28;

fs::path corpus_dir() {
  return elsa::testing::source_dir() / "tests/run/corpus";
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A payload framed as a checkpoint file with its true size and checksum.
std::vector<uint8_t> framed(const std::vector<uint8_t>& payload) {
  return elsa::run::frame_payload(payload.data(), payload.size());
}

// Swaps one field (at any depth) for a value of another type.
void confuse(json& j, std::mt19937_64& rng) {
  const json replacements[] = {json(nullptr), json(-1), json(4294967296LL), json(1.5), json("x"), json::array(),
                               json::object(), json::binary({1, 2, 3}), json(true), json(std::nan(""))};
  json* at = &j;
  for (int depth = 0; depth < 6 && (at->is_object() || at->is_array()) && !at->empty(); ++depth) {
    auto it = at->begin();
    std::advance(it, static_cast<long>(rng() % at->size()));
    at = &*it;
    if (rng() % 3 == 0)
      break;
  }
  *at = replacements[rng() % std::size(replacements)];
}

TEST(CheckpointFuzz, TheCorpusIsTheSampleCheckpoints) {
  const auto want = seed_files();
  if (std::getenv("ELSA_WRITE_CORPUS") != nullptr) {
    fs::create_directories(corpus_dir());
    for (const auto& [name, bytes] : want)
      std::ofstream(corpus_dir() / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  for (const auto& [name, bytes] : want)
    EXPECT_EQ(read_bytes(corpus_dir() / name), bytes) << name << " (ELSA_WRITE_CORPUS=1 rewrites the corpus)";
}

// Payloads no mutation above is likely to make: deep nesting (a stack overflow in a recursive reader) and a
// list claiming 2^60 entries (nlohmann throws on that instead of reporting it).
TEST(CheckpointFuzz, DeepNestingAndHugeClaimedListsAreRefusedAsCorrupt) {
  const auto cfg = small_run();
  const auto check = [&](const std::vector<uint8_t>& payload, const std::string& part) {
    const auto m = framed(payload);
    EXPECT_EQ(elsa::run::fuzz::check_bytes(m.data(), m.size(), cfg), "");
    try {
      elsa::run::cloud_checkpoint_from_bytes(m.data(), m.size(), "crafted", cfg);
      ADD_FAILURE() << "accepted: " << part;
    } catch (const elsa::error& e) {
      EXPECT_NE(std::string(e.what()).find("checkpoint crafted: payload is not CBOR: " + part), std::string::npos)
        << e.what();
    }
  };
  check(std::vector<uint8_t>(200000, 0x81), "nested deeper than 32");  // [[[[...
  check({0x9B, 0x10, 0, 0, 0, 0, 0, 0, 0}, "a list claims 1152921504606846976 entries in a 9-byte payload");
  check({0xBB, 0x10, 0, 0, 0, 0, 0, 0, 0}, "a list claims");  // a map, the same
}

TEST(CheckpointFuzz, SeedsAndTheirMutationsPassTheOracle) {
  const auto cfg = small_run();
  std::mt19937_64 rng{271828};
  int accepted = 0, deep_refusals = 0, files = 0;
  for (const auto& e : fs::directory_iterator(corpus_dir())) {
    if (e.path().extension() == ".cbor") {  // a bare payload: the fuzz target's framed mode
      const auto payload = read_bytes(e.path());
      EXPECT_EQ(elsa::run::fuzz::check_payload(payload.data(), payload.size(), cfg), "") << e.path().filename();
      for (int i = 0; i < 100; ++i) {
        auto m = payload;
        m[rng() % m.size()] = static_cast<uint8_t>(rng());
        EXPECT_EQ(elsa::run::fuzz::check_payload(m.data(), m.size(), cfg), "") << e.path().filename() << " " << i;
      }
      continue;
    }
    const auto file = read_bytes(e.path());
    ++files;
    ASSERT_GT(file.size(), header) << e.path();
    EXPECT_EQ(elsa::run::fuzz::check_bytes(file.data(), file.size(), cfg), "") << e.path().filename();
    const std::vector<uint8_t> payload(file.begin() + header, file.end());
    const auto body = json::from_cbor(payload);
    for (int i = 0; i < 300; ++i) {
      std::vector<uint8_t> m;
      switch (i % 3) {
        case 0: {  // raw: a bit flip or a cut anywhere (the header or the checksum catches it)
          m = file;
          if (rng() % 2 == 0)
            m[rng() % m.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
          else
            m.resize(rng() % m.size());
          break;
        }
        case 1: {  // the payload's bytes, re-framed with a true checksum: the CBOR reader and the fields
          auto p = payload;
          for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k)
            p[rng() % p.size()] = static_cast<uint8_t>(rng());
          if (rng() % 4 == 0)
            p.resize(rng() % p.size());
          m = framed(p);
          break;
        }
        default: {  // a field of another type, re-framed: the field checks
          auto j = body;
          confuse(j, rng);
          m = framed(json::to_cbor(j));
          break;
        }
      }
      const auto why = elsa::run::fuzz::check_bytes(m.data(), m.size(), cfg);
      EXPECT_EQ(why, "") << e.path().filename() << " mutation " << i;
      bool ok = false;
      try {
        elsa::run::cloud_checkpoint_from_bytes(m.data(), m.size(), "m", cfg);
        ok = true;
      } catch (const elsa::error& err) {
        const std::string what = err.what();
        deep_refusals += what.find("checksum") == std::string::npos && what.find("truncated") == std::string::npos;
      }
      try {
        elsa::run::coordinator_checkpoint_from_bytes(m.data(), m.size(), "m", cfg);
        ok = true;
      } catch (const elsa::error&) {
      }
      accepted += ok;
    }
  }
  EXPECT_EQ(files, 8);
  // The mutations reach the fields: some are refused there, and some still are checkpoints.
  EXPECT_GT(deep_refusals, 300);
  EXPECT_GT(accepted, 20);
}

} // namespace
