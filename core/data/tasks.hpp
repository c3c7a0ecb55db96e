// The four classification tasks clients fine-tune on (spam, party, genre, supersense), built from the real
// public data under data/, with seeded train/validation/test splits that never put one source document
// (message, speech, Brown file, synset) on two sides. See docs/data.md for how each task is built.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace elsa::data {

enum class task : uint8_t { spam, party, genre, supersense, file };

/// The four shipped tasks, in enum order (task::file, a user's own file, is not one of them).
const std::vector<task>& all_tasks();

/// "spam", "party", "genre", "supersense" ("file" for a task read from a local file).
const char* to_string(task t);

/// Inverse of to_string; an unknown name is an elsa::error (invalid_argument) listing the allowed names.
task task_from_string(std::string_view name);

/// Which split an example must go to; `any` lets the seeded split decide (a local file may name the split).
enum class split_side : uint8_t { any, train, validation, test };

/// One labelled text.
struct example {
  std::string text;   // one line: whitespace collapsed, no '\n'
  int32_t label = 0;  // index into task_data::label_names
  std::string group;  // source document: message id, speech id, Brown file, synset offset, file line
  split_side side = split_side::any;
};

/// How much was read and how much survived de-duplication (identical texts are kept once, so that the
/// same text can never sit in two splits).
struct load_counts {
  size_t raw = 0;                     // examples (messages, sentences, passages, synsets) before de-dup
  std::vector<size_t> raw_per_label;  // the same, per label
  size_t unique_bodies = 0;           // spam only: messages with distinct raw bodies (DATA.md: 5,875)
  size_t unique = 0;                  // examples kept after de-duplication
  size_t conflicting = 0;             // texts dropped because they occurred under two labels
  size_t contained = 0;               // validation/test examples dropped because a train text contains them
};

struct task_data {
  task id = task::spam;
  std::string name;                  // to_string(id), or the file's stem for task::file
  uint64_t seed_key = 0;             // mixed into every seed of this task: the enum value, or a hash of name
  std::vector<std::string> label_names;
  std::vector<example> train, validation, test;
  load_counts counts;
  /// Rows of a local file that were left out, one line each: "PATH:LINE: what is wrong" (task::file only).
  std::vector<std::string> skipped_rows;
  size_t file_rows = 0;              // task::file: data rows read (kept or skipped)
};

struct split_options {
  uint64_t seed = 1234;
  double validation_fraction = 0.1;
  double test_fraction = 0.1;
};

/// Loads one task from `data_dir` (the folder scripts/fetch_data.sh fills) and splits it by source
/// document, stratified by label. Same data and options -> same splits, whatever the directory order.
/// Validation/test examples that occur inside a train text (every containment_words-word window of theirs
/// is in train, e.g. a message quoted whole by a reply) are dropped and counted in counts.contained.
/// Missing data is an elsa::error (file_not_found) naming the path; bad fractions name the key.
task_data load_task(const std::filesystem::path& data_dir, task t, const split_options& options = {});

/// A task built from labelled examples read elsewhere (core/data/file_task.hpp): de-duplicated, split per
/// label over groups like load_task (an example whose `side` is set keeps it; the rest are split by seed
/// with the fractions of the examples left), held-out texts contained in train dropped.
task_data build_task(std::string name, uint64_t seed_key, std::vector<std::string> label_names,
                     std::vector<example> examples, const split_options& options);

/// The Brown genres the genre task classifies (label order), and the lexicographer files (with names)
/// of the supersense task. The pre-training corpus uses the other genres and lexicographer files.
const std::vector<std::string>& genre_task_genres();
const std::vector<std::pair<int, std::string>>& supersense_lex_files();

/// Longest passage of the genre task, in words: consecutive Brown sentences are joined up to this.
inline constexpr size_t genre_passage_words = 60;

/// Minimum words of a State of the Union sentence kept by the party task.
inline constexpr size_t party_min_words = 5;

} // namespace elsa::data
