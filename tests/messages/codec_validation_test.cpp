// Every validation rule of the decoder (and the encoder's matching refusals) gives its own error value
// with a message that names the field: garbage, truncation, wrong kind, unknown enums, ids, limits.
#include "messages/codec.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "samples.hpp"

namespace elsa::messages {
namespace {

using testing::craft;
using testing::craft_tensor;

// Checks that `r` failed with `rule`, and that its message mentions `needle`.
template <class T>
void expect_failure(const result<T>& r, violation rule, const std::string& needle) {
  ASSERT_FALSE(r.ok()) << "expected " << to_string(rule) << ", but the message was accepted";
  EXPECT_EQ(r.error().rule, rule) << r.error().message;
  EXPECT_NE(r.error().message.find(needle), std::string::npos)
    << "message \"" << r.error().message << "\" does not mention \"" << needle << "\"";
}

payload valid_split(uint64_t seed = 1) {
  std::mt19937_64 rng{seed};
  return codec{}.encode(participant{tier::client, 5}, testing::sample_split_tensor(rng)).value();
}

codec_limits lenient() {
  codec_limits l;
  l.max_clients = 1u << 30;
  l.max_edges = 1u << 30;
  l.max_clusters = 1u << 30;
  l.max_rank = 32;
  l.max_list = 1u << 30;
  l.max_text_bytes = 1u << 30;
  return l;
}

// -- not a message ----------------------------------------------------------------

TEST(CodecValidation, GarbageBytesAreNotAMessage) {
  std::mt19937_64 rng{123};
  std::vector<uint64_t> words(64);
  for (auto& w : words)
    w = rng();
  // A plausible single-segment header so the reader gets past it to the (garbage) root pointer.
  words[0] = uint64_t{63} << 32;
  auto bytes = payload::copy_of(words.data(), words.size() * 8);
  auto r = codec{}.decode<split_tensor>(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::malformed_input);
}

TEST(CodecValidation, EmptyAndOddLengthPayloads) {
  codec c;
  expect_failure(c.decode<heartbeat>(payload{}), violation::not_a_message, "empty");
  auto valid = valid_split();
  auto odd = payload::copy_of(valid.data(), valid.size() - 3);
  expect_failure(c.decode<split_tensor>(odd), violation::not_a_message, "8-byte words");
}

TEST(CodecValidation, TruncatedMessage) {
  auto valid = valid_split();
  auto cut = payload::copy_of(valid.data(), valid.size() - 64);
  expect_failure(codec{}.decode<split_tensor>(cut), violation::not_a_message, "not a valid Cap'n Proto message");
}

TEST(CodecValidation, SegmentTableClaimingMoreThanThereIs) {
  uint32_t header[2] = {0, 1u << 30};
  auto bytes = payload::copy_of(header, sizeof(header));
  expect_failure(codec{}.decode_any(bytes), violation::not_a_message, "decode");
}

TEST(CodecValidation, TrailingBytes) {
  auto valid = valid_split();
  std::vector<std::byte> longer(valid.size() + 16);
  std::memcpy(longer.data(), valid.data(), valid.size());
  auto bytes = payload::copy_of(longer.data(), longer.size());
  expect_failure(codec{}.decode<split_tensor>(bytes), violation::trailing_bytes, "16 bytes follow");
}

TEST(CodecValidation, MessageLargerThanTheLimit) {
  codec_limits small;
  small.max_message_bytes = 1024;
  auto r = codec{small}.decode<split_tensor>(valid_split());
  expect_failure(r, violation::too_large, "max_message_bytes");
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  // The encoder refuses to produce it in the first place.
  std::mt19937_64 rng{1};
  expect_failure(codec{small}.encode(participant{tier::client, 5}, testing::sample_split_tensor(rng)),
                 violation::too_large, "max_message_bytes");
}

// -- envelope -----------------------------------------------------------------------

TEST(CodecValidation, WrongVersion) {
  auto bytes = craft([](wire::Envelope::Builder env) {
    env.setVersion(2);
    env.getBody().initHeartbeat();
  });
  expect_failure(codec{}.decode<heartbeat>(bytes), violation::wrong_version, "wire version 2");
}

TEST(CodecValidation, WrongKind) {
  std::mt19937_64 rng{1};
  auto hb = codec{}.encode(participant{tier::edge, 0}, testing::sample_heartbeat(rng)).value();
  auto r = codec{}.decode<split_tensor>(hb);
  expect_failure(r, violation::wrong_kind, "expected a split_tensor message, got a heartbeat");
  EXPECT_EQ(r.error().code, errc::malformed_input);
}

TEST(CodecValidation, UnknownBodyKindFromANewerSender) {
  // The union tag sits right after the 16-bit version in the envelope's data section, the word after the
  // root pointer at the start of segment 0. Patch it past the last known kind.
  auto valid = valid_split();
  std::vector<std::byte> raw(valid.data(), valid.data() + valid.size());
  uint32_t segments = 0;
  std::memcpy(&segments, raw.data(), 4);
  std::size_t envelope_at = ((segments + 1 + 2) / 2 + 1) * 8;
  uint16_t version = 0;
  std::memcpy(&version, raw.data() + envelope_at, 2);
  ASSERT_EQ(version, 1) << "layout assumption broken: version not at byte " << envelope_at;
  uint16_t tag = 42;
  std::memcpy(raw.data() + envelope_at + 2, &tag, 2);
  auto bytes = payload::copy_of(raw.data(), raw.size());
  expect_failure(codec{}.decode_any(bytes), violation::unknown_enum, "unknown message kind 42");
  expect_failure(codec{}.peek(bytes), violation::unknown_enum, "unknown message kind 42");
}

TEST(CodecValidation, UnknownSenderTier) {
  auto bytes = craft([](wire::Envelope::Builder env) {
    env.getSender().setTier(static_cast<wire::Tier>(9));
    env.getBody().initHeartbeat();
  });
  expect_failure(codec{}.decode<heartbeat>(bytes), violation::unknown_enum, "envelope.sender.tier");
}

TEST(CodecValidation, SenderIdOutOfRange) {
  auto bytes = craft([](wire::Envelope::Builder env) {
    env.getSender().setTier(wire::Tier::EDGE);
    env.getSender().setId(300);
    env.getBody().initHeartbeat();
  });
  auto r = codec{}.decode<heartbeat>(bytes);
  expect_failure(r, violation::id_out_of_range, "edge id 300");
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  auto cloud = craft([](wire::Envelope::Builder env) {
    env.getSender().setTier(wire::Tier::CLOUD);
    env.getSender().setId(1);
    env.getBody().initHeartbeat();
  });
  expect_failure(codec{}.decode<heartbeat>(cloud), violation::id_out_of_range, "is not 0");
}

// -- tensors --------------------------------------------------------------------------

TEST(CodecValidation, ByteLengthMustMatchShapeTimesDtype) {
  auto bytes = craft([](wire::Envelope::Builder env) {
    auto st = env.getBody().initSplitTensor();
    craft_tensor(st.initTensor(), {2, 3, 4}, 2 * 3 * 4 * 4 - 4);
  });
  expect_failure(codec{}.decode<split_tensor>(bytes), violation::byte_length,
                 "split_tensor.tensor: 92 data bytes, but shape [2, 3, 4] of f32 needs exactly 96");
}

TEST(CodecValidation, EncoderRefusesAMismatchedTensorWithoutThrowing) {
  split_tensor m;
  std::vector<float> values(10);
  m.tensor = tensor_bytes::view_of(dtype::f32, {3, 4}, values.data(), values.size() * 4, nullptr);
  auto r = codec{}.encode(participant{tier::client, 0}, m);
  expect_failure(r, violation::byte_length, "needs exactly 48");
  EXPECT_THROW(r.value(), elsa::error);
}

TEST(CodecValidation, UnknownDtype) {
  auto bytes = craft([](wire::Envelope::Builder env) {
    auto t = env.getBody().initSplitTensor().initTensor();
    craft_tensor(t, {4}, 16);
    t.setDtype(static_cast<wire::DType>(7));
  });
  expect_failure(codec{}.decode<split_tensor>(bytes), violation::unknown_enum,
                 "split_tensor.tensor.dtype: unknown enum value 7");
}

TEST(CodecValidation, RankLimit) {
  auto bytes = craft([](wire::Envelope::Builder env) {
    craft_tensor(env.getBody().initSplitTensor().initTensor(), {1, 1, 1, 1, 1, 1, 1, 1, 1}, 4);
  });
  expect_failure(codec{}.decode<split_tensor>(bytes), violation::rank_limit, "rank 9 exceeds the limit of 8");
}

TEST(CodecValidation, ElementLimitAndOverflowingShapes) {
  codec_limits small;
  small.max_tensor_elements = 1000;
  auto bytes = craft([](wire::Envelope::Builder env) {
    craft_tensor(env.getBody().initSplitTensor().initTensor(), {40, 40}, 40 * 40 * 4);
  });
  expect_failure(codec{small}.decode<split_tensor>(bytes), violation::element_limit, "max_tensor_elements");
  // Dimensions whose product overflows 64 bits must not wrap around into a "valid" small size.
  auto overflow = craft([](wire::Envelope::Builder env) {
    craft_tensor(env.getBody().initSplitTensor().initTensor(), {uint64_t{1} << 40, uint64_t{1} << 40, 0}, 0);
  });
  expect_failure(codec{}.decode<split_tensor>(overflow), violation::element_limit, "dimension");
  auto product = craft([](wire::Envelope::Builder env) {
    craft_tensor(env.getBody().initSplitTensor().initTensor(), {1u << 20, 1u << 20}, 0);
  });
  expect_failure(codec{}.decode<split_tensor>(product), violation::element_limit, "[1048576, 1048576]");
}

// -- ids, enums and lists in bodies ------------------------------------------------------

TEST(CodecValidation, ClientIdOutOfRangeInBody) {
  std::mt19937_64 rng{4};
  auto m = testing::sample_open_round(rng);
  m.assignments[2].client_id = 99;
  auto bytes = codec{lenient()}.encode(participant{tier::cloud, 0}, m).value();
  codec_limits strict;
  strict.max_clients = 8;
  expect_failure(codec{strict}.decode<open_round>(bytes), violation::id_out_of_range,
                 "open_round.assignments[2].client_id: client id 99 is out of range (clients are 0..8-1)");
  expect_failure(codec{strict}.encode(participant{tier::cloud, 0}, m), violation::id_out_of_range,
                 "client id 99");
}

TEST(CodecValidation, EdgeAndClusterIdsOutOfRange) {
  assignment_update m{1, assignment_reason::recluster, {{0, 7, 0}}};
  auto bytes = codec{lenient()}.encode(participant{tier::coordinator, 0}, m).value();
  codec_limits strict;
  strict.max_edges = 2;
  expect_failure(codec{strict}.decode<assignment_update>(bytes), violation::id_out_of_range, "edge id 7");
  m.assignments[0] = {0, 0, 500};
  bytes = codec{lenient()}.encode(participant{tier::coordinator, 0}, m).value();
  expect_failure(codec{}.decode<assignment_update>(bytes), violation::id_out_of_range, "cluster id 500");
}

TEST(CodecValidation, UnknownEnumsInBodies) {
  auto close = craft([](wire::Envelope::Builder env) {
    env.getSender().setTier(wire::Tier::CLOUD);
    env.getBody().initCloseRound().setReason(static_cast<wire::CloseReason>(4));
  });
  expect_failure(codec{}.decode<close_round>(close), violation::unknown_enum, "close_round.reason");
  auto segment = craft([](wire::Envelope::Builder env) {
    auto st = env.getBody().initSplitTensor();
    st.setSegment(static_cast<wire::Segment>(3));
    craft_tensor(st.initTensor(), {1}, 4);
  });
  expect_failure(codec{}.decode<split_tensor>(segment), violation::unknown_enum, "split_tensor.segment");
  auto report = craft([](wire::Envelope::Builder env) {
    env.getBody().initErrorReport().setCode(static_cast<wire::ErrorCode>(200));
  });
  expect_failure(codec{}.decode<error_report>(report), violation::unknown_enum, "error_report.code");
}

TEST(CodecValidation, ListLimit) {
  std::mt19937_64 rng{4};
  auto m = testing::sample_trust_update(rng);
  auto bytes = codec{}.encode(participant{tier::coordinator, 0}, m).value();
  codec_limits strict;
  strict.max_list = 4;
  expect_failure(codec{strict}.decode<trust_update>(bytes), violation::list_limit,
                 "trust_update.scores: 8 entries, more than the limit of 4");
}

TEST(CodecValidation, TextLimitAndEmptyNames) {
  error_report m{report_code::internal, 0, std::string(5000, 'x')};
  auto bytes = codec{lenient()}.encode(participant{tier::edge, 0}, m).value();
  expect_failure(codec{}.decode<error_report>(bytes), violation::text_limit,
                 "error_report.text: 5000 bytes, more than the limit of 4096");
  std::mt19937_64 rng{1};
  auto update = testing::sample_dense_update(rng);
  std::get<std::vector<named_tensor>>(update.form)[1].name.clear();
  expect_failure(codec{}.encode(participant{tier::client, 0}, update), violation::text_limit,
                 "adapter_update.dense[1].name: must not be empty");
}

TEST(CodecValidation, NulBytesInTextsAreRefusedOnBothSides) {
  // Regression: the encoder cut texts at the first NUL and the decoder kept them whole, so two names that
  // differ after a NUL encoded and then failed to decode as a duplicate.
  std::mt19937_64 rng{2};
  auto update = testing::sample_dense_update(rng);
  auto& dense = std::get<std::vector<named_tensor>>(update.form);
  dense[0].name = std::string("w\0a", 3);
  dense[1].name = std::string("w\0b", 3);
  expect_failure(codec{}.encode(participant{tier::client, 0}, update), violation::text_limit,
                 "adapter_update.dense[0].name: holds a NUL byte at offset 1");
  auto crafted = craft([](wire::Envelope::Builder env) {
    env.getSender().setTier(wire::Tier::EDGE);
    env.getBody().initErrorReport().setText(capnp::Text::Reader("bad\0text", 8));
  });
  expect_failure(codec{}.decode<error_report>(crafted), violation::text_limit,
                 "error_report.text: holds a NUL byte at offset 3");
}

// -- consistency and value ranges -------------------------------------------------------

TEST(CodecValidation, SeqLengthsMustMatchTheBatch) {
  auto bytes = craft([](wire::Envelope::Builder env) {
    auto st = env.getBody().initSplitTensor();
    craft_tensor(st.initTensor(), {2, 3, 4}, 96);
    auto lengths = st.initSeqLengths(3);
    lengths.set(0, 1);
  });
  expect_failure(codec{}.decode<split_tensor>(bytes), violation::inconsistent,
                 "split_tensor.seq_lengths: 3 entries for a batch of 2");
}

// A two-part split's step: labels ride on the head activation, the loss on the edge's gradient reply; a loss
// anywhere else, or one that is not a finite number >= 0, is refused.
TEST(CodecValidation, LabelsAndLossGoOnlyWhereATwoPartSplitPutsThem) {
  std::mt19937_64 rng{11};
  auto act = testing::sample_split_tensor(rng);  // client 5's head activation
  act.labels.assign(static_cast<std::size_t>(act.tensor.shape()[0]), 1u);
  auto back = codec{}.decode<split_tensor>(codec{}.encode(participant{tier::client, 5}, act).value());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->body.labels, act.labels);
  auto grad = testing::sample_body_gradient(rng);
  grad.loss = 0.6931f;
  back = codec{}.decode<split_tensor>(codec{}.encode(participant{tier::edge, 0}, grad).value());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->body.loss, 0.6931f);
  act.loss = 0.5f;
  expect_failure(codec{}.encode(participant{tier::client, 5}, act), violation::inconsistent,
                 "only the edge's gradient reply of a two-part split carries a loss");
  grad.loss = std::nanf("");
  expect_failure(codec{}.encode(participant{tier::edge, 0}, grad), violation::value_out_of_range, "split_tensor.loss");
  auto bytes = craft([](wire::Envelope::Builder env) {
    env.getSender().setTier(wire::Tier::EDGE);
    auto st = env.getBody().initSplitTensor();
    st.setSegment(wire::Segment::BODY);
    st.setRole(wire::Role::GRADIENT);
    st.setLoss(-1.0f);
    craft_tensor(st.initTensor(), {1}, 4);
  });
  expect_failure(codec{}.decode<split_tensor>(bytes), violation::value_out_of_range, "is not a finite loss >= 0");
}

TEST(CodecValidation, ImpossibleSegmentRolePair) {
  auto bytes = craft([](wire::Envelope::Builder env) {
    auto st = env.getBody().initSplitTensor();
    st.setSegment(wire::Segment::TAIL);
    st.setRole(wire::Role::ACTIVATION);
    craft_tensor(st.initTensor(), {1}, 4);
  });
  expect_failure(codec{}.decode<split_tensor>(bytes), violation::inconsistent, "tail activation");
}

TEST(CodecValidation, MisroutedSenders) {
  std::mt19937_64 rng{8};
  auto st = testing::sample_split_tensor(rng);  // client 5's head activation
  auto bytes = codec{}.encode(participant{tier::client, 5}, st).value();
  ASSERT_TRUE(codec{}.decode<split_tensor>(bytes).ok());
  expect_failure(codec{}.encode(participant{tier::client, 4}, st), violation::inconsistent,
                 "must come from that client");
  auto forged = craft([](wire::Envelope::Builder env) {
    env.getSender().setTier(wire::Tier::EDGE);
    auto s = env.getBody().initSplitTensor();
    craft_tensor(s.initTensor(), {1}, 4);
  });
  expect_failure(codec{}.decode<split_tensor>(forged), violation::inconsistent, "must come from that client");
  auto trust = testing::sample_trust_update(rng);
  expect_failure(codec{}.encode(participant{tier::client, 0}, trust), violation::inconsistent,
                 "only the coordinator or the cloud");
}

TEST(CodecValidation, SketchTableMustBeRowsByCols) {
  std::mt19937_64 rng{6};
  auto m = testing::sample_sketch_update(rng);
  std::get<count_sketch>(m.form).cols = 96;
  expect_failure(codec{}.encode(participant{tier::edge, 0}, m), violation::inconsistent,
                 "is not rows x cols [5, 96]");
  auto crafted = craft([](wire::Envelope::Builder env) {
    auto sk = env.getBody().initAdapterUpdate().getForm().initSketch();
    sk.setRows(2);
    sk.setCols(3);
    craft_tensor(sk.initTable(), {3, 2}, 24);
    sk.initLayout(1)[0].setName("a");
  });
  expect_failure(codec{}.decode<adapter_update>(crafted), violation::inconsistent, "is not rows x cols [2, 3]");
}

// A tensor sent exact beside a sketch may not also be in the sketch's layout.
TEST(CodecValidation, SketchExactNamesAreNotInTheLayout) {
  std::mt19937_64 rng{6};
  auto m = testing::sample_sketch_update(rng);
  auto& sk = std::get<count_sketch>(m.form);
  sk.exact[0].name = sk.layout[1].name;
  expect_failure(codec{}.encode(participant{tier::edge, 0}, m), violation::inconsistent,
                 "\"h.0.attn.c_attn.lora_b\" appears more than once");
}

TEST(CodecValidation, DuplicateNamesAndClients) {
  std::mt19937_64 rng{6};
  auto m = testing::sample_dense_update(rng);
  auto& dense = std::get<std::vector<named_tensor>>(m.form);
  dense[2].name = dense[0].name;
  expect_failure(codec{}.encode(participant{tier::client, 0}, m), violation::inconsistent,
                 "appears more than once");
  auto crafted = craft([](wire::Envelope::Builder env) {
    env.getSender().setTier(wire::Tier::COORDINATOR);
    auto scores = env.getBody().initTrustUpdate().initScores(2);
    scores[0].setClientId(3);
    scores[1].setClientId(3);
  });
  expect_failure(codec{}.decode<trust_update>(crafted), violation::inconsistent, "client 3 appears more than once");
}

TEST(CodecValidation, RegistrationAndPeerTables) {
  std::mt19937_64 rng{9};
  codec_limits narrow;
  narrow.max_clients = 8;
  narrow.max_edges = 2;
  narrow.max_clusters = 3;
  narrow.max_tasks = 3;
  const codec c{narrow};
  // Only the coordinator hands out peers; the cloud registers with no one.
  auto table = testing::sample_peer_table(rng);
  ASSERT_TRUE(c.encode(participant{tier::coordinator, 0}, table).ok());
  expect_failure(c.encode(participant{tier::edge, 0}, table), violation::inconsistent,
                 "only the coordinator hands out peers");
  expect_failure(c.encode(participant{tier::cloud, 0}, registration{}), violation::inconsistent,
                 "the cloud registers with no one");
  expect_failure(c.encode(participant{tier::client, 1}, registration{10, 3}), violation::id_out_of_range,
                 "registration.cluster_id: task 3 is out of range (tasks are 0..3-1)");
  // A client registers its task, which may exceed the cluster ids: four tasks in one cluster (clustering =
  // "none") register tasks 0..3 with max_clusters = 1.
  codec_limits one_cluster = narrow;
  one_cluster.max_clusters = 1;
  one_cluster.max_tasks = 4;
  EXPECT_TRUE(codec{one_cluster}.encode(participant{tier::client, 1}, registration{10, 3}).ok());
  // Entries name real participants, once each.
  auto dup = table;
  dup.peers.push_back(dup.peers.front());
  expect_failure(c.encode(participant{tier::coordinator, 0}, dup), violation::inconsistent,
                 "edge 1 appears more than once");
  auto crafted = craft([](wire::Envelope::Builder env) {
    env.getSender().setTier(wire::Tier::COORDINATOR);
    auto peers = env.getBody().initPeerTable().initPeers(2);
    peers[0].initParticipant().setTier(wire::Tier::EDGE);
    peers[1].initParticipant().setTier(wire::Tier::CLIENT);
    peers[1].getParticipant().setId(8);
  });
  expect_failure(c.decode<peer_table>(crafted), violation::id_out_of_range, "peer_table.peers[1].participant.id");
  auto coordinator_one = craft([](wire::Envelope::Builder env) {
    env.getSender().setTier(wire::Tier::COORDINATOR);
    auto p = env.getBody().initPeerTable().initPeers(1)[0].initParticipant();
    p.setTier(wire::Tier::CLOUD);
    p.setId(1);
  });
  expect_failure(c.decode<peer_table>(coordinator_one), violation::id_out_of_range, "is not 0");
}

TEST(CodecValidation, TrustScoreOutsideUnitInterval) {
  for (double bad : {1.5, -0.1, std::numeric_limits<double>::quiet_NaN()}) {
    auto bytes = craft([bad](wire::Envelope::Builder env) {
      env.getSender().setTier(wire::Tier::COORDINATOR);
      env.getBody().initTrustUpdate().initScores(1)[0].setScore(bad);
    });
    auto r = codec{}.decode<trust_update>(bytes);
    expect_failure(r, violation::value_out_of_range, "trust_update.scores[0].score");
    EXPECT_EQ(r.error().code, errc::invalid_argument);
  }
}

TEST(CodecValidation, HeartbeatLinksAreAnEdgesFiniteRttsOncePerClient) {
  std::mt19937_64 rng{9};
  auto hb = testing::sample_heartbeat(rng);
  hb.is_reply = false;
  hb.echo_ns = 0;
  ASSERT_TRUE(codec{}.encode(participant{tier::edge, 1}, hb).ok());
  expect_failure(codec{}.encode(participant{tier::client, 1}, hb), violation::inconsistent,
                 "only an edge reports client links");
  for (double bad : {-1.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    auto bytes = craft([bad](wire::Envelope::Builder env) {
      env.getSender().setTier(wire::Tier::EDGE);
      env.getBody().initHeartbeat().initLinks(1)[0].setRttMs(bad);
    });
    expect_failure(codec{}.decode<heartbeat>(bytes), violation::value_out_of_range, "heartbeat.links[0].rtt_ms");
  }
  auto twice = hb;
  twice.links = {{2, 1.0}, {2, 3.0}};
  EXPECT_FALSE(codec{}.encode(participant{tier::edge, 1}, twice).ok()) << "client 2 measured twice";
}

TEST(CodecValidation, SplitPointsAndRoundFields) {
  std::mt19937_64 rng{6};
  auto m = testing::sample_open_round(rng);
  m.splits[0].head_blocks = 0;
  expect_failure(codec{}.encode(participant{tier::cloud, 0}, m), violation::value_out_of_range,
                 "raw embeddings never leave the client");
  m = testing::sample_open_round(rng);
  m.local_steps = 0;
  expect_failure(codec{}.encode(participant{tier::cloud, 0}, m), violation::value_out_of_range, "kappa1");
  adapter_update stale = testing::sample_dense_update(rng);
  stale.base_round = stale.round + 1;
  expect_failure(codec{}.encode(participant{tier::client, 0}, stale), violation::inconsistent,
                 "is after round");
  for (double bad : {-1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    adapter_update timed = testing::sample_dense_update(rng);
    timed.sim_seconds = bad;
    expect_failure(codec{}.encode(participant{tier::client, 0}, timed), violation::value_out_of_range,
                   "adapter_update.sim_seconds");
  }
  adapter_update from_edge = testing::sample_dense_update(rng);
  from_edge.sim_seconds = 3.5;
  expect_failure(codec{}.encode(participant{tier::edge, 0}, from_edge), violation::inconsistent,
                 "only a client's upload carries simulated seconds");
}

TEST(CodecValidation, FingerprintShapes) {
  std::mt19937_64 rng{6};
  auto m = testing::sample_predictive_fingerprint(rng);
  m.probe_count = 31;
  expect_failure(codec{}.encode(participant{tier::client, 1}, m), violation::inconsistent, "probe_count=31");
  auto g = testing::sample_gaussian_fingerprint(rng);
  std::get<gaussian_fingerprint>(g.form).variance = testing::random_tensor(rng, dtype::f32, {63});
  expect_failure(codec{}.encode(participant{tier::client, 6}, g), violation::inconsistent, "differs from mean");
}

TEST(CodecValidation, CafErrorCarriesCodeAndMessage) {
  auto r = codec{}.decode<heartbeat>(payload{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::malformed_input);
  EXPECT_STREQ(to_string(r.error().rule), "not_a_message");
}

} // namespace
} // namespace elsa::messages
