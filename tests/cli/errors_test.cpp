// One error style everywhere: every usage or input error is one line on stderr, "elsa: error: ...", naming
// the command, option, file or key and what to do, with exit status 1; no internal error, no stack trace;
// --help shows every option's default and exits 0. Runs the built program (ELSA_BIN, set by ctest).
#include <gtest/gtest.h>

#include "tests/cli/cli_helpers.hpp"

namespace elsa::testing {
namespace {

// One line, the error prefix, exit 1, nothing on stdout, and `part` in the message.
void expect_user_error(const split_result& r, const std::string& part) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("elsa: error: ", 0), 0u) << r.err;
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_TRUE(has(r.err, part)) << "no '" << part << "' in: " << r.err;
  EXPECT_FALSE(has(r.err, "internal")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliErrors, UnknownAndMissingCommandsAreNamed) {
  ELSA_REQUIRE_PROGRAM();
  auto r = run_split("frobnicate");
  expect_user_error(r, "unknown command 'frobnicate'; the commands are data, tokenizer, pretrain, finetune");
  r = run_split("tokenizer frob");
  expect_user_error(r, "unknown command 'frob' of elsa tokenizer; the commands are encode, decode, train");
  r = run_split("");
  expect_user_error(r, "elsa: error: no command given; the commands are data,");
  r = run_split("data");
  expect_user_error(r, "elsa data: no command given; the commands are stats");
}

// `elsa --version`: the version, the commit of this checkout (when it is one), the build type and the library
// versions the Debian packages give; exit 0, nothing on stderr.
TEST(CliVersion, NamesTheCommitAndTheLibraries) {
  ELSA_REQUIRE_PROGRAM();
  const auto r = run_split("--version");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_TRUE(has(r.out, "elsa 0.1.0 (commit ")) << r.out;
  EXPECT_TRUE(has(r.out, "CAF 0.17.6, LibTorch 1.13.")) << r.out;
  EXPECT_TRUE(has(r.out, "Cap'n Proto 0.9.2")) << r.out;
  // The commit is this checkout's HEAD (possibly "-dirty"), or "unknown" outside a git checkout.
  const auto head = std::filesystem::temp_directory_path() / ("elsa_version_head_" + std::to_string(::getpid()));
  const std::string git = "git -C '" + source_dir().string() + "' rev-parse --short=12 HEAD > '" + head.string()
                          + "' 2>/dev/null";
  if (std::system(git.c_str()) == 0) {
    auto commit = read_text(head);
    commit = commit.substr(0, commit.find('\n'));
    EXPECT_TRUE(has(r.out, "(commit " + commit)) << r.out << " vs HEAD " << commit;
  } else {
    EXPECT_TRUE(has(r.out, "(commit unknown")) << r.out;
  }
  std::filesystem::remove(head);
}

TEST(CliErrors, UsageErrorsExitWithOneAndNameTheOption) {
  ELSA_REQUIRE_PROGRAM();
  auto r = run_split("run");
  expect_user_error(r, "elsa run: give a CONFIG (e.g. configs/quickstart.toml) or --resume RUN");
  r = run_split("run configs/quickstart.toml --frob");
  expect_user_error(r, "--frob");
  r = run_split("run configs/quickstart.toml --rounds two");
  expect_user_error(r, "--rounds");
  r = run_split("eval-lm --threads 0");
  expect_user_error(r, "elsa eval-lm: --threads: 0 is out of range; allowed 1..256");
  r = run_split("eval-lm --max-tokens -1");
  expect_user_error(r, "--max-tokens: -1 is out of range; allowed 0 or more");
  r = run_split("generate --prompt hi --max-new -3");
  expect_user_error(r, "--max-new: -3 is out of range; allowed 0..100000");
  r = run_split("generate --prompt hi --temperature 0");
  expect_user_error(r, "--temperature: 0 is out of range; allowed (0, 1000000]");
  r = run_split("finetune --epochs 0");
  expect_user_error(r, "--epochs: 0 is out of range; allowed 1..1000");
  r = run_split("finetune --lr 0");
  expect_user_error(r, "--lr: 0 is out of range; allowed [1e-07, 1]");
  r = run_split("finetune --task sentiment");
  expect_user_error(r, "--task");
  r = run_split("data stats --clients 0");
  expect_user_error(r, "--clients: 0 is out of range; allowed 1..4096");
  r = run_split("pretrain configs/pretrain.toml --steps 0");
  expect_user_error(r, "--steps: 0 is out of range");
}

TEST(CliErrors, MissingFoldersNameTheOptionAndTheAbsolutePath) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("folders");
  auto r = run_split("eval-lm --model nowhere", dir);
  expect_user_error(r, "--model nowhere: no folder " + (dir / "nowhere").string()
                         + " (relative paths are taken from the current directory, " + dir.string() + ")");
  r = run_split("generate --prompt hi --model " + (dir / "m").string());
  expect_user_error(r, "--model " + (dir / "m").string() + ": no folder");
  r = run_split("data stats --data-dir " + (dir / "d").string());
  expect_user_error(r, "scripts/fetch_data.sh");
  EXPECT_FALSE(has(r.err, "ELSA_DATA_DIR")) << r.err;
  // A folder that is not a model: no advice to train a tokenizer into it.
  std::filesystem::create_directories(dir / "empty");
  r = run_split("eval-lm --model " + (dir / "empty").string() + " --data-dir " + data_dir().string());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_TRUE(has(r.err, (dir / "empty").string())) << r.err;
  EXPECT_FALSE(has(r.err, "tokenizer train")) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(dir / "empty"));
  std::filesystem::remove_all(dir);
}

TEST(CliErrors, AFolderIsNoConfig) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("config_folder");
  const auto r = run_split("run " + dir.string() + " --out " + (dir / "out").string());
  expect_user_error(r, dir.string() + ": is a folder, not a config file");
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
  std::filesystem::remove_all(dir);
}

TEST(CliHelp, ShowsEveryDefault) {
  ELSA_REQUIRE_PROGRAM();
  auto r = run_split("run --help");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* part :
       {"--out TEXT=CONFIG's [output] dir", "--rounds INT=CONFIG's [topology] rounds, built-in 10", "--force",
        "--quiet", "--json", "--deterministic"})
    EXPECT_TRUE(has(r.out, part)) << "no '" << part << "' in:\n" << r.out;
  r = run_split("finetune --help");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"--model TEXT=models/elsa-base", "--task TEXT:{spam,party,genre,supersense}=spam",
                           "--out TEXT=runs/finetune", "--data-dir TEXT=data", "--epochs INT:in 1..1000=2",
                           "--max-train INT:in 1..1000000000=8000", "--lr FLOAT:in [1e-07, 1]=0.002",
                           "--rank INT:in 1..1024=8", "--threads INT:in 1..256=2"})
    EXPECT_TRUE(has(r.out, part)) << "no '" << part << "' in:\n" << r.out;
}

TEST(ExampleSplitTraining, RefusesASplitThatLeaksOrLeavesNoBody) {
  const auto bin = std::string{ELSA_BINARY_DIR} + "/elsa_example_split_training";
  ASSERT_TRUE(std::filesystem::exists(bin)) << bin;
  const auto run = [&](const std::string& args) {
    return run_shell("cd '" + source_dir().string() + "' && " + bin + " " + args + " 2>&1");
  };
  auto r = run("--a 0 --steps 1");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "--a")) << r.output;
  r = run("--a 2 --b 2 --steps 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(has(r.output, "--a 2 --b 2: the model has 4 blocks")) << r.output;
}

} // namespace
} // namespace elsa::testing
