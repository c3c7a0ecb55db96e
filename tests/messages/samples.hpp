// Seeded sample messages of every kind for the messages/ tests, and a helper that builds raw Cap'n Proto
// envelopes directly (bypassing the codec's checks) so tests can hand the decoder invalid messages.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "messages/codec.hpp"
#include "messages/payload.hpp"
#include "messages/schema/envelope.capnp.h"
#include "messages/types.hpp"

namespace elsa::messages::testing {

/// A tensor of `shape` filled with seeded random bytes (every byte pattern, so NaN payloads too:
/// the codec must move bytes, not values).
inline tensor_bytes random_tensor(std::mt19937_64& rng, dtype type, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (auto d : shape)
    n *= d;
  std::vector<std::byte> bytes(static_cast<std::size_t>(n) * dtype_size(type));
  for (auto& b : bytes)
    b = static_cast<std::byte>(rng() & 0xff);
  return tensor_bytes::copy_of(type, std::move(shape), bytes.data(), bytes.size());
}

inline open_round sample_open_round(std::mt19937_64& rng) {
  open_round m;
  m.round = static_cast<uint32_t>(rng() % 1000);
  m.local_steps = 1 + static_cast<uint32_t>(rng() % 8);
  m.deadline_ms = 1000 + rng() % 100000;
  m.cloud_round = (rng() & 1) != 0;
  m.fingerprint = true;
  for (uint32_t c = 0; c < 8; ++c) {
    m.assignments.push_back(assignment{c, c % 2, c % 3});
    m.splits.push_back(split_point{c, 1 + c % 3, c % 2});
  }
  m.sampling = true;
  m.sampled = {1, 4, 6};
  return m;
}

inline close_round sample_close_round(std::mt19937_64& rng) {
  return close_round{static_cast<uint32_t>(rng() % 1000), close_reason::quorum, 6, 8};
}

inline round_ack sample_round_ack(std::mt19937_64& rng) {
  return round_ack{static_cast<uint32_t>(rng() % 1000), ack_of::close, false, "busy with round 3"};
}

inline split_tensor sample_split_tensor(std::mt19937_64& rng, dtype type = dtype::f16) {
  split_tensor m;
  m.round = 3;
  m.step = static_cast<uint32_t>(rng() % 16);
  m.client_id = 5;
  m.from = segment::head;
  m.role = tensor_role::activation;
  m.tensor = random_tensor(rng, type, {4, 16, 32});
  m.seq_lengths = {16, 9, 1, 12};
  m.probe = (rng() & 1) != 0;
  m.labels = {0, 1, 1, 0};
  return m;
}

/// What an edge sends back in the backward pass: the gradient for the client's head output.
inline split_tensor sample_body_gradient(std::mt19937_64& rng) {
  split_tensor m;
  m.round = 3;
  m.step = static_cast<uint32_t>(rng() % 16);
  m.client_id = 5;
  m.from = segment::body;
  m.role = tensor_role::gradient;
  m.tensor = random_tensor(rng, dtype::f32, {4, 16, 32});
  return m;
}

inline adapter_update sample_dense_update(std::mt19937_64& rng) {
  adapter_update m;
  m.round = 7;
  m.base_round = 5;
  m.sample_count = 1234;
  m.cluster_id = 2;
  m.sim_seconds = 12.625;
  std::vector<named_tensor> dense;
  dense.push_back({"h.0.attn.c_attn.lora_a", random_tensor(rng, dtype::f32, {64, 4})});
  dense.push_back({"h.0.attn.c_attn.lora_b", random_tensor(rng, dtype::f32, {4, 192})});
  dense.push_back({"h.1.mlp.c_fc.lora_a", random_tensor(rng, dtype::bf16, {64, 4})});
  m.form = std::move(dense);
  return m;
}

inline adapter_update sample_sketch_update(std::mt19937_64& rng) {
  adapter_update m;
  m.round = 9;
  m.base_round = 9;
  m.sample_count = 77;
  m.cluster_id = 0;
  count_sketch sk;
  sk.rows = 5;
  sk.cols = 97;
  sk.seed = rng();
  sk.layout = {{"h.0.attn.c_attn.lora_a", dtype::f32, {64, 4}}, {"h.0.attn.c_attn.lora_b", dtype::f32, {4, 192}}};
  sk.table = random_tensor(rng, dtype::f32, {5, 97});
  sk.exact = {{"base_model.model.score.spam.weight", random_tensor(rng, dtype::f32, {2, 192})}};
  m.form = std::move(sk);
  return m;
}

inline fingerprint sample_gaussian_fingerprint(std::mt19937_64& rng) {
  fingerprint m;
  m.round = 2;
  m.client_id = 6;
  m.probe_count = 256;
  m.form = gaussian_fingerprint{random_tensor(rng, dtype::f32, {64}), random_tensor(rng, dtype::f32, {64})};
  return m;
}

inline fingerprint sample_predictive_fingerprint(std::mt19937_64& rng) {
  fingerprint m;
  m.round = 2;
  m.client_id = 1;
  m.probe_count = 32;
  m.form = predictive_fingerprint{random_tensor(rng, dtype::f32, {32, 4})};
  return m;
}

inline trust_update sample_trust_update(std::mt19937_64& rng) {
  trust_update m;
  m.round = 4;
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  for (uint32_t c = 0; c < 8; ++c)
    m.scores.push_back(trust_score{c, unit(rng), c == 3});
  return m;
}

inline assignment_update sample_assignment_update(std::mt19937_64&) {
  return assignment_update{11, assignment_reason::recluster, {{1, 0, 1}, {4, 0, 2}}, true};
}

inline heartbeat sample_heartbeat(std::mt19937_64& rng) {
  return heartbeat{rng() % 100000, 123456789, 123000000, true, 3, {{1, 12.5}, {3, 40.25}}};
}

inline error_report sample_error_report(std::mt19937_64&) {
  return error_report{report_code::malformed_message, 3, "split_tensor.tensor: 12 data bytes, shape needs 16"};
}

inline registration sample_registration(std::mt19937_64& rng) {
  return registration{100 + rng() % 1000, 2};
}

inline peer_table sample_peer_table(std::mt19937_64&) {
  peer_table m;
  m.peers.push_back({participant{tier::edge, 1}, 0, 0});
  m.peers.push_back({participant{tier::client, 5}, 240, 2});
  m.peers.push_back({participant{tier::cloud, 0}, 0, 0});
  return m;
}

/// One valid sample of every body form, with a sender allowed to send it.
inline std::vector<std::pair<participant, message_body>> all_samples(uint64_t seed) {
  std::mt19937_64 rng{seed};
  participant cloud{tier::cloud, 0};
  participant client{tier::client, 5};
  participant edge{tier::edge, 1};
  participant coordinator{tier::coordinator, 0};
  std::vector<std::pair<participant, message_body>> out;
  out.emplace_back(cloud, sample_open_round(rng));
  out.emplace_back(cloud, sample_close_round(rng));
  out.emplace_back(client, sample_round_ack(rng));
  out.emplace_back(client, sample_split_tensor(rng, dtype::f16));
  out.emplace_back(edge, sample_body_gradient(rng));
  out.emplace_back(client, sample_dense_update(rng));
  out.emplace_back(edge, sample_sketch_update(rng));
  out.emplace_back(participant{tier::client, 6}, sample_gaussian_fingerprint(rng));
  out.emplace_back(participant{tier::client, 1}, sample_predictive_fingerprint(rng));
  out.emplace_back(coordinator, sample_trust_update(rng));
  out.emplace_back(coordinator, sample_assignment_update(rng));
  out.emplace_back(edge, sample_heartbeat(rng));
  out.emplace_back(edge, sample_error_report(rng));
  out.emplace_back(client, sample_registration(rng));
  out.emplace_back(coordinator, sample_peer_table(rng));
  return out;
}

/// Builds an envelope with Cap'n Proto directly (version 1, sender client 0 unless `fill` changes them),
/// so a test can write values the codec would refuse to encode.
inline payload craft(const std::function<void(wire::Envelope::Builder)>& fill) {
  capnp::MallocMessageBuilder builder;
  auto env = builder.initRoot<wire::Envelope>();
  env.setVersion(1);
  env.initSender().setTier(wire::Tier::CLIENT);
  fill(env);
  auto flat = capnp::messageToFlatArray(builder);
  return payload::copy_of(flat.begin(), flat.size() * sizeof(capnp::word));
}

/// Writes a valid f32 tensor of `shape` into `t` (zeros).
inline void craft_tensor(wire::Tensor::Builder t, std::vector<uint64_t> shape, std::size_t data_bytes) {
  t.setDtype(wire::DType::F32);
  auto dims = t.initShape(static_cast<unsigned>(shape.size()));
  for (unsigned i = 0; i < shape.size(); ++i)
    dims.set(i, shape[i]);
  t.initData(static_cast<unsigned>(data_bytes));
}

} // namespace elsa::messages::testing
