// Reading a user's labelled JSONL or CSV file into a task (see file_task.hpp).
#include "core/data/file_task.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/data/clean.hpp"
#include "core/data/ngram.hpp"
#include "core/errors.hpp"

namespace elsa::data {

namespace fs = std::filesystem;

namespace {

// One data row as read, before its label has an id.
struct row {
  size_t line = 0;
  std::string text, label;
  split_side side = split_side::any;
};

struct reader {
  std::string origin;               // the path as the user wrote it, for messages
  std::vector<row> rows;
  std::vector<std::pair<size_t, std::string>> skipped; // (line, why)
  size_t data_rows = 0;

  void skip(size_t line, std::string why) {
    skipped.emplace_back(line, std::move(why));
  }

  // Checks and keeps one row; `text`, `label` and `split` are the raw field values.
  void add(size_t line, std::string_view text, std::string_view label, std::optional<std::string_view> split) {
    ++data_rows;
    if (!is_valid_utf8(text) || !is_valid_utf8(label) || (split && !is_valid_utf8(*split)))
      return skip(line, "invalid UTF-8");
    row r;
    r.line = line;
    r.text = collapse_whitespace(text);
    r.label = collapse_whitespace(label);
    if (r.text.empty())
      return skip(line, "empty text");
    if (r.label.empty())
      return skip(line, "empty label");
    if (split) {
      const auto s = collapse_whitespace(*split);
      if (s == "train")
        r.side = split_side::train;
      else if (s == "validation")
        r.side = split_side::validation;
      else if (s == "test")
        r.side = split_side::test;
      else if (!s.empty())
        return skip(line, fmt::format("split '{}' is not train, validation or test", s));
    }
    rows.push_back(std::move(r));
  }
};

std::string read_all(const fs::path& path, const std::string& origin) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw error(errc::file_not_found, fmt::format("{}: no such file (a task \"file:PATH\" names a JSONL or CSV file)",
                                                  origin));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof())
    throw error(errc::io_error, fmt::format("{}: cannot read the file", origin));
  auto bytes = ss.str();
  if (bytes.rfind("\xEF\xBB\xBF", 0) == 0)
    bytes.erase(0, 3); // a UTF-8 byte-order mark, as spreadsheet programs write
  return bytes;
}

std::string json_problem(const nlohmann::json& j, const char* key, std::string& out) {
  if (!j.contains(key))
    return fmt::format("no \"{}\"", key);
  const auto& v = j[key];
  if (v.is_string()) {
    out = v.get<std::string>();
    return {};
  }
  if (std::string_view(key) == "label" && v.is_number_integer()) {
    out = v.dump();
    return {};
  }
  return std::string_view(key) == "label"
           ? fmt::format("\"label\" must be a string or an integer, not {}", v.type_name())
           : fmt::format("\"{}\" must be a string, not {}", key, v.type_name());
}

void read_jsonl(const std::string& bytes, reader& r) {
  size_t line_no = 0;
  for (size_t pos = 0; pos < bytes.size();) {
    auto end = bytes.find('\n', pos);
    if (end == std::string::npos)
      end = bytes.size();
    std::string_view line(bytes.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos)
      continue; // blank lines carry no row
    if (!is_valid_utf8(line)) {
      ++r.data_rows;
      r.skip(line_no, "invalid UTF-8");
      continue;
    }
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++r.data_rows;
      r.skip(line_no, "not a JSON object ({\"text\": ..., \"label\": ...})");
      continue;
    }
    std::string text, label, split;
    auto why = json_problem(j, "text", text);
    if (why.empty())
      why = json_problem(j, "label", label);
    const bool has_split = j.contains("split") && !j["split"].is_null();  // null: not given (pandas writes it)
    if (why.empty() && has_split)
      why = json_problem(j, "split", split);
    if (!why.empty()) {
      ++r.data_rows;
      r.skip(line_no, why);
      continue;
    }
    r.add(line_no, text, label, has_split ? std::optional<std::string_view>(split) : std::nullopt);
  }
}

// RFC 4180 records: fields separated by commas, optionally in double quotes ("" is a quote inside), a quoted
// field may span lines; CRLF or LF ends a record. Each record remembers the line it starts on.
struct csv_record {
  size_t line = 0;
  std::vector<std::string> fields;
  std::string problem; // not empty: the record could not be parsed
};

std::vector<csv_record> parse_csv(const std::string& s) {
  std::vector<csv_record> out;
  size_t line = 1, i = 0;
  while (i < s.size()) {
    csv_record rec;
    rec.line = line;
    std::string field;
    bool done = false;
    while (!done) {
      if (i < s.size() && s[i] == '"') { // a quoted field
        ++i;
        bool closed = false;
        while (i < s.size()) {
          if (s[i] == '"') {
            if (i + 1 < s.size() && s[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (s[i] == '\n')
            ++line;
          field += s[i++];
        }
        if (!closed) {
          const auto last = s.empty() || s.back() == '\n' ? line - 1 : line;
          rec.problem = last > rec.line
                          ? fmt::format("a quoted field opened on this line is never closed: lines {} to {} not read",
                                        rec.line, last)
                          : std::string("a quoted field is never closed");
          i = s.size();
          done = true;
          break;
        }
        // After the closing quote: a separator, the end of the record, or junk (kept reading as unquoted
        // text up to the next separator, so the fields after it stay in step).
        if (i < s.size() && s[i] == '\r' && (i + 1 == s.size() || s[i + 1] == '\n'))
          ++i;
        if (i < s.size() && s[i] != ',' && s[i] != '\n') {
          if (rec.problem.empty())
            rec.problem = "text after a closing quote (write a quote inside a quoted field as \"\")";
          while (i < s.size() && s[i] != ',' && s[i] != '\n')
            ++i;
        }
      } else {
        while (i < s.size() && s[i] != ',' && s[i] != '\n')
          field += s[i++];
        if (!field.empty() && field.back() == '\r')
          field.pop_back();
      }
      if (i < s.size() && s[i] == ',') {
        ++i;
        rec.fields.push_back(std::move(field));
        field.clear();
        continue;
      }
      rec.fields.push_back(std::move(field));
      if (i < s.size()) { // the '\n'
        ++i;
        ++line;
      }
      done = true;
    }
    out.push_back(std::move(rec));
  }
  return out;
}

bool blank_record(const csv_record& r) {
  return r.problem.empty() && r.fields.size() == 1 && collapse_whitespace(r.fields[0]).empty();
}

void read_csv(const std::string& bytes, reader& r) {
  const auto records = parse_csv(bytes);
  size_t k = 0;
  while (k < records.size() && blank_record(records[k]))
    ++k;
  if (k == records.size())
    throw error(errc::malformed_input, fmt::format("{}: empty CSV file (a header with text and label, then rows)",
                                                   r.origin));
  const auto& header = records[k];
  std::map<std::string, size_t> column;
  std::vector<std::string> names;
  for (size_t c = 0; c < header.fields.size(); ++c) {
    auto name = collapse_whitespace(header.fields[c]);
    for (auto& ch : name)
      if (ch >= 'A' && ch <= 'Z')
        ch = static_cast<char>(ch - 'A' + 'a');
    names.push_back(name);
    column.emplace(name, c);
  }
  if (!header.problem.empty())
    throw error(errc::malformed_input, fmt::format("{}:{}: the CSV header: {}", r.origin, header.line, header.problem));
  if (column.count("text") == 0 || column.count("label") == 0)
    throw error(errc::malformed_input,
                fmt::format("{}:{}: the CSV header must name a 'text' and a 'label' column (it has: {})", r.origin,
                            header.line, fmt::join(names, ", ")));
  const auto text = column["text"], label = column["label"];
  const auto split_column = column.find("split");
  const size_t split = split_column == column.end() ? std::string::npos : split_column->second;
  for (++k; k < records.size(); ++k) {
    const auto& rec = records[k];
    if (blank_record(rec))
      continue;
    if (!rec.problem.empty()) {
      ++r.data_rows;
      r.skip(rec.line, rec.problem);
      continue;
    }
    if (rec.fields.size() != header.fields.size()) {
      ++r.data_rows;
      r.skip(rec.line, fmt::format("{} fields where the header has {}", rec.fields.size(), header.fields.size()));
      continue;
    }
    r.add(rec.line, rec.fields[text], rec.fields[label],
          split != std::string::npos ? std::optional<std::string_view>(rec.fields[split]) : std::nullopt);
  }
}

uint64_t name_key(std::string_view name) {
  return fnv1a(name) ^ 0x66696c65ULL; // "file": never one of the shipped tasks' small keys
}

} // namespace

bool is_file_task(std::string_view spec) {
  return spec.size() > file_task_prefix.size() && spec.substr(0, file_task_prefix.size()) == file_task_prefix;
}

std::string task_name(std::string_view spec) {
  if (!is_file_task(spec))
    return std::string(spec);
  return fs::path(std::string(spec.substr(file_task_prefix.size()))).stem().string();
}

task_data load_file_task(const fs::path& path, const split_options& options) {
  reader r;
  r.origin = path.string();
  auto ext = path.extension().string();
  for (auto& ch : ext)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (ext != ".jsonl" && ext != ".csv")
    throw error(errc::invalid_argument,
                fmt::format("{}: unknown file type '{}'; a task file is .jsonl (one {{\"text\", \"label\"}} object per "
                            "line) or .csv (a header with text and label columns)",
                            r.origin, ext));
  const auto name = path.stem().string();
  if (name.empty())
    throw error(errc::invalid_argument, fmt::format("{}: the file needs a name: the task is named after it", r.origin));
  const auto bytes = read_all(path, r.origin);
  if (ext == ".jsonl")
    read_jsonl(bytes, r);
  else
    read_csv(bytes, r);

  // The same text twice is kept once (a repeat is reported on its line); a text under two labels is left
  // out on every line it is on (either label would be wrong half the time).
  std::map<std::string, size_t> first_of;  // text -> index into r.rows
  std::vector<char> keep(r.rows.size(), 1);
  std::vector<char> conflicted(r.rows.size(), 0);
  for (size_t i = 0; i < r.rows.size(); ++i) {
    auto [it, added] = first_of.emplace(r.rows[i].text, i);
    if (added)
      continue;
    auto& first = r.rows[it->second];
    keep[i] = 0;
    if (first.label == r.rows[i].label) {
      r.skip(r.rows[i].line, fmt::format("the same text as line {}; kept once", first.line));
    } else {
      r.skip(r.rows[i].line, fmt::format("the same text is labelled '{}' on line {}; left out under both labels",
                                         first.label, first.line));
      if (!conflicted[it->second])
        r.skip(first.line, fmt::format("the same text is labelled '{}' on line {}; left out under both labels",
                                       r.rows[i].label, r.rows[i].line));
      conflicted[it->second] = 1;
    }
  }
  std::vector<row> rows;
  for (size_t i = 0; i < r.rows.size(); ++i)
    if (keep[i] && !conflicted[i])
      rows.push_back(std::move(r.rows[i]));
  r.rows = std::move(rows);
  // Labels in first-seen order; a label left with one row is reported on that row and left out.
  std::map<std::string, size_t> rows_of;
  for (const auto& x : r.rows)
    ++rows_of[x.label];
  std::map<std::string, int32_t> id_of;
  std::vector<std::string> label_names;
  std::vector<example> examples;
  for (auto& x : r.rows) {
    if (rows_of[x.label] < 2) {
      r.skip(x.line, fmt::format("label '{}' occurs on this row only; a label needs two rows at least", x.label));
      continue;
    }
    auto [it, added] = id_of.emplace(x.label, static_cast<int32_t>(label_names.size()));
    if (added)
      label_names.push_back(x.label);
    examples.push_back(example{std::move(x.text), it->second, fmt::format("{:012}", x.line), x.side});
  }
  // Reported in line order, whatever the check that found them, as "PATH:LINE: why".
  std::stable_sort(r.skipped.begin(), r.skipped.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> skipped;
  for (const auto& [line, why] : r.skipped)
    skipped.push_back(fmt::format("{}:{}: {}", r.origin, line, why));
  if (examples.empty())
    throw error(errc::malformed_input,
                r.data_rows == 0 ? fmt::format("{}: no rows: nothing to train on", r.origin)
                                 : fmt::format("{}: none of its {} rows is usable (first: {})", r.origin, r.data_rows,
                                               skipped.front()));
  if (label_names.size() < 2)
    throw error(errc::malformed_input,
                fmt::format("{}: only one usable label ('{}'); a classification task needs two at least", r.origin,
                            label_names.front()));
  const auto usable = examples.size();
  std::map<std::string, size_t> line_of_group;
  for (const auto& x : examples)
    line_of_group.emplace(x.group, static_cast<size_t>(std::stoull(x.group)));
  auto t = build_task(name, name_key(name), std::move(label_names), std::move(examples), options);
  // Held-out rows that a training row contains whole were dropped by build_task: reported too.
  for (const auto* split : {&t.train, &t.validation, &t.test})
    for (const auto& x : *split)
      line_of_group.erase(x.group);
  for (const auto& [group, line] : line_of_group)
    r.skip(line, "a training row contains this text whole; left out of validation and test");
  std::stable_sort(r.skipped.begin(), r.skipped.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  skipped.clear();
  for (const auto& [line, why] : r.skipped)
    skipped.push_back(fmt::format("{}:{}: {}", r.origin, line, why));
  t.skipped_rows = std::move(skipped);
  t.file_rows = r.data_rows;
  auto empty = [&](const char* split) {
    return error(errc::malformed_input,
                 fmt::format("{}: its {} usable rows leave the {} split empty; add rows, or name each row's split "
                             "(a \"split\" field or column: train, validation, test)",
                             r.origin, usable, split));
  };
  if (t.train.empty())
    throw empty("train");
  for (int32_t label = 0; label < static_cast<int32_t>(t.label_names.size()); ++label)
    if (std::none_of(t.train.begin(), t.train.end(), [label](const example& e) { return e.label == label; }))
      throw error(errc::malformed_input,
                  fmt::format("{}: label '{}' has no training row (every row of it names validation or test); "
                              "let some of its rows train",
                              r.origin, t.label_names[static_cast<size_t>(label)]));
  if (t.validation.empty())
    throw empty("validation");
  if (t.test.empty())
    throw empty("test");
  return t;
}

std::string file_task_report(const task_data& t) {
  const auto used = t.train.size() + t.validation.size() + t.test.size();
  return fmt::format("task {} from {} rows: {} used, {} skipped; labels {}", t.name, t.file_rows, used,
                     t.skipped_rows.size(), fmt::join(t.label_names, ", "));
}

nlohmann::json file_task_record(const task_data& t) {
  auto out = nlohmann::json::object();
  if (t.id != task::file)
    return out;
  out["file_rows"] = t.file_rows;
  out["rows_used"] = t.train.size() + t.validation.size() + t.test.size();
  out["rows_skipped"] = t.skipped_rows.size();
  const auto n = std::min<std::size_t>(100, t.skipped_rows.size());
  out["skipped"] = std::vector<std::string>(t.skipped_rows.begin(), t.skipped_rows.begin() + static_cast<std::ptrdiff_t>(n));
  return out;
}

} // namespace elsa::data
