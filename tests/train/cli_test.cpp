// The model commands as a user runs them: bad input ends in one clear "elsa: error:" line and exit code 1;
// the shipped base model generates, and the same seed gives the same text.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/test_support.hpp"

namespace {

elsa::testing::program_result run(const std::string& args) {
  return elsa::testing::run_elsa(args);
}

bool has_binary() {
  return std::filesystem::exists(elsa::testing::elsa_bin());
}

} // namespace

TEST(ModelCli, MissingModelDirectoryIsOneClearError) {
  if (!has_binary())
    GTEST_SKIP() << "elsa not built at " << elsa::testing::elsa_bin();
  const auto r = run("generate --model /nonexistent/model --prompt hi --max-new 2");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("elsa: error: --model /nonexistent/model: no folder /nonexistent/model"),
            std::string::npos)
    << r.output;
}

TEST(ModelCli, BadPretrainConfigNamesTheKey) {
  if (!has_binary())
    GTEST_SKIP() << "elsa not built at " << elsa::testing::elsa_bin();
  const auto p = std::filesystem::temp_directory_path() / ("elsa_cli_bad_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(p) << "[train]\nbatch_size = 0\n";
  const auto r = run("pretrain " + p.string());
  std::filesystem::remove(p);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("batch_size"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1..4096"), std::string::npos) << r.output;
}

TEST(ModelCli, ShippedModelGeneratesDeterministically) {
  if (!has_binary())
    GTEST_SKIP() << "elsa not built at " << elsa::testing::elsa_bin();
  const auto dir = elsa::testing::source_dir() / "models" / "elsa-base";
  ASSERT_TRUE(std::filesystem::exists(dir / "model.safetensors")) << dir << " is missing";
  const std::string args = "generate --model " + dir.string() + " --prompt 'The ship' --max-new 8 --seed 3";
  const auto a = run(args), b = run(args);
  EXPECT_EQ(a.exit_code, 0) << a.output;
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(a.output.rfind("The ship", 0), 0u) << a.output;
  EXPECT_GT(a.output.size(), std::string("The ship\n").size());
}
