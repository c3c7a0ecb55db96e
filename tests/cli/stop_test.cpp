// Stopping `elsa run` with a signal once training started (the threaded mode users run): the round in
// progress is abandoned, summary.json says "finished": false and why, metrics.jsonl holds whole lines only,
// the exit status is 128 + the signal. The handler works although the child starts with SIGINT ignored (as
// a shell starts a background job). A signal during set-up ends the run with nothing written.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_helpers.hpp"

namespace elsa::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Waits until `file` holds at least `lines` whole lines (or `limit` passed).
bool wait_for_lines(const fs::path& file, long lines, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (fs::exists(file) && lines_of(read_text(file)) >= lines)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(RunStop, SigintStopsAThreadedRunCleanly) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("sigint");
  const auto config = write_config(dir, tiny_run(40, /*deterministic=*/false));
  const auto out = dir / "run";
  auto c = spawn_elsa({"run", config.string(), "--out", out.string()}, dir, /*ignore_sigint=*/true);
  ASSERT_TRUE(wait_for_lines(out / "metrics.jsonl", 1, 60s)) << read_text(c.err);
  ::kill(c.pid, SIGINT);
  EXPECT_EQ(c.wait(), 130) << read_text(c.err);
  const auto err = read_text(c.err);
  EXPECT_TRUE(has(err, "stopping (SIGINT): the round in progress is abandoned")) << err;
  EXPECT_TRUE(has(err, "stopped (SIGINT) after ")) << err;
  EXPECT_TRUE(has(err, "the record is in " + out.string() + "/")) << err;
  const auto summary = nlohmann::json::parse(read_text(out / "summary.json"));
  EXPECT_FALSE(summary.value("finished", true)) << summary.dump(2);
  EXPECT_EQ(summary.value("stop_reason", ""), "SIGINT");
  // metrics.jsonl: whole JSON lines, one per recorded round, fewer than the 40 asked for.
  const auto text = read_text(out / "metrics.jsonl");
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::istringstream lines(text);
  std::string line;
  int64_t n = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    EXPECT_EQ(j.value("round", int64_t{-1}), n);
    ++n;
  }
  EXPECT_GE(n, 1);
  EXPECT_LT(n, 40);
  EXPECT_EQ(summary.value("rounds_recorded", int64_t{-1}), n);
  EXPECT_TRUE(fs::exists(out / "config.toml"));
  fs::remove_all(dir);
}

TEST(RunStop, ASecondSignalExitsAtOnce) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("sigint2");
  const auto config = write_config(dir, tiny_run(40, /*deterministic=*/false));
  const auto out = dir / "run";
  auto c = spawn_elsa({"run", config.string(), "--out", out.string()}, dir, /*ignore_sigint=*/false);
  ASSERT_TRUE(wait_for_lines(out / "metrics.jsonl", 1, 60s)) << read_text(c.err);
  // Two different signals, so the kernel cannot merge them into one: whichever is handled second exits.
  ::kill(c.pid, SIGTERM);
  ::kill(c.pid, SIGINT);
  const int status = c.wait();
  EXPECT_TRUE(status == 128 + SIGINT || status == 128 + SIGTERM) << status << "\n" << read_text(c.err);
  EXPECT_TRUE(has(read_text(c.err), "second signal: exiting at once")) << read_text(c.err);
  fs::remove_all(dir);
}

TEST(RunStop, ASignalDuringSetUpLeavesNothing) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("sigint_setup");
  const auto config = write_config(dir, tiny_run(2, /*deterministic=*/false));
  const auto out = dir / "run";
  auto c = spawn_elsa({"run", config.string(), "--out", out.string()}, dir, /*ignore_sigint=*/false);
  std::this_thread::sleep_for(300ms); // loading the model and the data takes longer
  ::kill(c.pid, SIGINT);
  EXPECT_EQ(c.wait(), 128 + SIGINT) << read_text(c.err);
  EXPECT_FALSE(fs::exists(out)) << "a run interrupted during set-up left " << out;
  fs::remove_all(dir);
}

} // namespace
} // namespace elsa::testing
