// Sample checkpoints of a small run (3 clients, 2 edges, kappa2 2, 10 edge rounds), for the checkpoint tests,
// the fuzz oracle's replay and the seed corpus of the checkpoint reader's fuzz target.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/run/checkpoint.hpp"

namespace elsa::testing::checkpoints {

inline run::run_config small_run() {
  run::run_config cfg;
  cfg.clients = 3;
  cfg.edges = 2;
  cfg.kappa2 = 2;
  cfg.rounds = 10;  // 5 cloud rounds: checkpoints 1..4
  return cfg;
}

inline messages::tensor_bytes floats(std::vector<int64_t> shape, float start) {
  int64_t n = 1;
  for (auto d : shape)
    n *= d;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = start + 0.25f * static_cast<float>(i);
  return messages::tensor_bytes::copy_of(messages::dtype::f32, std::move(shape), v.data(), v.size() * sizeof(float));
}

inline run::cloud_checkpoint cloud_at(uint32_t n) {
  run::cloud_checkpoint c;
  c.cloud_rounds = n;
  c.global = {{{"h.0.lora_A", floats({2, 3}, 1.0f * static_cast<float>(n))}, {"head.spam.weight", floats({2, 4}, -1.0f)}},
              {{"h.0.lora_A", floats({2, 3}, 7.0f)}}};
  c.cluster_of = {{0, 0}, {1, 1}, {2, 0}};
  c.sketch_error = {{1, {0.5f, -0.25f, 3.0f}}};
  return c;
}

inline run::coordinator_checkpoint coordinator_at(uint32_t n) {
  run::coordinator_checkpoint c;
  c.cloud_rounds = n;
  c.cluster_of = {{0, 0}, {1, 1}, {2, 0}};
  c.trust = {{0, 1.0}, {1, 0.25}, {2, 0.75}};
  messages::fingerprint g{4, 1, 16, messages::gaussian_fingerprint{floats({5}, 0.0f), floats({5}, 1.0f)}};
  messages::fingerprint p{4, 2, 16, messages::predictive_fingerprint{floats({16, 3}, 0.0f)}};
  c.last_fingerprints = {{1, g}, {2, p}};
  c.reclustered_round = 3;
  c.assignments = {{0, 1, 0}, {1, 0, 1}, {2, 1, 0}};
  c.splits = {{0, 1, 1}, {1, 2, 1}, {2, 1, 2}};
  c.rtt_ms = {1.5, NAN, 3.0, 4.0, NAN, 6.5};
  c.placed = true;
  return c;
}

/// The seed inputs: checkpoints of both roles, of every cloud round the run can have one of, as files (.ckpt)
/// and as their bare payloads (.cbor, for the fuzz target's framed mode).
inline std::vector<std::pair<std::string, std::vector<uint8_t>>> seed_files() {
  const auto cfg = small_run();
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  for (uint32_t n = 1; n <= 4; ++n) {
    out.emplace_back("cloud-" + std::to_string(n) + ".ckpt", run::checkpoint_bytes(cloud_at(n), cfg));
    out.emplace_back("coordinator-" + std::to_string(n) + ".ckpt", run::checkpoint_bytes(coordinator_at(n), cfg));
  }
  for (std::size_t i = 0, files = out.size(); i < files; ++i) {
    auto name = out[i].first;
    name.replace(name.size() - 5, 5, ".cbor");
    out.emplace_back(name, std::vector<uint8_t>(out[i].second.begin() + 28, out[i].second.end()));
  }
  return out;
}

} // namespace elsa::testing::checkpoints
