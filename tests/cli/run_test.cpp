// `elsa run` and `elsa finetune` as a new user meets them: a run directory is new or replaced on purpose, a
// run that fails before it starts leaves nothing, options are checked with the file and named, relative
// paths are taken from the current directory and a missing folder names the absolute path tried, results go
// to stdout and progress to stderr. Tiny real runs (seconds); runs the built program (ELSA_BIN).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_helpers.hpp"

namespace elsa::testing {
namespace {

namespace fs = std::filesystem;

void expect_one_line_error(const split_result& r, const std::string& part) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("elsa: error: ", 0), 0u) << r.err;
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_TRUE(has(r.err, part)) << "no '" << part << "' in: " << r.err;
}

TEST(RunDirCli, AnEarlierRunIsRefusedThenReplacedWithForce) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("replace");
  const auto config = write_config(dir, tiny_run());
  const auto out = dir / "run";
  auto r = run_split("run " + config.string() + " --out " + out.string() + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The user's notes and an adapter folder of another task, next to the run.
  write_text(out / "notes.txt", "my notes\n");
  write_text(out / "adapters/genre/adapter_model.safetensors", "old\n");
  const auto before = snapshot(out);
  r = run_split("run " + config.string() + " --out " + out.string());
  expect_one_line_error(r, "--out " + out.string()
                             + ": the folder exists and is not empty (an earlier run?); "
                               "choose another --out, or add --force to replace what is in it");
  EXPECT_EQ(snapshot(out), before) << "a refused run changed the folder";
  r = run_split("run " + config.string() + " --out " + out.string() + " --force --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(out / "notes.txt"));
  EXPECT_FALSE(fs::exists(out / "adapters/genre"));
  EXPECT_TRUE(fs::exists(out / "adapters/spam/adapter_model.safetensors"));
  EXPECT_TRUE(nlohmann::json::parse(read_text(out / "summary.json")).value("finished", false));
  fs::remove_all(dir);
}

TEST(RunDirCli, ARunThatFailsBeforeItStartsLeavesNothing) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("setup_fails");
  auto cfg = tiny_run();
  cfg.head_blocks = 2;
  cfg.tail_blocks = 2; // elsa-base has 4 blocks: no body for the edge
  const auto config = write_config(dir, cfg);
  auto r = run_split("run " + config.string() + " --out " + (dir / "new/run").string() + " --quiet");
  expect_one_line_error(r, config.string()
                             + ": [split] head_blocks = 2, tail_blocks = 2 do not fit a 4-block model");
  EXPECT_FALSE(fs::exists(dir / "new")) << "a failed set-up left a folder";
  // With --force the earlier run stays as it was: it is only replaced once training starts.
  write_text(dir / "old/summary.json", "{}\n");
  write_text(dir / "old/notes.txt", "mine\n");
  const auto before = snapshot(dir / "old");
  r = run_split("run " + config.string() + " --out " + (dir / "old").string() + " --force");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(snapshot(dir / "old"), before);
  // An impossible or wrong --out fails at once, and a --force over a folder that is no run is refused.
  r = run_split("run " + config.string() + " --out /proc/elsa_cli_test/run");
  expect_one_line_error(r, "--out /proc/elsa_cli_test/run: cannot create the folder (");
  r = run_split("run " + config.string() + " --out " + (dir / "old/notes.txt").string());
  expect_one_line_error(r, "notes.txt: is a file, not a folder; choose another --out");
  write_text(dir / "mine/essay.txt", "mine\n");
  r = run_split("run " + config.string() + " --out " + (dir / "mine").string() + " --force");
  expect_one_line_error(r, "--force only replaces a run folder");
  EXPECT_TRUE(fs::exists(dir / "mine/essay.txt"));
  fs::remove_all(dir);
}

TEST(RunCliOptions, KeysCheckedAgainstTheModelNameTheFile) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("max_len");
  auto cfg = tiny_run();
  cfg.max_len = 200; // elsa-base has n_positions = 128
  const auto config = write_config(dir, cfg);
  const auto r = run_split("run " + config.string() + " --out " + (dir / "run").string() + " --quiet");
  expect_one_line_error(r, config.string() + ": [model] max_len = 200 exceeds the model's n_positions = 128");
  EXPECT_FALSE(fs::exists(dir / "run"));
  fs::remove_all(dir);
}

TEST(RunCliOptions, AreCheckedWithTheFileAndNamed) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("overrides");
  const auto config = write_config(dir, tiny_run());
  const auto out = (dir / "run").string();
  auto r = run_split("run " + config.string() + " --out " + out + " --rounds 1");
  expect_one_line_error(r, "--rounds 1: [topology] rounds = 1 is not a multiple of kappa2 = 2");
  r = run_split("run " + config.string() + " --out " + out + " --rounds 0");
  expect_one_line_error(r, "--rounds 0: [topology] rounds = 0 is out of range; allowed 1..1000000");
  r = run_split("run " + config.string() + " --out " + out + " --rounds -5");
  expect_one_line_error(r, "--rounds -5: [topology] rounds = -5 is out of range");
  // The file is checked with the override in place: --rounds 4 fixes rounds = 7 (the run then stops at the
  // missing model folder, after every check of the config passed).
  auto cfg = tiny_run();
  cfg.model_dir = dir / "no-model";
  auto text = run::to_toml(cfg);
  text.replace(text.find("rounds = 2"), 10, "rounds = 7");
  write_text(dir / "seven.toml", text);
  r = run_split("run " + (dir / "seven.toml").string() + " --out " + out);
  expect_one_line_error(r, "seven.toml: [topology] rounds = 7 is not a multiple of kappa2 = 2");
  r = run_split("run " + (dir / "seven.toml").string() + " --out " + out + " --rounds 4");
  expect_one_line_error(r, "[model] model_dir = \"" + (dir / "no-model").string() + "\": no folder");
  EXPECT_FALSE(fs::exists(out));
  fs::remove_all(dir);
}

TEST(RunCliOptions, SetOverridesAnyKeyAndIsCheckedLikeTheFile) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("set");
  const auto config = write_config(dir, tiny_run());
  const auto out = (dir / "run").string();
  auto r = run_split("run " + config.string() + " --out " + out + " --set privacy.ssop_sigma=-1");
  expect_one_line_error(r, "--set privacy.ssop_sigma=-1: [privacy] ssop_sigma = -1");
  r = run_split("run " + config.string() + " --out " + out + " --set privacy.ssop=maybe");
  expect_one_line_error(r, "--set privacy.ssop=maybe: [privacy] ssop");
  r = run_split("run " + config.string() + " --out " + out + " --set ssop=true");
  expect_one_line_error(r, "--set ssop=true: expected SECTION.KEY=VALUE");
  r = run_split("run " + config.string() + " --out " + out + " --set nosuch.key=1");
  expect_one_line_error(r, "--set nosuch.key=1: a run config has no section [nosuch]");
  r = run_split("run " + config.string() + " --out " + out + " --set privacy.nosuch=1");
  expect_one_line_error(r, "nosuch");
  EXPECT_FALSE(fs::exists(out));
  // Set keys are the run's: config.toml records them.
  r = run_split("run " + config.string() + " --out " + out + " --quiet --set privacy.capture=2 --set output.save_adapters=false");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto written = run::read_run_config(fs::path(out) / "config.toml");
  EXPECT_EQ(written.capture, 2);
  EXPECT_FALSE(written.save_adapters);
  fs::remove_all(dir);
}

TEST(AttackCli, InvertsACapturedRunAndNamesWhatIsMissing) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("attack");
  auto cfg = tiny_run();
  cfg.capture = 2;
  const auto config = write_config(dir, cfg);
  const auto out = dir / "run";
  auto r = run_split("run " + config.string() + " --out " + out.string() + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_split("attack invert --run " + out.string() + " --public-tokens 3000 --epochs 1 --hidden 32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j, nlohmann::json::parse(read_text(out / "attack.json")));
  for (const char* key : {"token_accuracy", "rouge_l", "unigram_token_accuracy", "unigram_rouge_l", "ssop", "ssop_k",
                          "ssop_sigma", "captured_batches", "scored_batches", "inverters"})
    EXPECT_TRUE(j.contains(key)) << key << " missing in " << j.dump(2);
  EXPECT_EQ(j["captured_batches"], 2);
  EXPECT_EQ(j["scored_batches"], 2);
  EXPECT_TRUE(has(r.err, "linear inverter")) << r.err;  // progress on stderr
  // The table form.
  r = run_split("attack invert --run " + out.string() + " --public-tokens 3000 --epochs 1 --hidden 32 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "| unigram (most frequent public token) |")) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
  // No captures: one line saying how to get them.
  fs::remove_all(out / "capture");
  r = run_split("attack invert --run " + out.string());
  expect_one_line_error(r, "no captured activations (run with [privacy] capture = N)");
  r = run_split("attack invert --run " + (dir / "nowhere").string());
  expect_one_line_error(r, "--run " + (dir / "nowhere").string() + ": no folder");
  fs::remove_all(dir);
}

TEST(RunCliPaths, RelativePathsAreTakenFromTheCurrentDirectory) {
  ELSA_REQUIRE_PROGRAM();
  // The README's command from another directory: the config's relative model_dir is not found there.
  const auto elsewhere = scratch_dir("elsewhere");
  const auto quickstart = (source_dir() / "configs/quickstart.toml").string();
  auto r = run_split("run " + quickstart + " --out run", elsewhere);
  expect_one_line_error(r, quickstart + ": [model] model_dir = \"models/elsa-base\": no folder "
                             + (elsewhere / "models/elsa-base").string()
                             + " (relative paths are taken from the current directory, " + elsewhere.string()
                             + ")");
  EXPECT_TRUE(has(r.err, "it is at " + (source_dir() / "models/elsa-base").string() + ": run from "
                           + source_dir().string()))
    << r.err;
  EXPECT_FALSE(has(r.err, "tokenizer train")) << r.err;
  EXPECT_TRUE(fs::is_empty(elsewhere)) << "the failed run left files in the current directory";
  // A missing data folder: the absolute path, and only advice that exists for `elsa run`.
  auto cfg = tiny_run();
  cfg.data_dir = "no-data";
  const auto config = write_config(elsewhere, cfg, "nodata.toml");
  r = run_split("run nodata.toml --out run", elsewhere);
  expect_one_line_error(r, "nodata.toml: [data] data_dir = \"no-data\": no folder "
                             + (elsewhere / "no-data").string());
  EXPECT_TRUE(has(r.err, "scripts/fetch_data.sh")) << r.err;
  EXPECT_FALSE(has(r.err, "--data-dir")) << r.err;
  EXPECT_FALSE(has(r.err, "ELSA_DATA_DIR")) << r.err;
  EXPECT_FALSE(fs::exists(elsewhere / "run"));
  fs::remove_all(elsewhere);
}

TEST(RunCliOutput, ResultsOnStdoutProgressOnStderr) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("streams");
  const auto config = write_config(dir, tiny_run());
  auto r = run_split("run " + config.string() + " --out " + (dir / "a").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "round   1/2 | loss ")) << r.err;
  EXPECT_TRUE(has(r.err, "round   2/2 | loss ")) << r.err;
  EXPECT_FALSE(has(r.err, "| spam |")) << r.err;
  EXPECT_TRUE(has(r.out, "| spam | ")) << r.out;
  EXPECT_TRUE(has(r.out, "wrote " + (dir / "a").string() + "/: config.toml, metrics.jsonl")) << r.out;
  EXPECT_TRUE(has(r.out, "plots and a report page (report.html): scripts/plot_run.py " + (dir / "a").string())) << r.out;
  EXPECT_FALSE(has(r.out, "round ")) << r.out;
  // --quiet hides the progress only.
  r = run_split("run " + config.string() + " --out " + (dir / "b").string() + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(has(r.out, "| spam | ")) << r.out;
  // --json: summary.json on stdout, nothing else.
  r = run_split("run " + config.string() + " --out " + (dir / "c").string() + " --quiet --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  EXPECT_TRUE(summary.value("finished", false));
  EXPECT_EQ(summary, nlohmann::json::parse(read_text(dir / "c/summary.json")));
  fs::remove_all(dir);
}

TEST(FinetuneDirCli, AnEarlierRunIsRefusedAndAFailedSetUpLeavesNothing) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("finetune");
  write_text(dir / "old/summary.json", "{}\n");
  write_text(dir / "old/adapter/adapter_model.safetensors", "old\n");
  const auto before = snapshot(dir / "old");
  auto r = run_split("finetune --out " + (dir / "old").string() + " --data-dir " + data_dir().string()
                     + " --model " + (source_dir() / "models/elsa-base").string());
  expect_one_line_error(r, "--out " + (dir / "old").string() + ": the folder exists and is not empty");
  EXPECT_EQ(snapshot(dir / "old"), before);
  r = run_split("finetune --out " + (dir / "new").string() + " --model " + (dir / "no-model").string());
  expect_one_line_error(r, "--model " + (dir / "no-model").string() + ": no folder");
  EXPECT_FALSE(fs::exists(dir / "new"));
  fs::remove_all(dir);
}

} // namespace
} // namespace elsa::testing
