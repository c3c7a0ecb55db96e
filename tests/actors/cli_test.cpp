// `elsa run` as a user runs it: progress lines, the summary table and the run directory for a good config;
// one clear error line and exit code 1 for a bad one. Needs the elsa program built (ELSA_BIN, set by ctest).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/run/run_config.hpp"
#include "tests/test_support.hpp"

namespace elsa::testing {
namespace {

std::filesystem::path write_config(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / (name + ".toml");
  std::ofstream(path) << text;
  return path;
}

TEST(RunCli, PrintsProgressAndTheSummaryAndWritesTheRunDirectory) {
  run::run_config cfg;
  cfg.model_dir = source_dir() / "models/elsa-base";
  cfg.data_dir = data_dir();
  cfg.clients = 2;
  cfg.edges = 1;
  cfg.rounds = 2;
  cfg.kappa1 = 1;
  cfg.max_len = 32;
  cfg.eval_examples = 32;
  cfg.test_examples = 32;
  cfg.deterministic = true;
  const auto out = std::filesystem::temp_directory_path() / "elsa_run_cli_test";
  std::filesystem::remove_all(out);
  const auto config = write_config("elsa_run_cli_test", run::to_toml(cfg));
  const auto r = run_elsa("run " + config.string() + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("round   1/2 | loss "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("round   2/2 | loss "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("| spam | "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("wrote " + out.string()), std::string::npos) << r.output;
  for (const char* file : {"config.toml", "metrics.jsonl", "summary.json", "adapters/spam/adapter_config.json"})
    EXPECT_TRUE(std::filesystem::exists(out / file)) << file;
  // The written config is the effective one and reads back.
  EXPECT_EQ(run::read_run_config(out / "config.toml").rounds, 2);
}

TEST(RunCli, BadConfigsAreOneClearLine) {
  const auto bad = write_config("elsa_run_cli_bad", "[topology]\nkappa1 = 0\n");
  auto r = run_elsa("run " + bad.string() + " --out /tmp/never");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("[topology] kappa1 = 0 is out of range"), std::string::npos) << r.output;
  r = run_elsa("run /nonexistent/run.toml");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/run.toml: config file not found"), std::string::npos) << r.output;
  const auto no_model = write_config("elsa_run_cli_no_model", "[model]\nmodel_dir = \"/nonexistent/model\"\n[data]\ndata_dir = \""
                                                              + data_dir().string() + "\"\n");
  r = run_elsa("run " + no_model.string() + " --out /tmp/never --quiet");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/model"), std::string::npos) << r.output;
}

} // namespace
} // namespace elsa::testing
