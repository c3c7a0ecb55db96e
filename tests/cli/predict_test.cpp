// `elsa predict` as a user runs it: a finished run's model classifies the run's own test split (one text per
// line) with the accuracy the run recorded for it, names the labels as the run does, writes JSONL with
// --json, and refuses an empty line, an unknown task and a run without adapters with one line each.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "core/fed/federation_data.hpp"
#include "tests/cli/cli_helpers.hpp"

namespace elsa::testing {
namespace {

namespace fs = std::filesystem;

TEST(CliPredict, ARunsModelScoresItsTestSplitAsTheRunDid) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("predict");
  auto cfg = tiny_run(2);
  cfg.kappa1 = 4;
  cfg.test_examples = 0;  // the whole test split, in the order the data set gives it
  const auto config = write_config(dir, cfg);
  const auto out = dir / "run";
  auto r = run_split("run " + config.string() + " --out " + out.string() + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(read_text(out / "summary.json"));
  const auto& spam = summary["tasks"]["spam"];
  const auto labels = spam["labels"].get<std::vector<std::string>>();
  ASSERT_EQ(labels.size(), 2u);

  // The test split, one text per line, with its labels.
  const auto data = fed::load_federation_data(cfg);
  const auto& test = data.tasks.at(0)->test;
  std::string texts;
  for (const auto& x : test)
    texts += x.text + "\n";
  write_text(dir / "texts.txt", texts);
  r = run_split("predict --run " + out.string() + " < " + (dir / "texts.txt").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::size_t n = 0, correct = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    const auto label = line.substr(0, tab);
    const double p = std::stod(line.substr(tab + 1));
    EXPECT_GE(p, 0.5) << "the most probable of two labels";
    EXPECT_LE(p, 1.0);
    ASSERT_LT(n, test.size());
    correct += label == labels.at(static_cast<std::size_t>(test[n].label)) ? 1 : 0;
  }
  ASSERT_EQ(n, test.size()) << "one answer per line";
  // The same model, texts and truncation as the run's test score: the same accuracy (to a rounding flip).
  EXPECT_NEAR(static_cast<double>(correct) / static_cast<double>(n), spam["test_accuracy"].get<double>(), 0.005);
  EXPECT_EQ(spam["test_examples"], static_cast<int64_t>(n));

  // --json: one object per line, probabilities over the run's label names summing to 1.
  write_text(dir / "two.txt", test[0].text + "\n" + test[1].text + "\n");
  r = run_split("predict --run " + out.string() + " --json < " + (dir / "two.txt").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream jl(r.out);
  int objects = 0;
  for (std::string line; std::getline(jl, line); ++objects) {
    const auto j = nlohmann::json::parse(line);
    double sum = 0;
    for (const auto& name : labels)
      sum += j["probabilities"][name].get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(j["label"], labels.at(j["label_id"].get<std::size_t>()));
    EXPECT_DOUBLE_EQ(j["probability"].get<double>(), j["probabilities"][j["label"].get<std::string>()].get<double>());
  }
  EXPECT_EQ(objects, 2);

  // Bad input: one line each, exit 1.
  write_text(dir / "gap.txt", "first\n  \nthird\n");
  r = run_split("predict --run " + out.string() + " < " + (dir / "gap.txt").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "stdin line 2 is empty")) << r.err;
  r = run_split("predict --run " + out.string() + " --task party < " + (dir / "two.txt").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "--task party: the run's tasks are spam")) << r.err;
  fs::remove_all(out / "adapters");
  r = run_split("predict --run " + out.string() + " < " + (dir / "two.txt").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "no adapters of task spam")) << r.err;
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
}

} // namespace
} // namespace elsa::testing
