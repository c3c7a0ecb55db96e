// Seeded random mutations of valid messages: the decoder must answer every one with an error value or a
// message that passes validation (and so re-encodes), never crash or throw.
#include "messages/codec.hpp"

#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "samples.hpp"

namespace elsa::messages {
namespace {

enum class mutation { flip_bits, random_bytes, truncate, extend, zero_run, swap_words };

std::vector<std::byte> mutate(const payload& valid, std::mt19937_64& rng) {
  std::vector<std::byte> raw(valid.data(), valid.data() + valid.size());
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  switch (static_cast<mutation>(rng() % 6)) {
    case mutation::flip_bits:
      for (int i = 0, n = 1 + static_cast<int>(pick(4)); i < n; ++i)
        raw[pick(raw.size())] ^= static_cast<std::byte>(1u << pick(8));
      break;
    case mutation::random_bytes:
      // Bias towards the first 128 bytes: header, envelope, pointers and shapes live there.
      for (int i = 0, n = 1 + static_cast<int>(pick(8)); i < n; ++i)
        raw[pick(std::min<std::size_t>(raw.size(), 128))] = static_cast<std::byte>(rng() & 0xff);
      break;
    case mutation::truncate:
      raw.resize(pick(raw.size()));
      break;
    case mutation::extend:
      raw.resize(raw.size() + 8 * (1 + pick(4)), static_cast<std::byte>(rng() & 0xff));
      break;
    case mutation::zero_run: {
      auto at = pick(raw.size());
      auto len = std::min<std::size_t>(raw.size() - at, 1 + pick(16));
      std::memset(raw.data() + at, 0, len);
      break;
    }
    case mutation::swap_words: {
      auto words = raw.size() / 8;
      auto a = pick(words), b = pick(words);
      for (int k = 0; k < 8; ++k)
        std::swap(raw[a * 8 + k], raw[b * 8 + k]);
      break;
    }
  }
  return raw;
}

TEST(CodecFuzz, MutatedMessagesGiveErrorsOrValidMessages) {
  codec c;
  std::mt19937_64 rng{20240601};
  std::size_t errors = 0, accepted = 0;
  for (const auto& [sender, body] : testing::all_samples(99)) {
    auto valid = c.encode_any(sender, body).value();
    for (int i = 0; i < 400; ++i) {
      auto raw = mutate(valid, rng);
      auto bytes = payload::copy_of(raw.data(), raw.size());
      result<received<message_body>> r = codec_error{};
      ASSERT_NO_THROW(r = c.decode_any(bytes));
      if (!r.ok()) {
        ++errors;
        EXPECT_FALSE(r.error().message.empty());
        EXPECT_NE(r.error().code, errc::none);
        continue;
      }
      ++accepted;
      // Whatever the decoder accepts satisfies the encoder's rules too: the two cannot disagree.
      auto again = c.encode_any(r->sender, r->body);
      EXPECT_TRUE(again.ok()) << again.error().message;
    }
  }
  // Both outcomes occur: the mutations reach the validator and do not only break the framing.
  EXPECT_GT(errors, 1000u);
  EXPECT_GT(accepted, 100u);
}

TEST(CodecFuzz, RandomBytesWithAPlausibleHeader) {
  codec c;
  std::mt19937_64 rng{77};
  for (int i = 0; i < 2000; ++i) {
    auto words = 2 + rng() % 64;
    std::vector<uint64_t> raw(words);
    for (auto& w : raw)
      w = rng();
    raw[0] = uint64_t{words - 1} << 32;
    auto bytes = payload::copy_of(raw.data(), raw.size() * 8);
    ASSERT_NO_THROW({
      auto r = c.decode_any(bytes);
      if (r.ok()) {
        EXPECT_TRUE(c.encode_any(r->sender, r->body).ok());
      }
    });
  }
}

} // namespace
} // namespace elsa::messages
