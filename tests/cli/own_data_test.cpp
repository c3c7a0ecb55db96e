// Bring your own data, as a new user goes through it (README): a JSONL file of their own labelled sentences
// (the shipped example plus two bad rows) -> `elsa run` on it -> `elsa predict` on new sentences ->
// `elsa export --merged` -> the merged directory loads with our own loader and predicts the same labels with
// probabilities within 1e-5. Also the PEFT export's adapter_config.json and one-line refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/data/file_task.hpp"
#include "tests/cli/cli_helpers.hpp"

namespace elsa::testing {
namespace {

namespace fs = std::filesystem;

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(CliOwnData, RunPredictExportMergedAndPredictTheSame) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("own-data");
  // The user's file: the example's 200 rows, then an empty text and a row with no label (lines 201, 202).
  const auto file = dir / "eras.jsonl";
  write_text(file, read_text(source_dir() / "examples/data/eras.jsonl") + "{\"text\": \" \", \"label\": \"early\"}\n" +
                     "{\"text\": \"a sentence without its label\"}\n");
  auto cfg = tiny_run(2, false);  // threaded on the real clock, as users run it
  cfg.tasks = {"file:" + file.string()};
  cfg.kappa1 = 4;
  cfg.test_examples = 0;
  const auto config = write_config(dir, cfg);
  const auto run = dir / "run";
  auto r = run_split("run " + config.string() + " --out " + run.string() + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Every bad row on stderr with file and line, even with --quiet; the record counts them and names the labels.
  EXPECT_TRUE(has(r.err, "data: skipped " + file.string() + ":201: empty text")) << r.err;
  EXPECT_TRUE(has(r.err, "data: skipped " + file.string() + ":202: no \"label\"")) << r.err;
  const auto summary = read_json(run / "summary.json");
  const auto& eras = summary["tasks"]["eras"];
  const auto first_label = nlohmann::json::parse(read_text(source_dir() / "examples/data/eras.jsonl").substr(
    0, read_text(source_dir() / "examples/data/eras.jsonl").find('\n')))["label"];
  ASSERT_EQ(eras["labels"].size(), 2u);
  EXPECT_EQ(eras["labels"][0], first_label) << "labels in first-seen order";
  EXPECT_EQ(eras["file_rows"], 202);
  EXPECT_EQ(eras["rows_skipped"], 2);
  EXPECT_EQ(eras["skipped"].size(), 2u);

  // elsa predict on the task's test split scores what the run recorded.
  const auto task = data::load_file_task(file);
  std::string texts;
  for (const auto& x : task.test)
    texts += x.text + "\n";
  write_text(dir / "texts.txt", texts);
  r = run_split("predict --run " + run.string() + " --json < " + (dir / "texts.txt").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto unmerged = json_lines(r.out);
  ASSERT_EQ(unmerged.size(), task.test.size());
  std::size_t correct = 0;
  for (std::size_t i = 0; i < unmerged.size(); ++i)
    correct += unmerged[i]["label_id"].get<int32_t>() == task.test[i].label ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(correct) / static_cast<double>(unmerged.size()), eras["test_accuracy"].get<double>(),
              0.005);

  // The PEFT export: the adapter files with a complete adapter_config.json.
  r = run_split("export --run " + run.string() + " --out " + (dir / "peft").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto peft = read_json(dir / "peft" / "adapter_config.json");
  EXPECT_EQ(peft["peft_type"], "LORA");
  EXPECT_EQ(peft["task_type"], "SEQ_CLS");
  EXPECT_EQ(peft["r"], cfg.lora.rank);
  EXPECT_DOUBLE_EQ(peft["lora_alpha"].get<double>(), cfg.lora.alpha);
  EXPECT_EQ(peft["target_modules"].get<std::vector<std::string>>(), cfg.lora.targets);
  EXPECT_EQ(peft["base_model_name_or_path"], fs::absolute(cfg.model_dir).lexically_normal().string());
  EXPECT_EQ(read_text(dir / "peft" / "adapter_model.safetensors"),
            read_text(run / "adapters" / "eras" / "adapter_model.safetensors"));

  // The merged export: a GPT-2 directory whose weights differ from the base's (the adapters are in them) ...
  const auto merged = dir / "merged";
  r = run_split("export --run " + run.string() + " --merged --out " + merged.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"config.json", "model.safetensors", "vocab.json", "merges.txt", "score.safetensors",
                        "elsa_export.json"})
    EXPECT_TRUE(fs::exists(merged / f)) << f;
  EXPECT_NE(read_text(merged / "model.safetensors"), read_text(cfg.model_dir / "model.safetensors"));
  EXPECT_EQ(read_text(merged / "vocab.json"), read_text(cfg.model_dir / "vocab.json"));
  const auto config_json = read_json(merged / "config.json");
  EXPECT_EQ(config_json["model_type"], "gpt2");
  EXPECT_EQ(config_json["id2label"]["0"], eras["labels"][0]);
  EXPECT_EQ(config_json["label2id"][eras["labels"][1].get<std::string>()], 1);
  // Control: the same directory with the base's own weights (the head alone, no adapters) predicts
  // measurably otherwise, so agreement below shows the merge, not adapters too small to matter.
  const auto unadapted = dir / "unadapted";
  fs::create_directories(unadapted);
  for (const auto& e : fs::directory_iterator(merged))
    fs::copy_file(e.path(), unadapted / e.path().filename());
  fs::copy_file(cfg.model_dir / "model.safetensors", unadapted / "model.safetensors",
                fs::copy_options::overwrite_existing);
  r = run_split("predict --merged " + unadapted.string() + " --json < " + (dir / "texts.txt").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto without = json_lines(r.out);
  ASSERT_EQ(without.size(), unmerged.size());
  double largest = 0;
  for (std::size_t i = 0; i < unmerged.size(); ++i)
    for (const auto& [label, p] : unmerged[i]["probabilities"].items())
      largest = std::max(largest, std::abs(without[i]["probabilities"][label].get<double>() - p.get<double>()));
  EXPECT_GT(largest, 1e-3) << "the adapters change the predictions";
  // ... which predicts what the unmerged run predicts: the same labels, probabilities within 1e-5.
  r = run_split("predict --merged " + merged.string() + " --json < " + (dir / "texts.txt").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto from_merged = json_lines(r.out);
  ASSERT_EQ(from_merged.size(), unmerged.size());
  for (std::size_t i = 0; i < unmerged.size(); ++i) {
    EXPECT_EQ(from_merged[i]["label"], unmerged[i]["label"]) << "line " << i + 1;
    for (const auto& [label, p] : unmerged[i]["probabilities"].items())
      EXPECT_NEAR(from_merged[i]["probabilities"][label].get<double>(), p.get<double>(), 1e-5) << "line " << i + 1;
  }

  // Refusals, one line each.
  r = run_split("export --run " + run.string() + " --merged --out " + merged.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "already exists; choose another directory or add --force")) << r.err;
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  r = run_split("predict --merged " + (dir / "peft").string() + " < " + (dir / "texts.txt").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "elsa_export.json: missing")) << r.err;
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  r = run_split("export --run " + run.string() + " --model /nonexistent --out " + (dir / "x").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "--model: only --merged reads the base model")) << r.err;
  r = run_split("export --run " + run.string() + " --task spam --out " + (dir / "x").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "--task spam: the run's tasks are eras")) << r.err;
}

TEST(CliOwnData, AFileWithNothingUsableIsRefusedWithOneLine) {
  ELSA_REQUIRE_PROGRAM();
  const auto dir = scratch_dir("own-data-bad");
  const auto file = dir / "broken.csv";
  write_text(file, "text,label\n,a\n\"never closed,b\n");
  auto cfg = tiny_run(2);
  cfg.tasks = {"file:" + file.string()};
  const auto config = write_config(dir, cfg);
  const auto r = run_split("run " + config.string() + " --out " + (dir / "run").string() + " --quiet");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, file.string() + ": none of its 2 rows is usable (first: " + file.string() + ":2: empty text)"))
    << r.err;
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
}

} // namespace
} // namespace elsa::testing
