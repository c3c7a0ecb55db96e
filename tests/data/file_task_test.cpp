// A task from a user's own file (core/data/file_task): JSONL and CSV read as a user writes them, labels in
// first-seen order, seeded splits that a `split` field overrides, every bad row reported with file and line,
// and one-line refusals when nothing usable is left. Also the example file shipped in examples/data/.
#include "core/data/file_task.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/errors.hpp"

namespace {

using namespace elsa::data;
namespace fs = std::filesystem;

fs::path scratch() {
  const auto dir = fs::temp_directory_path() / fmt::format("elsa-file-task-{}", ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

fs::path write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  const auto p = dir / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

// `n` distinct rows per label, labels in the order given, as JSONL lines.
std::string jsonl_rows(const std::vector<std::string>& labels, int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    for (const auto& l : labels)
      out += fmt::format("{{\"text\": \"sentence {} about {} number {}\", \"label\": \"{}\"}}\n", i, l, i * 7 + 3, l);
  return out;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const elsa::error& e) {
    return e.what();
  }
  return "(no error)";
}

size_t total(const task_data& t) {
  return t.train.size() + t.validation.size() + t.test.size();
}

TEST(FileTask, NamesComeFromTheFileStem) {
  EXPECT_TRUE(is_file_task("file:data/reviews.jsonl"));
  EXPECT_FALSE(is_file_task("file:"));
  EXPECT_FALSE(is_file_task("spam"));
  EXPECT_EQ(task_name("file:data/reviews.jsonl"), "reviews");
  EXPECT_EQ(task_name("file:x.csv"), "x");
  EXPECT_EQ(task_name("spam"), "spam");
}

TEST(FileTask, JsonlLabelsInFirstSeenOrderSplitsCoverEveryRowAndRepeat) {
  const auto dir = scratch();
  // "neg" is seen first, then "pos", then integer label 7 (read as the text "7").
  std::string rows = jsonl_rows({"neg", "pos"}, 30);
  for (int i = 0; i < 30; ++i)
    rows += fmt::format("{{\"text\": \"row with a number label {}\", \"label\": 7}}\n", i);
  const auto path = write(dir, "mine.jsonl", "\n" + rows + "\n\n");  // blank lines are not rows
  const auto t = load_file_task(path);
  EXPECT_EQ(t.name, "mine");
  EXPECT_EQ(t.id, task::file);
  EXPECT_EQ(t.label_names, (std::vector<std::string>{"neg", "pos", "7"}));
  EXPECT_EQ(t.file_rows, 90u);
  EXPECT_TRUE(t.skipped_rows.empty());
  EXPECT_EQ(total(t), 90u);
  EXPECT_GE(t.validation.size(), 6u);
  EXPECT_GE(t.test.size(), 6u);
  std::set<std::string> texts;
  for (const auto* split : {&t.train, &t.validation, &t.test})
    for (const auto& e : *split)
      EXPECT_TRUE(texts.insert(e.text).second) << "a text in two splits: " << e.text;
  // Every label in every split (stratified).
  for (const auto* split : {&t.train, &t.validation, &t.test})
    for (int32_t l = 0; l < 3; ++l)
      EXPECT_TRUE(std::any_of(split->begin(), split->end(), [l](const example& e) { return e.label == l; }));
  // Same file, same options: the same splits; another split seed: other splits.
  const auto again = load_file_task(path);
  ASSERT_EQ(again.test.size(), t.test.size());
  for (size_t i = 0; i < t.test.size(); ++i)
    EXPECT_EQ(again.test[i].text, t.test[i].text);
  split_options other;
  other.seed = 99;
  const auto reseeded = load_file_task(path, other);
  std::set<std::string> a, b;
  for (const auto& e : t.test)
    a.insert(e.text);
  for (const auto& e : reseeded.test)
    b.insert(e.text);
  EXPECT_NE(a, b);
}

TEST(FileTask, EveryBadJsonlRowIsReportedWithFileAndLine) {
  const auto dir = scratch();
  std::string rows = jsonl_rows({"a", "b"}, 20);  // lines 1..40 are good
  rows += "{\"text\": \"   \", \"label\": \"a\"}\n";                 // 41 empty text
  rows += "{\"text\": \"no label here\"}\n";                          // 42 missing label
  rows += "{\"text\": \"lonely\", \"label\": \"c\"}\n";                // 43 a label seen once
  rows += "{\"text\": \"bad \xff\xfe bytes\", \"label\": \"a\"}\n";     // 44 invalid UTF-8
  rows += "not json at all\n";                                        // 45
  rows += "[\"text\", \"label\"]\n";                                  // 46 not an object
  rows += "{\"text\": 5, \"label\": \"a\"}\n";                         // 47 text not a string
  rows += "{\"text\": \"label is true\", \"label\": true}\n";          // 48 label a bool
  rows += "{\"text\": \"bad split\", \"label\": \"a\", \"split\": \"dev\"}\n"; // 49
  rows += "{\"text\": \"empty label\", \"label\": \"\"}\n";            // 50
  const auto path = write(dir, "bad.jsonl", rows);
  const auto t = load_file_task(path);
  const auto p = path.string();
  const std::vector<std::string> expected = {
    p + ":41: empty text",
    p + ":42: no \"label\"",
    p + ":43: label 'c' occurs on this row only; a label needs two rows at least",
    p + ":44: invalid UTF-8",
    p + ":45: not a JSON object ({\"text\": ..., \"label\": ...})",
    p + ":46: not a JSON object ({\"text\": ..., \"label\": ...})",
    p + ":47: \"text\" must be a string, not number",
    p + ":48: \"label\" must be a string or an integer, not boolean",
    p + ":49: split 'dev' is not train, validation or test",
    p + ":50: empty label",
  };
  EXPECT_EQ(t.skipped_rows, expected);
  EXPECT_EQ(t.file_rows, 50u);
  EXPECT_EQ(total(t), 40u);
  EXPECT_EQ(t.label_names, (std::vector<std::string>{"a", "b"}));
}

TEST(FileTask, CsvWithQuotesCommasNewlinesCrlfAndBom) {
  const auto dir = scratch();
  std::string csv = "\xEF\xBB\xBF" "id,Text,LABEL\r\n";  // BOM, header names in any case, extra column
  for (int i = 0; i < 20; ++i) {
    csv += fmt::format("{},\"first, with a comma {}\",x\r\n", i, i);
    csv += fmt::format("{},\"said \"\"hi\"\" {}\nacross lines\",y\r\n", i, i);  // a quote and a newline inside
  }
  const auto path = write(dir, "quoted.csv", csv);
  const auto t = load_file_task(path);
  EXPECT_TRUE(t.skipped_rows.empty()) << t.skipped_rows.front();
  EXPECT_EQ(t.label_names, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(total(t), 40u);
  std::set<std::string> texts;
  for (const auto* split : {&t.train, &t.validation, &t.test})
    for (const auto& e : *split)
      texts.insert(e.text);
  EXPECT_TRUE(texts.count("first, with a comma 3"));
  EXPECT_TRUE(texts.count("said \"hi\" 3 across lines")) << "whitespace collapsed, quotes unescaped";
}

TEST(FileTask, BadCsvRowsAreReportedOnTheLineTheyStart) {
  const auto dir = scratch();
  std::string csv = "text,label\n";  // line 1
  for (int i = 0; i < 20; ++i)       // lines 2..21
    csv += fmt::format("good row {},{}\n", i, i % 2 ? "odd" : "even");
  csv += "\"spans\ntwo lines\",odd\n";        // 22-23: fine
  csv += "three,fields,here\n";               // 24: wrong field count
  csv += "\"closed\" junk,\"even\nspanning\"\n"; // 25-26: text after a closing quote; the next field still read
  csv += ",even\n";                           // 27: empty text
  csv += "\"never closed,odd\nlast line\n";   // 28-29: unterminated to the end
  const auto path = write(dir, "rows.csv", csv);
  const auto t = load_file_task(path);
  const auto p = path.string();
  const std::vector<std::string> expected = {
    p + ":24: 3 fields where the header has 2",
    p + ":25: text after a closing quote (write a quote inside a quoted field as \"\")",
    p + ":27: empty text",
    p + ":28: a quoted field opened on this line is never closed: lines 28 to 29 not read",
  };
  EXPECT_EQ(t.skipped_rows, expected);
  EXPECT_EQ(total(t), 21u);
}

TEST(FileTask, ASplitFieldPinsRowsTheRestAreSplitBySeed) {
  const auto dir = scratch();
  std::string rows;
  for (int i = 0; i < 40; ++i)
    rows += fmt::format("{{\"text\": \"free row {}\", \"label\": \"{}\"}}\n", i, i % 2 ? "p" : "q");
  for (int i = 0; i < 4; ++i)
    rows += fmt::format("{{\"text\": \"pinned test row {}\", \"label\": \"{}\", \"split\": \"test\"}}\n", i,
                        i % 2 ? "p" : "q");
  rows += "{\"text\": \"pinned train row\", \"label\": \"p\", \"split\": \"train\"}\n";
  const auto t = load_file_task(write(dir, "pinned.jsonl", rows));
  auto in = [](const std::vector<example>& v, const std::string& text) {
    return std::any_of(v.begin(), v.end(), [&](const example& e) { return e.text == text; });
  };
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(in(t.test, fmt::format("pinned test row {}", i)));
  EXPECT_TRUE(in(t.train, "pinned train row"));
  // The free rows fill validation and test by their own fractions (10% each of 40).
  size_t free_test = 0;
  for (const auto& e : t.test)
    free_test += e.text.rfind("free", 0) == 0 ? 1 : 0;
  EXPECT_EQ(free_test, 4u);
  EXPECT_EQ(t.validation.size(), 4u);
}

TEST(FileTask, DuplicateTextsAreKeptOnceAndConflictsDropped) {
  const auto dir = scratch();
  std::string rows = jsonl_rows({"a", "b"}, 20);
  rows += "{\"text\": \"sentence 0 about a number 3\", \"label\": \"a\"}\n";  // a repeat: kept once
  rows += "{\"text\": \"sentence 1 about b number 10\", \"label\": \"a\"}\n"; // same text, other label
  const auto path = write(dir, "dups.jsonl", rows);
  const auto t = load_file_task(path);
  // Line 1 holds "sentence 0 about a number 3" (a), line 4 "sentence 1 about b number 10" (b).
  const auto p = path.string();
  EXPECT_EQ(t.skipped_rows, (std::vector<std::string>{
                              p + ":4: the same text is labelled 'a' on line 42; left out under both labels",
                              p + ":41: the same text as line 1; kept once",
                              p + ":42: the same text is labelled 'b' on line 4; left out under both labels",
                            }));
  EXPECT_EQ(total(t), 39u);
  EXPECT_EQ(file_task_report(t), "task dups from 42 rows: 39 used, 3 skipped; labels a, b");
}

TEST(FileTask, HeldOutRowsATrainingRowContainsAreReportedNullSplitIsNotGivenExtensionsInAnyCase) {
  const auto dir = scratch();
  std::string rows;
  for (int i = 0; i < 30; ++i)
    rows += fmt::format("{{\"text\": \"long sentence number {} about the weather in a far away town\", \"label\": "
                        "\"{}\", \"split\": null}}\n",
                        i, i % 2 ? "p" : "q");
  // Pinned to test, but every window of it is inside line 1's text (a training row, pinned too).
  rows += "{\"text\": \"a short quote of more than twelve words that a longer training row repeats whole\", \"label\": \"p\", \"split\": "
          "\"test\"}\n";
  rows += "{\"text\": \"here is a short quote of more than twelve words that a longer training row repeats whole and more\", \"label\": "
          "\"p\", \"split\": \"train\"}\n";
  const auto path = write(dir, "Held.JSONL", rows);
  const auto t = load_file_task(path);
  EXPECT_EQ(t.name, "Held");
  EXPECT_EQ(t.skipped_rows, (std::vector<std::string>{path.string() + ":31: a training row contains this text whole; "
                                                                      "left out of validation and test"}));
  EXPECT_EQ(total(t), 31u);
}

TEST(FileTask, RefusedWithOneLineWhenNothingUsableIsLeft) {
  const auto dir = scratch();
  auto refuse = [&](const std::string& name, const std::string& bytes, const std::string& expected) {
    const auto path = write(dir, name, bytes);
    const auto what = message_of([&] { load_file_task(path); });
    EXPECT_NE(what.find(expected), std::string::npos) << name << ": " << what;
    EXPECT_NE(what.find(path.string()), std::string::npos) << "names the file: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
  };
  refuse("allbad.jsonl", "nope\n{\"text\": \"\"}\n", "none of its 2 rows is usable (first: ");
  refuse("empty.jsonl", "\n\n", "no rows: nothing to train on");
  refuse("one.jsonl", jsonl_rows({"only"}, 20), "only one usable label ('only')");
  refuse("few.jsonl", jsonl_rows({"a", "b"}, 2), "its 4 usable rows leave the test split empty");
  refuse("noheader.csv", "sentence,class\nx,y\n", "the CSV header must name a 'text' and a 'label' column (it has: sentence, class)");
  refuse("blank.csv", "\n", "empty CSV file");
  refuse("notes.txt", "text\tlabel\n", "unknown file type '.txt'");
  std::string pinned = jsonl_rows({"a"}, 20);
  for (int i = 0; i < 4; ++i)
    pinned += fmt::format("{{\"text\": \"held out b {}\", \"label\": \"b\", \"split\": \"{}\"}}\n", i,
                          i % 2 ? "test" : "validation");
  refuse("pinned.jsonl", pinned, "label 'b' has no training row (every row of it names validation or test)");
  const auto missing = dir / "missing.jsonl";
  const auto what = message_of([&] { load_file_task(missing); });
  EXPECT_NE(what.find(missing.string() + ": no such file"), std::string::npos) << what;
}

TEST(FileTask, TheShippedExampleLoadsWhole) {
  const auto path = fs::path(ELSA_SOURCE_DIR) / "examples/data/eras.jsonl";
  const auto t = load_file_task(path);
  EXPECT_EQ(t.name, "eras");
  EXPECT_EQ(t.file_rows, 200u);
  EXPECT_TRUE(t.skipped_rows.empty());
  EXPECT_EQ(t.label_names.size(), 2u);
  EXPECT_EQ(total(t) + t.counts.contained + 2 * t.counts.conflicting, 200u);
}

} // namespace
