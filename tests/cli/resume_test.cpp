// `elsa run --resume RUN` (issue 16): a run killed with SIGKILL at a seeded random moment and resumed finishes
// with every round recorded once and the test accuracy of the same run uninterrupted (within 1 point), on the
// real clock (threaded, what users run) and on the deterministic scheduler; and the resumes that cannot work
// (a finished run, a corrupt checkpoint without --fallback, options that would change the run) are one line.
#include <chrono>
#include <cmath>
#include <csignal>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_helpers.hpp"

namespace {

using namespace elsa::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;

// The quickstart made small: 4 clients under 2 edges, 10 edge rounds (5 cloud rounds) of 4 steps (~10 s).
elsa::run::run_config small_quickstart(bool deterministic) {
  auto cfg = elsa::run::read_run_config(source_dir() / "configs" / "quickstart.toml");
  cfg.model_dir = source_dir() / "models/elsa-base";
  cfg.data_dir = data_dir();
  cfg.clients = 4;
  cfg.kappa1 = 4;
  cfg.max_len = 48;
  cfg.eval_examples = 64;
  cfg.deterministic = deterministic;
  return cfg;
}

long metrics_lines(const fs::path& run) {
  return lines_of(read_text(run / "metrics.jsonl"));
}

double test_accuracy(const fs::path& run) {
  return read_json(run / "summary.json")["tasks"]["spam"]["test_accuracy"].get<double>();
}

void kill_run_after(const std::vector<std::string>& args, const fs::path& logs, const fs::path& run, long lines,
                    int delay_ms) {
  auto c = spawn_elsa(args, logs, false);
  for (int i = 0; i < 3000 && metrics_lines(run) < lines; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  ::kill(c.pid, SIGKILL);
  EXPECT_EQ(c.wait(), 128 + SIGKILL) << read_text(c.err);
}

TEST(ResumeCli, ARunKilledAtASeededMomentResumesWithEveryRoundOnceAndTheAccuracyOfAnUninterruptedRun) {
  ELSA_REQUIRE_PROGRAM();
  std::mt19937 pick(20261206);
  for (bool deterministic : {false, true}) {
    SCOPED_TRACE(deterministic ? "deterministic scheduler" : "threaded, real clock");
    const auto dir = scratch_dir(deterministic ? "resume_det" : "resume_threaded");
    const auto config = write_config(dir, small_quickstart(deterministic));
    const auto whole = dir / "whole", killed = dir / "killed";
    auto r = run_split("run " + config.string() + " --out " + whole.string() + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.err;

    // Killed once a seeded number of rounds is recorded (3..8 of 10: the first checkpoint is in by then), a
    // seeded 0..400 ms later: anywhere in a round, in the evaluation, or while a checkpoint or a metrics line is
    // being written.
    const long after = std::uniform_int_distribution<long>(3, 8)(pick);
    const int delay = std::uniform_int_distribution<int>(0, 400)(pick);
    SCOPED_TRACE("killed after " + std::to_string(after) + " lines + " + std::to_string(delay) + " ms");
    kill_run_after({"run", config.string(), "--out", killed.string(), "--quiet"}, dir, killed, after, delay);
    ASSERT_FALSE(fs::exists(killed / "summary.json"));
    const auto before = recorded_rounds(killed / "metrics.jsonl");
    const auto killed_lines = read_text(killed / "metrics.jsonl");

    r = run_split("run --resume " + killed.string() + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.err, "resume: from cloud round")) << r.err;
    std::vector<int64_t> want(10);
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(recorded_rounds(killed / "metrics.jsonl"), want);
    const auto summary = read_json(killed / "summary.json");
    EXPECT_EQ(summary["finished"], true);
    EXPECT_EQ(summary["rounds_recorded"], 10);
    ASSERT_EQ(summary["resumed_from"].size(), 1u);
    // It resumed from a checkpoint, not from the start, at most one cloud round (plus the round in progress)
    // behind what was recorded; and the lines before it are the killed run's own, byte for byte.
    const auto from = summary["resumed_from"][0].get<int64_t>();
    EXPECT_GE(from, 1) << summary.dump();
    EXPECT_GE(from * 2 + 3, static_cast<int64_t>(before.size())) << summary.dump();
    const auto kept = read_text(killed / "metrics.jsonl");
    std::size_t at = 0;
    for (int64_t i = 0; i < from * 2; ++i)
      at = kept.find('\n', at) + 1;
    EXPECT_EQ(kept.substr(0, at), killed_lines.substr(0, at));
    const double a = test_accuracy(whole), b = test_accuracy(killed);
    EXPECT_GT(a, 0.9);
    EXPECT_LE(std::fabs(a - b), 0.01) << "uninterrupted " << a << ", killed and resumed " << b;
    EXPECT_TRUE(fs::exists(killed / "adapters" / "spam"));
    fs::remove_all(dir);
  }
}

TEST(ResumeCli, ResumesThatCannotWorkAreOneLineAndACorruptCheckpointNeedsFallback) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("resume_refused");
  auto cfg = small_quickstart(true);
  cfg.kappa1 = 1;
  const auto config = write_config(dir, cfg);
  const auto run = dir / "run";
  auto r = run_split("run " + config.string() + " --out " + run.string() + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto one_line = [](const split_result& x, const std::string& part) {
    EXPECT_EQ(x.exit_code, 1) << x.err;
    EXPECT_EQ(lines_of(x.err), 1) << x.err;
    EXPECT_TRUE(has(x.err, part)) << x.err;
  };
  one_line(run_split("run --resume " + run.string()), "the run finished; there is nothing to resume");
  one_line(run_split("run " + config.string() + " --resume " + run.string()), "give either CONFIG or --resume RUN");
  one_line(run_split("run --resume " + run.string() + " --set train.lr=0.1"), "would change the run");
  one_line(run_split("run " + config.string() + " --fallback"), "--fallback only goes with --resume RUN");
  one_line(run_split("run --resume " + dir.string()), "no config.toml there; not a run directory");
  one_line(run_split("run"), "give a CONFIG");

  // As if killed: no summary; then the newest cloud checkpoint cut short.
  fs::remove(run / "summary.json");
  const auto newest = run / "checkpoints" / "cloud-000004.ckpt";
  ASSERT_TRUE(fs::exists(newest));
  const auto bytes = read_text(newest);
  write_text(newest, bytes.substr(0, bytes.size() / 3));
  const auto untouched = read_text(run / "metrics.jsonl");
  r = run_split("run --resume " + run.string());
  one_line(r, newest.string() + ": truncated");
  EXPECT_TRUE(has(r.err, "--fallback")) << r.err;
  EXPECT_EQ(read_text(run / "metrics.jsonl"), untouched) << "a refused resume changes nothing";

  r = run_split("run --resume " + run.string() + " --fallback --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "resume: checkpoint " + newest.string() + ": truncated")) << r.err;
  EXPECT_TRUE(has(r.err, "resume: from cloud round 3 of 5")) << r.err;
  const auto summary = read_json(run / "summary.json");
  EXPECT_EQ(summary["finished"], true);
  EXPECT_EQ(summary["resumed_from"], json::array({3}));
  std::vector<int64_t> want(10);
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(recorded_rounds(run / "metrics.jsonl"), want);
  fs::remove_all(dir);
}

} // namespace
