// A classification task from a user's own labelled file (`[data] tasks = ["file:PATH"]`): JSONL with one
// {"text": ..., "label": ...} object per line, or CSV with a header naming `text` and `label` columns; an
// optional `split` field/column ("train", "validation", "test") pins a row to a split, the other rows are
// split by seed as the shipped tasks are. Rows that cannot be used are skipped and each is reported as
// "PATH:LINE: what is wrong"; a file with nothing usable left is refused with one line. Torch-free.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/data/tasks.hpp"

namespace elsa::data {

/// The prefix of a task spec that names a local file: "file:PATH".
inline constexpr std::string_view file_task_prefix = "file:";

/// True when `spec` is "file:PATH" (PATH not empty).
bool is_file_task(std::string_view spec);

/// The task's name: the file's stem for "file:PATH" ("file:data/reviews.jsonl" -> "reviews"), else `spec`.
std::string task_name(std::string_view spec);

/// Reads `path` (format from its extension: .jsonl or .csv), maps labels to ids in first-seen order (a label
/// with a single row is skipped: it could never be both learnt and tested), de-duplicates and splits as
/// build_task does. elsa::error naming the file when it cannot be read, has an unknown extension or no
/// usable rows, has fewer than two usable labels, or leaves the train, validation or test split empty.
task_data load_file_task(const std::filesystem::path& path, const split_options& options = {});

/// What a file task kept, in one line: "task NAME from N rows: U used, S skipped; labels a, b".
std::string file_task_report(const task_data& t);

/// For the run record (summary.json tasks.<name>): file_rows, rows_used, rows_skipped and the first 100 skipped
/// lines under `skipped`; an empty object for a shipped task.
nlohmann::json file_task_record(const task_data& t);

} // namespace elsa::data
