// Small real-data run configs for the actor tests: deterministic scheduler (simulated clock), spam task,
// short rounds, so each run takes seconds and reruns give the same bits.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actors/runtime.hpp"
#include "core/run/run_config.hpp"
#include "tests/test_support.hpp"

namespace elsa::testing {

inline run::run_config small_run(const std::string& name) {
  run::run_config cfg;
  cfg.model_dir = source_dir() / "models/elsa-base";
  cfg.data_dir = data_dir();
  cfg.out_dir = std::filesystem::temp_directory_path() / ("elsa_actors_test_" + name);
  std::filesystem::remove_all(cfg.out_dir);
  cfg.deterministic = true;
  cfg.progress = false;
  cfg.clients = 8;
  cfg.edges = 2;
  cfg.rounds = 4;
  cfg.kappa1 = 6;
  cfg.kappa2 = 2;
  cfg.max_len = 64;
  cfg.eval_examples = 128;
  cfg.test_examples = 400;
  cfg.round_deadline_ms = 10000;
  return cfg;
}

/// Device profiles for 8 clients: clients 0 and 1 (one per edge under round-robin placement) of class "slow"
/// at `slow_gflops`, the other six "fast" at `fast_gflops`, 10x apart in uplink (10 and 100 Mbit/s; down 50
/// and 500, latency 30 and 5 ms, 1024 MB each); edges of 20 GFLOP/s.
inline void slow_and_fast_devices(run::run_config& cfg, double slow_gflops, double fast_gflops) {
  cfg.class_names = {"slow", "fast"};
  cfg.class_gflops = {slow_gflops, fast_gflops};
  cfg.class_memory_mb = {1024, 1024};
  cfg.class_up_mbps = {10, 100};
  cfg.class_down_mbps = {50, 500};
  cfg.class_latency_ms = {30, 5};
  cfg.client_classes = {"slow", "slow", "fast", "fast", "fast", "fast", "fast", "fast"};
  cfg.edge_gflops = {20};
}

inline actors::run_result run_quietly(const run::run_config& cfg, const actors::run_hooks& hooks = {}) {
  std::ostringstream log;
  return actors::run_federation(cfg, log, hooks);
}

/// A file's bytes (empty, with a test failure, when it cannot be read).
inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(f.good()) << p;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// The events of one type in RUN/events.jsonl, in order.
inline std::vector<nlohmann::json> events_of(const run::run_config& cfg, const std::string& type) {
  std::vector<nlohmann::json> out;
  std::ifstream f(cfg.out_dir / "events.jsonl");
  EXPECT_TRUE(f.good()) << cfg.out_dir;
  for (std::string line; std::getline(f, line);) {
    auto ev = nlohmann::json::parse(line);
    if (ev.value("type", "") == type)
      out.push_back(std::move(ev));
  }
  return out;
}

/// The error events' "actor" fields.
inline std::set<std::string> error_actors(const actors::run_result& r) {
  std::set<std::string> out;
  for (const auto& e : r.errors)
    out.insert(e.value("actor", ""));
  return out;
}

} // namespace elsa::testing
