// `elsa experiment`: a reduced quick suite (two methods, one seed, 2 rounds of tiny real runs) writes a
// results table whose every row came from a run directory it names; run again, nothing is rerun; a suite that
// changed under a finished run is refused with one line.
#include <sstream>

#include "tests/cli/cli_helpers.hpp"

namespace elsa::testing {
namespace {

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::istringstream l(line);
    for (std::string f; std::getline(l, f, ',');)
      fields.push_back(f);
    if (!line.empty() && line.back() == ',')
      fields.emplace_back();
    rows.push_back(fields);
  }
  return rows;
}

TEST(ExperimentCli, AReducedSuiteWritesOneRowPerRunEachFromTheRunItNamesAndIsNotRerun) {
  const auto dir = scratch_dir("experiment");
  auto base = tiny_run(2, true);
  base.clients = 4;
  base.edges = 2;
  base.probes = 16;
  write_config(dir, base, "base.toml");
  const auto suite = dir / "suite.toml";
  write_text(suite, "[suite]\nconfig = \"" + (dir / "base.toml").string() + "\"\n"
                    "methods = [\"splitfed_lora\", \"elsa\"]\nseeds = [3]\n");
  const auto out = dir / "out";
  const auto args = suite.string() + " --out " + out.string();
  const auto r = run_split("experiment " + args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "2 runs; wrote " + (out / "results.csv").string())) << r.out;
  EXPECT_TRUE(has(r.err, "[1/2] splitfed_lora-spam-s3-none: running")) << r.err;
  EXPECT_TRUE(has(r.err, "[2/2] elsa-spam-s3-none: running, ETA")) << r.err;

  const auto csv = read_text(out / "results.csv");
  const auto rows = csv_rows(csv);
  ASSERT_EQ(rows.size(), 3u) << csv;
  const auto& header = rows[0];
  const auto column = [&header](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  ASSERT_LT(column("run_dir"), header.size());
  ASSERT_LT(column("test_accuracy"), header.size());
  const std::vector<std::string> methods = {"splitfed_lora", "elsa"};
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    ASSERT_EQ(row.size(), header.size()) << csv;
    EXPECT_EQ(row[column("method")], methods[i - 1]);
    EXPECT_EQ(row[column("seed")], "3");
    EXPECT_EQ(row[column("finished")], "true");
    // The row's numbers are its run's: the run directory it names holds the summary they came from.
    const auto run = out / row[column("run_dir")];
    const auto summary = read_json(run / "summary.json");
    EXPECT_TRUE(summary.value("finished", false));
    EXPECT_EQ(summary["rounds_recorded"], 2);
    EXPECT_NEAR(std::stod(row[column("test_accuracy")]), summary["tasks"]["spam"]["test_accuracy"].get<double>(), 5e-5);
    EXPECT_EQ(std::stod(row[column("bytes_client_to_edge")]), summary["bytes"]["client_to_edge"].get<double>());
    // The method's switches reached the run.
    const auto config = read_text(run / "config.toml");
    EXPECT_TRUE(has(config, i == 2 ? "ssop = true" : "ssop = false")) << config;
    EXPECT_TRUE(has(config, i == 2 ? "clustering = \"behaviour\"" : "clustering = \"none\"")) << config;
    EXPECT_TRUE(has(config, i == 2 ? "layout = \"u_shaped\"" : "layout = \"two_part\"")) << config;
    if (i == 1) {
      // SplitFed's one server: one edge, the cloud's average every round, and labels crossed with activations
      // (no gradient goes up, none of the U-shape's tail).
      EXPECT_TRUE(has(config, "edges = 1")) << config;
      EXPECT_EQ(summary["bytes_by_kind"]["client_to_edge"].value("gradients", 0), 0) << summary.dump();
      EXPECT_GT(summary["bytes_by_kind"]["client_to_edge"].value("activations", 0), 0) << summary.dump();
    }
    EXPECT_TRUE(has(config, "seed = 3")) << config;
  }
  const auto md = read_text(out / "results.md");
  EXPECT_TRUE(has(md, "| elsa | spam | - | none | 1 | ")) << md;
  EXPECT_TRUE(has(md, "| splitfed_lora | spam | - | none | 1 | ")) << md;
  EXPECT_TRUE(has(md, "- [topology] rounds = 2\n")) << md;

  // The suite's plots, and one run's plots with its self-contained report page (images inline, nothing fetched).
  const auto scripts = source_dir() / "scripts";
  auto plot = run_shell((scripts / "plot_suite.py").string() + " " + out.string() + " 2>&1");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  for (const char* png : {"accuracy_vs_round.png", "accuracy_vs_sim_time.png", "bytes_per_tier.png"})
    EXPECT_GT(std::filesystem::file_size(out / "plots" / png), 1000u) << png;
  const auto first_run = out / rows[2][column("run_dir")];  // ELSA's, with trust scores
  plot = run_shell((scripts / "plot_run.py").string() + " " + first_run.string() + " 2>&1");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  for (const char* png : {"accuracy.png", "loss.png", "bytes.png", "trust.png"})
    EXPECT_GT(std::filesystem::file_size(first_run / "plots" / png), 1000u) << png;
  const auto page = read_text(first_run / "report.html");
  EXPECT_TRUE(has(page, "<img alt='Validation accuracy after each cloud round' src='data:image/png;base64,")) << page.substr(0, 2000);
  EXPECT_TRUE(has(page, "<td>spam</td>")) << page.substr(0, 2000);
  EXPECT_FALSE(has(page, "http:") || has(page, "https:") || has(page, "src='plots/")) << page.substr(0, 2000);
  const auto bad = run_shell((scripts / "plot_run.py").string() + " " + dir.string() + " 2>&1");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_TRUE(has(bad.output, "plot_run: " + dir.string() + ": no metrics.jsonl; not a run directory of elsa run"))
    << bad.output;

  // Again: every run finished, so none is rerun and the table is the same.
  const auto again = run_split("experiment " + args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(has(again.err, "[1/2] splitfed_lora-spam-s3-none: finished earlier, kept")) << again.err;
  EXPECT_TRUE(has(again.err, "[2/2] elsa-spam-s3-none: finished earlier, kept")) << again.err;
  EXPECT_EQ(read_text(out / "results.csv"), csv);

  // A cell whose run did not finish (its summary gone, as after kill -9) continues from its last checkpoint (here
  // none: a 2-round run checkpoints no cloud round before its last) and lands on the same numbers; the other is
  // kept. The folder named another way (a trailing "/.") is the same suite.
  std::filesystem::remove(out / rows[2][column("run_dir")] / "summary.json");
  const auto resumed = run_split("experiment " + suite.string() + " --out " + (out / ".").string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(has(resumed.err, "[1/2] splitfed_lora-spam-s3-none: finished earlier, kept")) << resumed.err;
  EXPECT_TRUE(has(resumed.err, "[2/2] elsa-spam-s3-none: continuing from its last checkpoint")) << resumed.err;
  const auto after = csv_rows(read_text(out / "results.csv"));
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[2][column("test_accuracy")], rows[2][column("test_accuracy")]);
  EXPECT_EQ(after[2][column("finished")], "true");
  EXPECT_EQ(read_json(out / rows[2][column("run_dir")] / "summary.json")["resumed_from"], nlohmann::json::array({0}))
    << "resumed, not started over";

  // The suite changed under a finished run: refused, naming the run directory, nothing rerun.
  write_text(suite, read_text(suite) + "[set.topology]\nkappa1 = 2\n");
  const auto changed = run_split("experiment " + args);
  EXPECT_EQ(changed.exit_code, 1) << changed.err;
  EXPECT_TRUE(has(changed.err, "cell splitfed_lora-spam-s3-none ran with another config than the suite now gives it"))
    << changed.err;
  EXPECT_EQ(lines_of(changed.err), 1) << changed.err;
  std::filesystem::remove_all(dir);
}

TEST(ExperimentCli, ABadSuiteIsRefusedBeforeAnyRun) {
  const auto dir = scratch_dir("experiment_bad");
  write_config(dir, tiny_run(2, true), "base.toml");
  const auto suite = dir / "suite.toml";
  // The base config is fine, a cell's is not: refused before the first run, naming the cell's config file.
  write_text(suite, "[suite]\nconfig = \"" + (dir / "base.toml").string() + "\"\nmethods = [\"elsa\"]\n"
                    "[set.topology]\nrounds = 3\n");
  const auto r = run_split("experiment " + suite.string() + " --out " + (dir / "out").string());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(has(r.err, "configs/elsa-spam-s1234-none.toml: [topology] rounds = 3")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "runs"));
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace elsa::testing
