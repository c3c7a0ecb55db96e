// Round trips of every message kind through the codec: values and tensor bytes come back exactly, and
// tensor data is copied once on encode and not at all on decode (it is viewed inside the payload).
#include "messages/codec.hpp"

#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "samples.hpp"

namespace elsa::messages {
namespace {

using testing::all_samples;
using testing::random_tensor;

bool points_into(const tensor_bytes& t, const payload& p) {
  return t.data() >= p.data() && t.data() + t.size_bytes() <= p.data() + p.size();
}

// All tensors of a body, for the zero-copy checks.
std::vector<const tensor_bytes*> tensors_of(const message_body& body) {
  std::vector<const tensor_bytes*> out;
  if (auto m = std::get_if<split_tensor>(&body))
    out.push_back(&m->tensor);
  if (auto m = std::get_if<adapter_update>(&body)) {
    if (auto dense = std::get_if<std::vector<named_tensor>>(&m->form))
      for (const auto& nt : *dense)
        out.push_back(&nt.tensor);
    else {
      out.push_back(&std::get<count_sketch>(m->form).table);
      for (const auto& nt : std::get<count_sketch>(m->form).exact)
        out.push_back(&nt.tensor);
    }
  }
  if (auto m = std::get_if<fingerprint>(&body)) {
    if (auto g = std::get_if<gaussian_fingerprint>(&m->form)) {
      out.push_back(&g->mean);
      out.push_back(&g->variance);
    } else {
      out.push_back(&std::get<predictive_fingerprint>(m->form).probs);
    }
  }
  return out;
}

TEST(CodecRoundTrip, EveryKindComesBackEqual) {
  codec c;
  for (const auto& [sender, body] : all_samples(42)) {
    auto kind = static_cast<message_kind>(body.index());
    SCOPED_TRACE(to_string(kind));
    auto bytes = c.encode_any(sender, body);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    auto peeked = c.peek(*bytes);
    ASSERT_TRUE(peeked.ok()) << peeked.error().message;
    EXPECT_EQ(peeked->first, kind);
    EXPECT_EQ(peeked->second, sender);
    auto back = c.decode_any(*bytes);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->sender, sender);
    EXPECT_TRUE(back->body == body);
  }
}

TEST(CodecRoundTrip, TypedDecodeMatchesEachKind) {
  codec c;
  std::mt19937_64 rng{7};
  participant client{tier::client, 5};
  auto st = testing::sample_split_tensor(rng, dtype::bf16);
  auto decoded = c.decode<split_tensor>(c.encode(client, st).value());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->body, st);
  EXPECT_EQ(decoded->body.tensor.type(), dtype::bf16);

  auto fp = testing::sample_gaussian_fingerprint(rng);
  auto fp_back = c.decode<fingerprint>(c.encode(participant{tier::client, 6}, fp).value());
  ASSERT_TRUE(fp_back.ok()) << fp_back.error().message;
  EXPECT_EQ(fp_back->body, fp);

  auto tu = testing::sample_trust_update(rng);
  auto tu_back = c.decode<trust_update>(c.encode(participant{tier::coordinator, 0}, tu).value());
  ASSERT_TRUE(tu_back.ok()) << tu_back.error().message;
  // Doubles travel bit for bit.
  for (std::size_t i = 0; i < tu.scores.size(); ++i)
    EXPECT_EQ(std::memcmp(&tu.scores[i].score, &tu_back->body.scores[i].score, sizeof(double)), 0);
}

TEST(CodecRoundTrip, TensorBytesAreExactIncludingNanPatterns) {
  codec c;
  std::mt19937_64 rng{1};
  split_tensor m = testing::sample_body_gradient(rng);
  // Signalling NaN, negative zero and a denormal: a codec that converted values would disturb them.
  std::vector<uint32_t> words(4 * 16 * 32);
  for (auto& w : words)
    w = static_cast<uint32_t>(rng());
  words[0] = 0x7f800001u;
  words[1] = 0x80000000u;
  words[2] = 0x00000001u;
  m.tensor = tensor_bytes::copy_of(dtype::f32, {4, 16, 32}, words.data(), words.size() * 4);
  auto back = c.decode<split_tensor>(c.encode(participant{tier::edge, 0}, m).value());
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->body.tensor.size_bytes(), words.size() * 4);
  EXPECT_EQ(std::memcmp(back->body.tensor.data(), words.data(), words.size() * 4), 0);
}

TEST(CodecRoundTrip, DecodedTensorsViewThePayloadBuffer) {
  codec c;
  for (const auto& [sender, body] : all_samples(3)) {
    auto bytes = c.encode_any(sender, body).value();
    auto back = c.decode_any(bytes).value();
    for (const auto* t : tensors_of(back.body)) {
      EXPECT_TRUE(points_into(*t, bytes)) << to_string(static_cast<message_kind>(body.index()));
      // The view keeps the payload's buffer alive on its own.
      EXPECT_EQ(t->owner(), bytes.owner());
      // Cap'n Proto Data starts on a word boundary, so typed views are aligned.
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t->data()) % 8, 0u);
    }
  }
}

TEST(CodecRoundTrip, DecodedTensorOutlivesThePayloadObject) {
  codec c;
  std::mt19937_64 rng{5};
  auto m = testing::sample_body_gradient(rng);
  tensor_bytes kept;
  {
    auto bytes = c.encode(participant{tier::edge, 0}, m).value();
    kept = c.decode<split_tensor>(bytes).value().body.tensor;
  }
  EXPECT_EQ(kept, m.tensor);
}

TEST(CodecRoundTrip, EncodeCopiesEachTensorByteExactlyOnce) {
  codec c;
  std::mt19937_64 rng{11};
  uint64_t expected = 0;
  for (const auto& [sender, body] : all_samples(11)) {
    for (const auto* t : tensors_of(body))
      expected += t->size_bytes();
    ASSERT_TRUE(c.encode_any(sender, body).ok());
  }
  auto stats = c.stats();
  EXPECT_EQ(stats.messages, all_samples(11).size());
  EXPECT_EQ(stats.tensor_bytes_copied, expected);
  // Aligned sources are referenced, not staged: no second copy.
  EXPECT_EQ(stats.extra_bytes_copied, 0u);
}

TEST(CodecRoundTrip, ActivationMessageHasLittleOverhead) {
  codec c;
  std::mt19937_64 rng{2};
  split_tensor m;
  m.client_id = 0;
  m.tensor = random_tensor(rng, dtype::f32, {128, 256});
  auto bytes = c.encode(participant{tier::client, 0}, m).value();
  EXPECT_GT(bytes.size(), m.tensor.size_bytes());
  EXPECT_LT(bytes.size(), m.tensor.size_bytes() + 256);
  EXPECT_EQ(c.stats().tensor_bytes_copied, m.tensor.size_bytes());
}

TEST(CodecRoundTrip, UnalignedSourceIsCopiedInlineAndCounted) {
  codec c;
  std::vector<float> storage(1 + 4 * 16 * 32);
  for (std::size_t i = 0; i < storage.size(); ++i)
    storage[i] = static_cast<float>(i) * 0.5f;
  split_tensor m;
  m.from = segment::body;
  // One float in: 4-byte aligned, not 8 (as a narrowed torch view can be).
  m.tensor = tensor_bytes::view_of(dtype::f32, {4, 16, 32}, storage.data() + 1, 4 * 16 * 32 * 4, nullptr);
  ASSERT_NE(reinterpret_cast<std::uintptr_t>(m.tensor.data()) % 8, 0u);
  auto back = c.decode<split_tensor>(c.encode(participant{tier::edge, 0}, m).value());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->body.tensor, m.tensor);
  EXPECT_EQ(c.stats().tensor_bytes_copied, m.tensor.size_bytes());
  EXPECT_EQ(c.stats().extra_bytes_copied, m.tensor.size_bytes());
}

TEST(CodecRoundTrip, ManyTensorsInOneUpdate) {
  // More tensors than the codec references as separate segments: the rest go inline, all come back.
  codec c;
  std::mt19937_64 rng{12};
  adapter_update m;
  m.round = 1;
  std::vector<named_tensor> dense;
  for (int i = 0; i < 300; ++i)
    dense.push_back({"h." + std::to_string(i) + ".lora_a", random_tensor(rng, dtype::f32, {16, 4})});
  m.form = dense;
  auto bytes = c.encode(participant{tier::client, 0}, m).value();
  auto back = c.decode<adapter_update>(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->body, m);
  EXPECT_GT(c.stats().extra_bytes_copied, 0u);
  for (const auto& nt : std::get<std::vector<named_tensor>>(back->body.form))
    EXPECT_TRUE(points_into(nt.tensor, bytes));
}

TEST(CodecRoundTrip, TensorLargerThanCapnpDefaultTraversalLimit) {
  // 80 MiB: above Cap'n Proto's default 64 MiB traversal limit, which the codec raises per message.
  codec c;
  const int64_t rows = 80 * 1024;
  std::vector<float> values(static_cast<std::size_t>(rows) * 256);
  for (std::size_t i = 0; i < values.size(); i += 4096)
    values[i] = static_cast<float>(i);
  split_tensor m;
  m.from = segment::body;
  m.tensor = tensor_bytes::view_of(dtype::f32, {rows, 256}, values.data(), values.size() * 4, nullptr);
  auto bytes = c.encode(participant{tier::edge, 0}, m);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  auto back = c.decode<split_tensor>(*bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->body.tensor, m.tensor);
}

TEST(CodecRoundTrip, UnalignedInputIsCopiedAlignedAndStillDecodes) {
  codec c;
  std::mt19937_64 rng{9};
  auto m = testing::sample_split_tensor(rng);
  auto bytes = c.encode(participant{tier::client, 5}, m).value();
  // The same bytes one byte into a buffer: Cap'n Proto cannot read them in place.
  auto storage = std::make_shared<std::vector<std::byte>>(bytes.size() + 8);
  std::memcpy(storage->data() + 1, bytes.data(), bytes.size());
  auto unaligned = payload::wrap(storage, storage->data() + 1, bytes.size());
  EXPECT_NE(unaligned.data(), storage->data() + 1) << "wrap must copy unaligned bytes";
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(unaligned.data()) % 8, 0u);
  auto back = c.decode<split_tensor>(unaligned);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->body, m);
  // Aligned external bytes are shared, not copied.
  std::memcpy(storage->data(), bytes.data(), bytes.size());
  auto aligned = payload::wrap(storage, storage->data(), bytes.size());
  EXPECT_EQ(aligned.data(), storage->data());
  auto again = c.decode<split_tensor>(aligned);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->body.tensor.data() - aligned.data(), back->body.tensor.data() - unaligned.data());
}

TEST(CodecRoundTrip, KindOfFollowsTheEnvelopeOrder) {
  EXPECT_EQ(kind_of<open_round>, message_kind::open_round);
  EXPECT_EQ(kind_of<split_tensor>, message_kind::split_tensor);
  EXPECT_EQ(kind_of<error_report>, message_kind::error_report);
  EXPECT_STREQ(to_string(kind_of<adapter_update>), "adapter_update");
  EXPECT_EQ(kind_of<peer_table>, message_kind::peer_table);
  EXPECT_STREQ(to_string(kind_of<registration>), "registration");
}

} // namespace
} // namespace elsa::messages
