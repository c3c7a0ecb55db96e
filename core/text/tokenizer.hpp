// GPT-2 byte-level BPE tokenizer: reads and writes the GPT-2 file formats (vocab.json/encoder.json +
// merges.txt/vocab.bpe), and encodes exactly as OpenAI's encoder.py for valid UTF-8, while any byte string
// (invalid UTF-8 included) round-trips through encode and decode.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace elsa::text {

/// A merge rule as written in merges.txt: two tokens in vocabulary form ("Ġ", "t").
using merge_rule = std::pair<std::string, std::string>;

class bpe_tokenizer {
public:
  /// Reads the GPT-2 file formats: encoder.json or vocab.json (token -> id JSON map, byte-level unicode
  /// alphabet, ids 0..N-1) and vocab.bpe or merges.txt ("#version" first line optional, then "a b" merges
  /// in rank order). Throws elsa::error naming the file (and line for merges) on a missing file,
  /// truncated/invalid JSON, a malformed merges line, or a merge whose tokens are not in the vocabulary.
  static bpe_tokenizer load(const std::filesystem::path& vocab, const std::filesystem::path& merges);

  /// Builds a tokenizer from memory: tokens[id] is the vocabulary form of token id, merges are in rank
  /// order. The same checks as load(); errors name "merge #k" instead of a file line.
  static bpe_tokenizer from_vocab(std::vector<std::string> tokens, const std::vector<merge_rule>& merges);

  /// Pre-tokenises with GPT-2's regex, then applies the merges by rank inside each piece. Occurrences of
  /// special tokens (`<|endoftext|>`) in text become their ids. Thread-safe; each thread keeps its own
  /// piece -> ids cache.
  std::vector<int32_t> encode(std::string_view text) const;

  /// As encode(), but special tokens are treated as ordinary text.
  std::vector<int32_t> encode_ordinary(std::string_view text) const;

  /// Concatenates the bytes of the tokens. Throws elsa::error (invalid_argument) naming the position of the
  /// first id that is not in the vocabulary.
  std::string decode(const std::vector<int32_t>& ids) const;

  /// Writes vocab.json (one "token": id pair per line, in id order) and merges.txt ("#version: 0.2" first),
  /// the files Hugging Face's GPT2TokenizerFast reads. Throws elsa::error (io_error) if a file cannot be
  /// written.
  void save(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt) const;

  /// Number of tokens; ids are 0 .. vocab_size() - 1.
  size_t vocab_size() const {
    return tokens_.size();
  }

  /// The id of "<|endoftext|>", which every vocabulary must have.
  int32_t eot_id() const {
    return eot_id_;
  }

  /// The id of a token given in vocabulary form ("Ġthe", "<|endoftext|>"), if the vocabulary has it.
  std::optional<int32_t> token_id(std::string_view token) const;

  /// The vocabulary form of token id (as in vocab.json). Throws elsa::error on an unknown id.
  const std::string& token(int32_t id) const;

  /// The merge rules in rank order, in vocabulary form.
  std::vector<merge_rule> merges() const;

private:
  struct merge_value {
    int32_t rank;
    int32_t merged;
  };

  // Open-addressing table (left id, right id) -> rank and merged id: the innermost lookup of BPE.
  struct merge_table {
    std::vector<uint64_t> keys;
    std::vector<merge_value> values;
    uint64_t mask = 0;
    void reserve(size_t n);
    bool insert(int32_t left, int32_t right, merge_value v);  // false if the pair is already there
    const merge_value* find(int32_t left, int32_t right) const;
  };

  bpe_tokenizer() = default;
  static bpe_tokenizer build(std::vector<std::string> tokens, const std::vector<merge_rule>& merges,
                             const std::vector<size_t>& merge_lines, const std::string& vocab_name,
                             const std::string& merges_name);
  void encode_into(std::string_view text, std::vector<int32_t>& out) const;
  void bpe(std::string_view piece, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;  // vocabulary form, by id
  std::vector<std::string> bytes_;   // what each id decodes to, by id
  std::unordered_map<std::string, int32_t> ids_;
  std::array<int32_t, 256> byte_ids_{};
  std::vector<std::pair<int32_t, int32_t>> merges_;  // by rank
  merge_table merge_table_;
  std::vector<std::pair<std::string, int32_t>> specials_;  // literal text -> id
  int32_t eot_id_ = -1;
  uint64_t serial_ = 0;  // identifies the vocabulary to the per-thread cache; copies share it
};

} // namespace elsa::text
