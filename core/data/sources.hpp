// Readers for the raw public sources that scripts/fetch_data.sh puts under data/: SpamAssassin, State of
// the Union, Brown, WordNet and Moby Dick. They return whole, cleaned records in a fixed order (sorted file
// names), with no labels chosen and no splitting; tasks.cpp and corpus.cpp build on them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace elsa::data {

/// One SpamAssassin message.
struct mail_message {
  std::string id;     // "<folder>/<file stem>", e.g. "spam-1/00006.<md5>"
  std::string folder; // easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2
  bool spam = false;
  std::string raw_body; // bytes after the header block, as in the file (used to find duplicates)
  std::string text;     // Subject + readable body: HTML stripped, entities decoded, whitespace collapsed,
                        // tokens over mail_max_token_bytes dropped
};

/// Tokens longer than this are dropped from e-mail text (see drop_long_tokens).
inline constexpr size_t mail_max_token_bytes = 60;

/// The five SpamAssassin folders in the order they are read.
const std::vector<std::string>& spam_assassin_folders();

/// Reads all 6,046 messages from data_dir/spam-assassin/data/<folder>/*.txt (the .json twins are ignored).
std::vector<mail_message> read_spam_assassin(const std::filesystem::path& data_dir);

/// One State of the Union address.
struct speech {
  std::string id; // the file stem, e.g. "1962_john_f_kennedy_d"
  int year = 0;
  std::string party; // the party letters of the file name: d, r, dr, f, n, nu, w, wd
  std::string text;
};

/// Reads the 233 speeches from data_dir/sotu/data/*.txt.
std::vector<speech> read_sotu(const std::filesystem::path& data_dir);

/// Splits a speech into sentences: a sentence ends at '.', '!' or '?' followed by whitespace (the rule
/// DATA.md counted with), keeping those with at least `min_words` words.
std::vector<std::string> split_sentences(std::string_view text, size_t min_words = 5);

/// One Brown corpus file: its genre (from cats.txt) and its detokenised sentences, tags stripped.
struct brown_document {
  std::string id; // ca01 .. cr09
  std::string genre;
  std::vector<std::string> sentences;
};

/// Reads the 500 documents listed in data_dir/brown/cats.txt.
std::vector<brown_document> read_brown(const std::filesystem::path& data_dir);

/// One WordNet synset line.
struct synset {
  std::string offset; // 8-digit byte offset, unique within one data.<pos> file
  int lex_file = 0;   // lexicographer file number, e.g. 5 = noun.animal
  std::vector<std::string> words;
  std::string gloss; // everything after " | ", trimmed (definition plus quoted examples)
};

/// Parses data_dir/wordnet/data.noun or data.verb (`pos` is "noun" or "verb"), skipping the licence
/// header. A line that breaks the format is an elsa::error naming file and line.
std::vector<synset> read_wordnet(const std::filesystem::path& data_dir, std::string_view pos);

/// Moby Dick's chapters (and Epilogue) in reading order: each a title line and paragraphs separated by
/// '\n', each paragraph on one line.
std::vector<std::string> read_moby_dick(const std::filesystem::path& data_dir);

} // namespace elsa::data
