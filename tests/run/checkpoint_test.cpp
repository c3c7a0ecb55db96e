// Checkpoints (core/run/checkpoint.hpp): what is written reads back equal; a damaged file (truncated, a flipped
// byte, another version, not a checkpoint, another run's shape) is one line naming the file; two are kept;
// and plan_resume picks the newest cloud round whose two checkpoints and metrics lines are all there, falls
// back past a corrupt one only when told to, refuses a finished run and cuts the record back.
#include "core/run/checkpoint.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include "core/errors.hpp"
#include "core/run/run_record.hpp"
#include "tests/run/checkpoint_samples.hpp"

namespace er = elsa::run;
namespace em = elsa::messages;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using namespace elsa::testing::checkpoints;

fs::path scratch(const std::string& name) {
  const auto p = fs::temp_directory_path() / ("elsa_checkpoint_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<uint8_t> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(b.data()),
                                                             static_cast<std::streamsize>(b.size()));
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const elsa::error& e) {
    return e.what();
  }
  return "";
}

// A run directory as a killed run leaves it: `lines` metrics lines (rounds 0..), events of every round, and
// both checkpoints of cloud rounds `from`..`to`.
fs::path killed_run(const std::string& name, const er::run_config& cfg, int lines, uint32_t from, uint32_t to,
                    bool partial_line = false) {
  const auto dir = scratch(name);
  std::ofstream m(dir / "metrics.jsonl"), e(dir / "events.jsonl");
  for (int r = 0; r < lines; ++r)
    m << json{{"round", r}, {"cloud_round", r % 2 == 1}, {"elapsed_s", 1.0 + r}}.dump() << "\n";
  if (partial_line)
    m << R"({"round": )" << lines << R"(, "cloud_ro)";
  e << json{{"type", "registered"}, {"bytes_control", 100}}.dump() << "\n";
  for (int r = 0; r < lines + 1; ++r)
    e << json{{"type", "error"}, {"round", r}, {"code", "late_update"}}.dump() << "\n";
  for (auto n = from; n <= to; ++n) {
    er::write_checkpoint(dir / "checkpoints", cloud_at(n), cfg);
    er::write_checkpoint(dir / "checkpoints", coordinator_at(n), cfg);
  }
  return dir;
}

TEST(Checkpoint, WhatIsWrittenReadsBackEqual) {
  const auto cfg = small_run();
  const auto dir = scratch("roundtrip");
  er::write_checkpoint(dir, cloud_at(2), cfg);
  er::write_checkpoint(dir, coordinator_at(2), cfg);
  const auto cloud = er::read_cloud_checkpoint(er::checkpoint_path(dir, "cloud", 2), cfg);
  const auto want = cloud_at(2);
  EXPECT_EQ(cloud.cloud_rounds, 2u);
  EXPECT_EQ(cloud.global, want.global);
  EXPECT_EQ(cloud.cluster_of, want.cluster_of);
  EXPECT_EQ(cloud.sketch_error, want.sketch_error);
  const auto co = er::read_coordinator_checkpoint(er::checkpoint_path(dir, "coordinator", 2), cfg);
  const auto cw = coordinator_at(2);
  EXPECT_EQ(co.cluster_of, cw.cluster_of);
  EXPECT_EQ(co.trust, cw.trust);
  EXPECT_EQ(co.last_fingerprints, cw.last_fingerprints);
  EXPECT_EQ(co.reclustered_round, 3);
  EXPECT_EQ(co.assignments, cw.assignments);
  EXPECT_EQ(co.splits, cw.splits);
  ASSERT_EQ(co.rtt_ms.size(), 6u);
  EXPECT_TRUE(std::isnan(co.rtt_ms[1]) && std::isnan(co.rtt_ms[4]));
  EXPECT_EQ(co.rtt_ms[5], 6.5);
  EXPECT_TRUE(co.placed);
  // No temporary file is left beside them.
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().extension(), ".ckpt") << e.path();
}

TEST(Checkpoint, TheThreeNewestOfEachRoleAreKept) {
  auto cfg = small_run();
  cfg.rounds = 20;
  const auto dir = scratch("keep");
  for (uint32_t n = 1; n <= 5; ++n)
    er::write_checkpoint(dir, cloud_at(n), cfg);
  for (uint32_t n = 1; n <= 4; ++n)
    er::write_checkpoint(dir, coordinator_at(n), cfg);
  // While the cloud's 5 waits for the coordinator's part, 4 and 3 are complete pairs.
  EXPECT_EQ(er::checkpoints_of(dir, "cloud"), (std::vector<uint32_t>{5, 4, 3}));
  EXPECT_EQ(er::checkpoints_of(dir, "coordinator"), (std::vector<uint32_t>{4, 3, 2}));
}

TEST(Checkpoint, ADamagedFileIsOneLineNamingItAndWhatIsWrong) {
  const auto cfg = small_run();
  const auto dir = scratch("damaged");
  er::write_checkpoint(dir, cloud_at(2), cfg);
  const auto file = er::checkpoint_path(dir, "cloud", 2);
  const auto good = file_bytes(file);
  auto read = [&] { return error_of([&] { er::read_cloud_checkpoint(file, cfg); }); };
  auto with = [&](std::vector<uint8_t> b) {
    put_bytes(file, b);
    return read();
  };

  auto truncated = good;
  truncated.resize(good.size() - 10);
  EXPECT_TRUE(contains(with(truncated), file.string() + ": truncated (payload has")) << read();
  truncated.resize(12);
  EXPECT_TRUE(contains(with(truncated), "truncated (12 bytes")) << read();

  auto flipped = good;
  flipped[good.size() / 2] ^= 0x10;
  EXPECT_TRUE(contains(with(flipped), "checksum mismatch (the file is corrupt)")) << read();

  auto version = good;
  version[8] = 9;
  EXPECT_TRUE(contains(with(version), "format version 9; this build reads version 1")) << read();

  auto other = good;
  other[0] = 'X';
  EXPECT_TRUE(contains(with(other), "not an ELSA checkpoint")) << read();

  auto longer = good;
  longer.push_back(0);
  EXPECT_TRUE(contains(with(longer), "1 bytes after the payload")) << read();

  put_bytes(file, good);
  auto reseeded = cfg;
  reseeded.seed = 99;
  EXPECT_TRUE(contains(error_of([&] { er::read_cloud_checkpoint(file, reseeded); }),
                       "was written by a run with seed 1234, this config has 99"));
  auto bigger = cfg;
  bigger.clients = 4;
  EXPECT_TRUE(contains(error_of([&] { er::read_cloud_checkpoint(file, bigger); }),
                       "was written by a run with clients = 3, this config has 4"));
  // A cloud checkpoint is not read as the coordinator's.
  EXPECT_TRUE(contains(error_of([&] { er::read_coordinator_checkpoint(file, cfg); }), "is not a coordinator checkpoint"));
  EXPECT_TRUE(contains(error_of([&] { er::read_cloud_checkpoint(dir / "cloud-000009.ckpt", cfg); }), "cannot be opened"));
  EXPECT_EQ(read(), "");
}

TEST(Checkpoint, FieldsThatCannotBeTheRunsAreRefused) {
  const auto cfg = small_run();
  auto c = coordinator_at(2);
  c.trust[1] = 1.5;
  EXPECT_TRUE(contains(error_of([&] {
                         const auto b = er::checkpoint_bytes(c, cfg);
                         er::coordinator_checkpoint_from_bytes(b.data(), b.size(), "x", cfg);
                       }),
                       "checkpoint x: client 1's trust is not a number in [0, 1]"));
  c = coordinator_at(2);
  c.assignments.pop_back();
  EXPECT_TRUE(contains(error_of([&] {
                         const auto b = er::checkpoint_bytes(c, cfg);
                         er::coordinator_checkpoint_from_bytes(b.data(), b.size(), "x", cfg);
                       }),
                       "has 2 assignments and 3 split points for 3 clients"));
  auto cl = cloud_at(2);
  cl.global[0][1].name = cl.global[0][0].name;
  EXPECT_TRUE(contains(error_of([&] {
                         const auto b = er::checkpoint_bytes(cl, cfg);
                         er::cloud_checkpoint_from_bytes(b.data(), b.size(), "x", cfg);
                       }),
                       "tensor 'h.0.lora_A' appears twice"));
  cl = cloud_at(5);  // the run's last cloud round has no checkpoint
  EXPECT_TRUE(contains(error_of([&] {
                         const auto b = er::checkpoint_bytes(cl, cfg);
                         er::cloud_checkpoint_from_bytes(b.data(), b.size(), "x", cfg);
                       }),
                       "is of cloud round 5, outside 1..4 of this run"));
  // The adapters must fit the run's model.
  const auto initial = cloud_at(1).global;
  EXPECT_EQ(er::layout_mismatch(cloud_at(2), initial), "");
  auto wrong = initial;
  wrong[1][0].tensor = floats({3, 3}, 0.0f);
  EXPECT_EQ(er::layout_mismatch(cloud_at(2), wrong),
            "tensor 'h.0.lora_A' of cluster 1 has another dtype or shape than this run's");
}

TEST(Checkpoint, ResumeTakesTheNewestCompleteCheckpointAndCutsTheRecordBack) {
  const auto cfg = small_run();
  // Killed in cloud round 4 (edge rounds 6, 7): lines 0..6 written plus half of line 7; checkpoints 2 and 3.
  const auto dir = killed_run("newest", cfg, 7, 2, 3, true);
  const auto p = er::plan_resume(dir, cfg, false);
  EXPECT_EQ(p.cloud_rounds, 3u);
  ASSERT_TRUE(p.cloud && p.coordinator);
  EXPECT_EQ(p.cloud->global, cloud_at(3).global);
  EXPECT_EQ(p.coordinator->trust, coordinator_at(3).trust);
  ASSERT_EQ(p.lines.size(), 6u);  // rounds 0..5; 6 and the partial 7th are run again
  EXPECT_EQ(p.lines.back()["round"], 5);
  EXPECT_EQ(p.dropped_lines, 2);
  for (const auto& e : p.events)
    EXPECT_LT(e.value("round", -1), 6) << e;
  EXPECT_EQ(p.events.size(), 1u + 6u);  // registered + the errors of rounds 0..5
  er::write_checkpoint(dir / "checkpoints", cloud_at(4), cfg);  // of a round run again: removed by the cut
  er::cut_record(dir, p);
  EXPECT_EQ(er::checkpoints_of(dir / "checkpoints", "cloud"), (std::vector<uint32_t>{3, 2}));
  std::ifstream m(dir / "metrics.jsonl");
  std::string text{std::istreambuf_iterator<char>(m), std::istreambuf_iterator<char>()};
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 6);
  EXPECT_FALSE(contains(text, "cloud_ro\"")) << "the partial line is gone";
}

TEST(Checkpoint, ResumeSkipsACheckpointWithoutItsCoordinatorPartOrItsRounds) {
  const auto cfg = small_run();
  // The cloud wrote checkpoint 4, the process died before the coordinator's arrived.
  auto dir = killed_run("half", cfg, 8, 2, 3);
  er::write_checkpoint(dir / "checkpoints", cloud_at(4), cfg);
  auto p = er::plan_resume(dir, cfg, false);
  EXPECT_EQ(p.cloud_rounds, 3u);
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_EQ(p.notes[0], "cloud round 4: the coordinator's checkpoint was never written");
  // Both parts of 3, but metrics.jsonl stops at round 4 (the recorder had not written round 5): 2 it is, and
  // the cut removes both parts of 3, so the resumed run's own 3 never pairs with the old coordinator part.
  dir = killed_run("lagging", cfg, 5, 2, 3);
  p = er::plan_resume(dir, cfg, false);
  EXPECT_EQ(p.cloud_rounds, 2u);
  EXPECT_EQ(p.lines.size(), 4u);
  EXPECT_TRUE(contains(p.notes.at(0), "cloud round 3: metrics.jsonl has 5 of its 6 rounds"));
  er::cut_record(dir, p);
  EXPECT_EQ(er::checkpoints_of(dir / "checkpoints", "coordinator"), (std::vector<uint32_t>{2}));
  // No checkpoint at all: from the start, with nothing kept but round-less events.
  dir = killed_run("none", cfg, 1, 1, 0);
  p = er::plan_resume(dir, cfg, false);
  EXPECT_EQ(p.cloud_rounds, 0u);
  EXPECT_FALSE(p.cloud.has_value());
  EXPECT_TRUE(p.lines.empty());
  EXPECT_EQ(p.events.size(), 1u);
}

TEST(Checkpoint, ACorruptNewestCheckpointNeedsFallbackToUseThePreviousOne) {
  const auto cfg = small_run();
  const auto dir = killed_run("corrupt", cfg, 8, 2, 3);
  const auto newest = er::checkpoint_path(dir / "checkpoints", "coordinator", 3);
  auto b = file_bytes(newest);
  b.resize(b.size() / 2);
  put_bytes(newest, b);
  const auto text = error_of([&] { er::plan_resume(dir, cfg, false); });
  EXPECT_TRUE(contains(text, newest.string() + ": truncated")) << text;
  EXPECT_TRUE(contains(text, "resume with --fallback to use the checkpoint before it")) << text;
  const auto p = er::plan_resume(dir, cfg, true);
  EXPECT_EQ(p.cloud_rounds, 2u);
  EXPECT_EQ(p.lines.size(), 4u);
  EXPECT_TRUE(contains(p.notes.at(0), "truncated"));
}

TEST(Checkpoint, FallbackNeverPassesAnotherRunsCheckpointNorGoesBackToTheStart) {
  const auto cfg = small_run();
  // Another seed: not damage, so --fallback does not pass over it (that would wipe the run).
  auto dir = killed_run("other_seed", cfg, 8, 2, 3);
  auto reseeded = cfg;
  reseeded.seed = 7;
  auto text = error_of([&] { er::plan_resume(dir, reseeded, true); });
  EXPECT_TRUE(contains(text, "was written by a run with seed 1234, this config has 7")) << text;
  EXPECT_FALSE(contains(text, "--fallback")) << text;
  // Every checkpoint damaged: refused, rather than starting over.
  dir = killed_run("all_damaged", cfg, 8, 2, 3);
  for (const char* role : {"cloud", "coordinator"})
    for (uint32_t n : {2u, 3u})
      put_bytes(er::checkpoint_path(dir / "checkpoints", role, n), {'E', 'L', 'S', 'A'});
  text = error_of([&] { er::plan_resume(dir, cfg, true); });
  EXPECT_TRUE(contains(text, "no checkpoint is readable")) << text;
  EXPECT_TRUE(contains(text, "nothing was changed")) << text;
}

TEST(Checkpoint, AFinishedRunIsNotResumed) {
  const auto cfg = small_run();
  const auto dir = killed_run("finished", cfg, 10, 3, 4);
  std::ofstream(dir / "summary.json") << R"({"finished": true})";
  EXPECT_TRUE(contains(error_of([&] { er::plan_resume(dir, cfg, true); }), "the run finished; there is nothing to resume"));
  // A stopped run (Ctrl-C) is.
  std::ofstream(dir / "summary.json", std::ios::trunc) << R"({"finished": false, "stop_reason": "SIGINT"})";
  EXPECT_EQ(er::plan_resume(dir, cfg, false).cloud_rounds, 4u);
}

TEST(Checkpoint, ARestoredRecordSummarisesLikeTheRecordItCameFrom) {
  auto cfg = small_run();
  cfg.rounds = 4;
  // Two records of the same events; the second is restored from the first's lines after round 1.
  cfg.target_accuracy = 0.84;
  elsa::sim::model_shape shape{4, 64, 4, 256, 1000, 128, 8, {"c_attn"}, 2};
  er::run_record whole(cfg, {"spam"}, {0.7});
  whole.set_model(shape);  // the simulated clock's totals (flops, memory, time to target) are restored too
  std::vector<json> events;
  for (int r = 0; r < 4; ++r) {
    for (uint32_t c = 0; c < 3; ++c)
      events.push_back({{"type", "client_round"}, {"round", r}, {"client", c}, {"edge", c % 2}, {"task", "spam"},
                        {"steps", 2}, {"loss", 0.5 - 0.1 * r}, {"tokens", 64}, {"bytes_up", 1000}, {"seconds", 0.1}});
    for (uint32_t e = 0; e < 2; ++e)
      events.push_back({{"type", "edge_round"}, {"round", r}, {"edge", e}, {"reason", "complete"}, {"reported", 2},
                        {"expected", 2}, {"bytes_down", 500}, {"bytes_cloud", r % 2 == 1 ? 300 : 0}});
    if (r == 1)  // the coordinator re-clusters before it closes the round
      events.push_back({{"type", "clustering"}, {"round", 1}, {"k", 2}, {"clusters", {{"0", 0}, {"1", 1}, {"2", 0}}},
                        {"trust", {{"0", 1.0}, {"1", 0.5}, {"2", 1.0}}}});
    events.push_back({{"type", "round_closed"}, {"round", r}, {"cloud_round", r % 2 == 1}, {"edges", 2}, {"bytes_control", 10}});
    if (r % 2 == 1)
      events.push_back({{"type", "cloud_round"}, {"round", r}, {"edges_reported", 2}, {"bytes_down", 700},
                        {"accuracy", {{"spam", 0.8 + 0.05 * r}}}, {"loss", {{"spam", 0.3}}}});
    if (r == 0) {
      events.push_back({{"type", "registered"}, {"clients", 3}, {"edges", 2}, {"bytes_control", 777}});
      events.push_back({{"type", "error"}, {"round", 0}, {"actor", "edge 0"}, {"code", "late_update"}, {"text", "x"}});
      events.push_back({{"type", "placement"}, {"round", 0}, {"policy", "latency"}, {"reason", "measured"},
                        {"assignment", {{"0", 1}, {"1", 0}, {"2", 1}}}, {"latency_total_ms", 12.5}, {"latency_max_ms", 6.0}});
    }
  }
  std::vector<json> before, after, other;
  for (const auto& ev : events)
    (ev.value("round", 0) < 2 ? before : after).push_back(ev);
  for (const auto& ev : before)
    whole.add(ev, 1.0);
  const auto kept_lines = whole.lines();
  std::vector<json> kept_events;
  for (const auto& ev : before)  // what events.jsonl holds: everything but the round inputs
    if (ev["type"] == "error" || ev["type"] == "registered" || ev["type"] == "placement" || ev["type"] == "clustering")
      kept_events.push_back(ev);
  for (const auto& ev : after)
    whole.add(ev, 2.0);
  er::run_record resumed(cfg, {"spam"}, {0.7});
  resumed.set_model(shape);
  resumed.restore(kept_lines, kept_events);
  for (const auto& ev : after)
    resumed.add(ev, 2.0);
  auto a = whole.summary(3.0), b = resumed.summary(3.0);
  EXPECT_EQ(b["rounds_recorded"], 4);
  EXPECT_EQ(b["errors"], 1);
  EXPECT_GT(b["sim_time_s"].get<double>(), 0);
  EXPECT_FALSE(b["client_flops"].empty());
  EXPECT_EQ(b["round_to_target"], 1);
  EXPECT_EQ(b["clusterings"], 1);
  EXPECT_EQ(b["clusters"], json({{"0", 0}, {"1", 1}, {"2", 0}}));
  EXPECT_EQ(b["latency_total_ms"], 12.5);
  EXPECT_EQ(b["bytes"]["control"].get<int64_t>() >= 777, true);  // validation 0.85 at round 1, before the resume: from the kept lines
  EXPECT_EQ(a, b);
  ASSERT_EQ(resumed.lines().size(), 4u);
  EXPECT_EQ(resumed.lines()[2]["round"], 2);
}

} // namespace
