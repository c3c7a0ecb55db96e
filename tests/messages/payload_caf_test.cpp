// The payload between actors: shared (not copied) inside one process, and serialised by CAF as one
// non-empty block of exactly its bytes, both alone and inside a caf::message of a registered system.
#include "messages/payload.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <gtest/gtest.h>

#include "messages/type_ids.hpp"
#include "samples.hpp"

namespace elsa::messages {
namespace {

payload activation_payload(uint64_t seed) {
  std::mt19937_64 rng{seed};
  split_tensor m;
  m.client_id = 0;
  m.tensor = testing::random_tensor(rng, dtype::f32, {128, 256});
  return codec{}.encode(participant{tier::client, 0}, m).value();
}

caf::actor_system_config& configured(caf::actor_system_config& cfg) {
  register_message_types(cfg);
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  return cfg;
}

TEST(Payload, CopiesShareTheBuffer) {
  auto p = activation_payload(1);
  auto q = p;
  EXPECT_TRUE(q.shares_buffer_with(p));
  EXPECT_EQ(q.data(), p.data());
  EXPECT_EQ(p.owner().use_count(), 2);
  auto r = payload::copy_of(p.data(), p.size());
  EXPECT_FALSE(r.shares_buffer_with(p));
  EXPECT_EQ(r, p);
}

TEST(Payload, BinarySerialiserWritesTheBytesAsOneBlock) {
  auto p = activation_payload(2);
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  ASSERT_FALSE(sink(p));
  // The known trap: a byte vector whitelisted as an unsafe type serialises to nothing.
  ASSERT_GE(buf.size(), p.size());
  EXPECT_LE(buf.size(), p.size() + 10) << "length prefix plus the bytes, nothing else";
  // The bytes appear contiguously, unchanged, right after the length prefix.
  auto prefix = buf.size() - p.size();
  EXPECT_EQ(std::memcmp(buf.data() + prefix, p.data(), p.size()), 0);

  payload back;
  caf::binary_deserializer source{nullptr, buf};
  ASSERT_FALSE(source(back));
  EXPECT_EQ(source.remaining(), 0u);
  EXPECT_EQ(back, p);
  EXPECT_FALSE(back.shares_buffer_with(p));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(back.data()) % 8, 0u);
  // And it still decodes as the message it was.
  auto decoded = codec{}.decode<split_tensor>(back);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->body.tensor.shape(), (std::vector<int64_t>{128, 256}));
}

TEST(Payload, EmptyPayloadRoundTrips) {
  payload empty;
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  ASSERT_FALSE(sink(empty));
  payload back = payload::copy_of("x", 1);
  caf::binary_deserializer source{nullptr, buf};
  ASSERT_FALSE(source(back));
  EXPECT_TRUE(back.empty());
}

TEST(Payload, CorruptLengthIsAnErrorNotAnAllocation) {
  auto p = activation_payload(3);
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  ASSERT_FALSE(sink(p));
  // Truncated stream: the length says more than is there.
  buf.resize(buf.size() / 2);
  payload back;
  caf::binary_deserializer source{nullptr, buf};
  EXPECT_TRUE(static_cast<bool>(source(back)));
  EXPECT_TRUE(back.empty());
  // A length beyond the hard limit (varbyte encoding of 2^40).
  std::vector<char> huge{'\x80', '\x80', '\x80', '\x80', '\x80', '\x20'};
  caf::binary_deserializer source2{nullptr, huge};
  EXPECT_TRUE(static_cast<bool>(source2(back)));
}

TEST(Payload, CafMessageRoundTripThroughARegisteredSystem) {
  caf::actor_system_config cfg;
  caf::actor_system sys{configured(cfg)};
  auto p = activation_payload(4);
  auto msg = caf::make_message(forward_atom::value, p);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(msg));
  EXPECT_GT(buf.size(), p.size());
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(back));
  ASSERT_TRUE((back.match_elements<caf::atom_value, payload>()));
  EXPECT_EQ(back.get_as<caf::atom_value>(0), forward_atom::value);
  EXPECT_EQ(back.get_as<payload>(1), p);
}

TEST(Payload, RegisteredUnderItsTypeName) {
  caf::actor_system_config cfg;
  caf::actor_system sys{configured(cfg)};
  auto value = sys.types().make_value("elsa::messages::payload");
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(value->stringify(), "payload(0 bytes)");
  auto err = make_caf_error(codec_error{errc::malformed_input, violation::byte_length, "split_tensor.tensor: 3 bytes"});
  auto text = sys.render(err);
  EXPECT_NE(text.find("malformed_input"), std::string::npos) << text;
  EXPECT_NE(text.find("split_tensor.tensor: 3 bytes"), std::string::npos) << text;
}

TEST(Payload, ActorsInOneProcessShareTheBuffer) {
  caf::actor_system_config cfg;
  caf::actor_system sys{configured(cfg)};
  // Replies with the address of the bytes it received.
  auto echo = sys.spawn([]() -> caf::behavior {
    return {
      [](deliver_atom, const payload& p) { return static_cast<uint64_t>(reinterpret_cast<std::uintptr_t>(p.data())); },
    };
  });
  auto p = activation_payload(5);
  caf::scoped_actor self{sys};
  uint64_t seen = 0;
  self->request(echo, caf::infinite, deliver_atom::value, p)
    .receive([&](uint64_t address) { seen = address; },
             [&](const caf::error& err) { FAIL() << sys.render(err); });
  EXPECT_EQ(seen, static_cast<uint64_t>(reinterpret_cast<std::uintptr_t>(p.data())));
  self->send_exit(echo, caf::exit_reason::user_shutdown);
}

} // namespace
} // namespace elsa::messages
