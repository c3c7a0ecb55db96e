// The data plane beside BASP (actors/data_plane.hpp), over real loopback sockets: with it installed, CAF's
// serialiser writes a ticket instead of a large payload's bytes, and the deserialiser of another process
// (here: another data plane in this one) fetches exactly those bytes, once; small payloads stay inline; a
// ticket without a data plane, a ticket fetched twice and a holder that is gone are one-line errors; with TLS
// only a node with a certificate from the run's CA gets the bytes; a wildcard host is redeemed at the join
// address.
#include "actors/data_plane.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <gtest/gtest.h>

#include "tests/test_support.hpp"

namespace elsa::actors {
namespace {

namespace fs = std::filesystem;
using messages::payload;

payload random_payload(std::size_t n, uint64_t seed) {
  std::vector<unsigned char> bytes(n);
  std::mt19937_64 rng{seed};
  for (auto& b : bytes)
    b = static_cast<unsigned char>(rng());
  return payload::copy_of(bytes.data(), bytes.size());
}

run::run_config plain(int64_t min_bytes = 1024) {
  run::run_config cfg;
  cfg.tls = false;
  cfg.data_plane_min_bytes = min_bytes;
  return cfg;
}

// What CAF writes for `p` with `offload` installed (nullptr: none).
std::vector<char> serialise(payload p, data_plane* offload) {
  if (offload != nullptr)
    offload->install();
  else
    messages::set_payload_offload(nullptr);
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  EXPECT_FALSE(sink(p));
  messages::set_payload_offload(nullptr);
  return buf;
}

// What CAF reads back from `buf` with `offload` installed: the payload or the error's text.
caf::expected<payload> deserialise(const std::vector<char>& buf, data_plane* offload) {
  if (offload != nullptr)
    offload->install();
  payload back;
  caf::binary_deserializer source{nullptr, buf};
  auto err = source(back);
  messages::set_payload_offload(nullptr);
  if (err)
    return err;
  return back;
}

std::string text(const caf::error& e) {
  return caf::to_string(e);
}

TEST(DataPlane, ALargePayloadCrossesAsATicketAndIsFetchedOnce) {
  data_plane sender(plain(), "127.0.0.1", "");
  data_plane receiver(plain(), "127.0.0.1", "");
  const auto p = random_payload(3 << 20, 1);
  const auto wire = serialise(p, &sender);
  EXPECT_LT(wire.size(), 100u) << "a ticket, not 3 MiB";
  EXPECT_EQ(sender.stats().held, 1u);
  auto back = deserialise(wire, &receiver);
  ASSERT_TRUE(back) << text(back.error());
  EXPECT_EQ(*back, p);
  EXPECT_FALSE(back->shares_buffer_with(p));
  EXPECT_EQ(sender.stats().served, 1u);
  EXPECT_EQ(receiver.stats().fetched, 1u);
  // A ticket is served once: the same bytes again (a replay) are refused, in one line.
  auto again = deserialise(wire, &receiver);
  ASSERT_FALSE(again);
  EXPECT_NE(text(again.error()).find("does not have that ticket"), std::string::npos) << text(again.error());
  // Many in a row reuse the receiver's connection.
  for (uint64_t seed = 2; seed < 6; ++seed) {
    const auto q = random_payload(100000 + seed, seed);
    auto got = deserialise(serialise(q, &sender), &receiver);
    ASSERT_TRUE(got) << text(got.error());
    EXPECT_EQ(*got, q);
  }
  EXPECT_EQ(sender.stats().served, 5u);
  EXPECT_EQ(receiver.stats().connections, 1u) << "one connection to the holder, kept";
  EXPECT_EQ(receiver.stats().failed, 1u) << "the replay";
}

TEST(DataPlane, ATicketWhoseSizeWasChangedIsNotServed) {
  data_plane sender(plain(), "127.0.0.1", "");
  data_plane receiver(plain(), "127.0.0.1", "");
  const auto wire = serialise(random_payload(200000, 13), &sender);
  // Read the real ticket, then write it again one byte longer.
  caf::binary_deserializer source{nullptr, wire};
  std::size_t marker = 0;
  messages::payload_ticket t;
  ASSERT_FALSE(source.begin_sequence(marker));
  ASSERT_EQ(marker, messages::max_wire_payload_bytes + 1);
  ASSERT_FALSE(source(t.id_hi, t.id_lo, t.size, t.host, t.port));
  ASSERT_EQ(t.size, 200000u);
  std::vector<char> forged;
  caf::binary_serializer sink{nullptr, forged};
  ASSERT_FALSE(sink.begin_sequence(marker));
  ASSERT_FALSE(sink(t.id_hi, t.id_lo, t.size + 1, t.host, t.port));
  ASSERT_FALSE(sink.end_sequence());
  auto got = deserialise(forged, &receiver);
  ASSERT_FALSE(got);
  EXPECT_NE(text(got.error()).find("does not have that ticket"), std::string::npos) << text(got.error());
  EXPECT_EQ(sender.stats().served, 0u);
  // The real ticket still works (the forged request did not consume it).
  auto real = deserialise(wire, &receiver);
  ASSERT_TRUE(real) << text(real.error());
  EXPECT_EQ(real->size(), 200000u);
}

TEST(DataPlane, SmallPayloadsAndProcessesWithoutItStayInline) {
  data_plane sender(plain(4096), "127.0.0.1", "");
  const auto small = random_payload(4095, 7);
  const auto wire = serialise(small, &sender);
  EXPECT_GE(wire.size(), small.size()) << "under data_plane_min_bytes: the bytes themselves";
  auto back = deserialise(wire, nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, small);
  EXPECT_EQ(sender.stats().held, 0u);
  // Without an offload installed nothing is held, whatever the size.
  const auto big = random_payload(1 << 20, 8);
  const auto inline_wire = serialise(big, nullptr);
  EXPECT_GE(inline_wire.size(), big.size());
  ASSERT_TRUE(deserialise(inline_wire, nullptr));
}

TEST(DataPlane, ATicketWithoutADataPlaneOrFromAHolderThatIsGoneIsAnError) {
  auto holder = std::make_unique<data_plane>(plain(), "127.0.0.1", "");
  const auto wire = serialise(random_payload(1 << 16, 9), holder.get());
  auto none = deserialise(wire, nullptr);
  ASSERT_FALSE(none);
  EXPECT_NE(text(none.error()).find("no data plane"), std::string::npos) << text(none.error());
  holder.reset();  // its process went away
  data_plane receiver(plain(), "127.0.0.1", "");
  auto gone = deserialise(wire, &receiver);
  ASSERT_FALSE(gone);
  EXPECT_NE(text(gone.error()).find("cannot fetch 65536 bytes from 127.0.0.1:"), std::string::npos)
    << text(gone.error());
  // A forged ticket larger than any payload is refused before anything is allocated or fetched.
  std::vector<char> forged;
  caf::binary_serializer sink{nullptr, forged};
  auto marker = messages::max_wire_payload_bytes + 1;
  ASSERT_FALSE(sink.begin_sequence(marker));
  ASSERT_FALSE(sink(uint64_t{1}, uint64_t{2}, uint64_t{1} << 40, std::string("127.0.0.1"), uint16_t{1}));
  ASSERT_FALSE(sink.end_sequence());
  auto huge = deserialise(forged, &receiver);
  ASSERT_FALSE(huge);
  EXPECT_NE(text(huge.error()).find("exceeds the limit"), std::string::npos) << text(huge.error());
}

TEST(DataPlane, AWildcardHostIsRedeemedAtTheJoinAddress) {
  data_plane sender(plain(), "0.0.0.0", "");  // the rendezvous on every interface, unadvertised
  data_plane receiver(plain(), "127.0.0.1", "");
  receiver.redeem_wildcard_at("127.0.0.1");
  const auto p = random_payload(70000, 10);
  auto back = deserialise(serialise(p, &sender), &receiver);
  ASSERT_TRUE(back) << text(back.error());
  EXPECT_EQ(*back, p);
}

TEST(DataPlane, WithTlsOnlyANodeOfTheRunsCaGetsTheBytes) {
  const auto dir = fs::path(::testing::TempDir()) / "elsa-data-plane-certs";
  fs::remove_all(dir);
  ASSERT_TRUE(elsa::testing::make_certs(dir / "run", "a b"));
  ASSERT_TRUE(elsa::testing::make_certs(dir / "other", "c"));
  auto tls = [&](const std::string& ca, const std::string& name) {
    run::run_config cfg = plain();
    cfg.tls = true;
    cfg.certificate = dir / ca / (name + ".pem");
    cfg.key = dir / ca / (name + ".key");
    cfg.cafile = dir / ca / "ca.pem";
    return cfg;
  };
  data_plane a(tls("run", "a"), "127.0.0.1", "");
  data_plane b(tls("run", "b"), "127.0.0.1", "");
  const auto p = random_payload(1 << 20, 11);
  auto back = deserialise(serialise(p, &a), &b);
  ASSERT_TRUE(back) << text(back.error());
  EXPECT_EQ(*back, p);
  // A node whose certificate another CA signed, and a plaintext one, get nothing; the ticket stays unserved.
  data_plane stranger(tls("other", "c"), "127.0.0.1", "");
  const auto wire = serialise(random_payload(1 << 16, 12), &a);
  auto refused = deserialise(wire, &stranger);
  ASSERT_FALSE(refused);
  EXPECT_NE(text(refused.error()).find("TLS handshake failed"), std::string::npos) << text(refused.error());
  data_plane plaintext(plain(), "127.0.0.1", "");
  EXPECT_FALSE(deserialise(wire, &plaintext));
  // One that trusts the run's CA but shows another CA's certificate: it accepts a's, a refuses it.
  auto mixed = tls("other", "c");
  mixed.cafile = dir / "run" / "ca.pem";
  data_plane impostor(mixed, "127.0.0.1", "");
  const auto refused_before = a.stats().refused;
  EXPECT_FALSE(deserialise(wire, &impostor));
  for (int i = 0; i < 100 && a.stats().refused == refused_before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a's handshake thread counts it
  EXPECT_GT(a.stats().refused, refused_before) << "a's side refused the certificate";
  EXPECT_EQ(a.stats().served, 1u);
  // The rightful receiver still gets the payload the strangers asked for.
  auto rightful = deserialise(wire, &b);
  ASSERT_TRUE(rightful) << text(rightful.error());
  fs::remove_all(dir);
}

} // namespace
} // namespace elsa::actors
