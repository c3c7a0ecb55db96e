// GPT-2 byte-level BPE: file loading and validation, encode (pre-tokenise, cache, merge by rank), decode,
// save. The merge loop follows OpenAI's encoder.py; a heap keyed by (rank, position) makes long pieces
// O(n log n) instead of quadratic while giving the same result for merges lists where every token is
// made before it is used (GPT-2's and every trained list).
#include "core/text/tokenizer.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"
#include "core/text/byte_level.hpp"
#include "core/text/pretokenizer.hpp"

namespace elsa::text {

namespace {

constexpr uint64_t empty_key = std::numeric_limits<uint64_t>::max();

uint64_t mix(uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  return x;
}

uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = mix(h ^ w);
  }
  uint64_t w = 0;
  std::memcpy(&w, s.data() + i, s.size() - i);
  return mix(h ^ w);
}

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

std::string read_file(const std::filesystem::path& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw error(errc::file_not_found,
                fmt::format("{} file '{}' does not exist or is not a file (tried {}{}){}", what,
                            path.string(), std::filesystem::absolute(path, ec).lexically_normal().string(),
                            path.is_relative() ? "; relative paths are taken from the current directory" : "",
                            path.string().find("gpt2") != std::string::npos
                              ? "; the GPT-2 files come from scripts/fetch_data.sh into data/gpt2/"
                              : ""));
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad() || !in.is_open())
    throw error(errc::io_error, fmt::format("cannot read {} file '{}': {}", what, path.string(), std::strerror(errno)));
  return text;
}

// Printable form of a token for error messages.
std::string printable(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  return out + "'";
}

// The per-thread memo of piece -> ids. Most text is made of a few thousand distinct words, so after a
// warm-up nearly every piece is a hash lookup; keys and ids live in two flat arrays so that a hit or an
// insert allocates nothing. The cache is cleared when full rather than evicting piecemeal.
class word_cache {
public:
  static constexpr size_t max_piece = 64;  // longer pieces are rare; caching them would only waste memory
  static constexpr size_t max_entries = size_t{1} << 19;

  void bind(uint64_t owner) {
    if (owner != owner_) {
      clear();
      owner_ = owner;
    }
  }

  // Appends the cached ids of piece to out and returns true, or returns false on a miss.
  bool lookup(std::string_view piece, uint64_t h, std::vector<int32_t>& out) const {
    if (slots_.empty())
      return false;
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      const uint32_t slot = slots_[i];
      if (slot == 0)
        return false;
      const entry& e = entries_[slot - 1];
      if (e.hash == h && e.key_len == piece.size() &&
          std::memcmp(keys_.data() + e.key_off, piece.data(), piece.size()) == 0) {
        out.insert(out.end(), values_.begin() + e.val_off, values_.begin() + e.val_off + e.val_len);
        return true;
      }
    }
  }

  void insert(std::string_view piece, uint64_t h, const int32_t* ids, size_t n) {
    if (entries_.size() >= max_entries)
      clear();
    if (slots_.empty() || (entries_.size() + 1) * 2 > slots_.size())
      grow();
    entries_.push_back({h, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(piece.size()),
                        static_cast<uint32_t>(values_.size()), static_cast<uint32_t>(n)});
    keys_.append(piece);
    values_.insert(values_.end(), ids, ids + n);
    place(entries_.size());
  }

private:
  struct entry {
    uint64_t hash;
    uint32_t key_off, key_len, val_off, val_len;
  };

  void clear() {
    slots_.assign(slots_.size(), 0);
    entries_.clear();
    keys_.clear();
    values_.clear();
  }

  void place(size_t slot) {
    for (uint64_t i = entries_[slot - 1].hash & mask_;; i = (i + 1) & mask_)
      if (slots_[i] == 0) {
        slots_[i] = static_cast<uint32_t>(slot);
        return;
      }
  }

  void grow() {
    const size_t size = slots_.empty() ? 4096 : slots_.size() * 2;
    slots_.assign(size, 0);
    mask_ = size - 1;
    for (size_t s = 1; s <= entries_.size(); ++s)
      place(s);
  }

  uint64_t owner_ = 0;
  uint64_t mask_ = 0;
  std::vector<uint32_t> slots_;  // entry index + 1; 0 marks an empty slot
  std::vector<entry> entries_;
  std::string keys_;
  std::vector<int32_t> values_;
};

// Working memory of one BPE run, reused across pieces so that merging allocates nothing.
struct bpe_scratch {
  struct candidate {
    int32_t rank, pos, left, right, merged;
    bool operator>(const candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<int32_t> id, prev, next;
  std::vector<candidate> heap;
};

thread_local word_cache tls_cache;
thread_local bpe_scratch tls_scratch;

std::atomic<uint64_t> next_serial{1};

} // namespace

// -- merge table --------------------------------------------------------------

void bpe_tokenizer::merge_table::reserve(size_t n) {
  size_t size = 16;
  while (size < 2 * n)
    size *= 2;
  keys.assign(size, empty_key);
  values.assign(size, merge_value{0, 0});
  mask = size - 1;
}

bool bpe_tokenizer::merge_table::insert(int32_t left, int32_t right, merge_value v) {
  const uint64_t key = pair_key(left, right);
  for (uint64_t i = mix(key) & mask;; i = (i + 1) & mask) {
    if (keys[i] == key)
      return false;
    if (keys[i] == empty_key) {
      keys[i] = key;
      values[i] = v;
      return true;
    }
  }
}

const bpe_tokenizer::merge_value* bpe_tokenizer::merge_table::find(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  for (uint64_t i = mix(key) & mask;; i = (i + 1) & mask) {
    if (keys[i] == key)
      return &values[i];
    if (keys[i] == empty_key)
      return nullptr;
  }
}

// -- loading ------------------------------------------------------------------

bpe_tokenizer bpe_tokenizer::load(const std::filesystem::path& vocab, const std::filesystem::path& merges) {
  const std::string vocab_name = vocab.string();
  const std::string merges_name = merges.string();
  const std::string vocab_text = read_file(vocab, "vocabulary");
  const std::string merges_text = read_file(merges, "merges");

  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(vocab_text);
  } catch (const nlohmann::json::parse_error& e) {
    const size_t at = std::min<size_t>(e.byte, vocab_text.size());
    const size_t line = 1 + std::count(vocab_text.begin(), vocab_text.begin() + at, '\n');
    throw error(errc::malformed_input,
                fmt::format("{}:{}: invalid JSON at byte {} ({}); the file may be truncated, fetch it again "
                            "(scripts/fetch_data.sh) or re-save the vocabulary",
                            vocab_name, line, e.byte, e.what()));
  }
  if (!doc.is_object())
    throw error(errc::malformed_input,
                fmt::format("{}: expected a JSON object mapping tokens to ids, found a JSON {}", vocab_name,
                            doc.type_name()));
  std::vector<std::string> tokens(doc.size());
  std::vector<bool> seen(doc.size(), false);
  for (const auto& [token, value] : doc.items()) {
    if (!value.is_number_integer())
      throw error(errc::malformed_input,
                  fmt::format("{}: token {} maps to a JSON {}, expected an integer id", vocab_name, printable(token),
                              value.type_name()));
    const auto id = value.get<int64_t>();
    if (id < 0 || static_cast<uint64_t>(id) >= tokens.size())
      throw error(errc::malformed_input,
                  fmt::format("{}: token {} has id {}, outside 0..{}; ids must number the {} tokens densely",
                              vocab_name, printable(token), id, tokens.size() - 1, tokens.size()));
    if (seen[id])
      throw error(errc::malformed_input,
                  fmt::format("{}: id {} is used by both {} and {}", vocab_name, id, printable(tokens[id]),
                              printable(token)));
    seen[id] = true;
    tokens[id] = token;
  }

  std::vector<merge_rule> rules;
  std::vector<size_t> lines;
  size_t line_no = 0;
  size_t pos = 0;
  size_t blank_line = 0;  // first blank line seen; only blank lines may follow it
  while (pos < merges_text.size()) {
    size_t end = merges_text.find('\n', pos);
    if (end == std::string::npos)
      end = merges_text.size();
    std::string_view line(merges_text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line_no == 1 && line.substr(0, 8) == "#version")
      continue;
    if (line.empty()) {
      if (blank_line == 0)
        blank_line = line_no;
      continue;
    }
    if (blank_line != 0)
      throw error(errc::malformed_input,
                  fmt::format("{}:{}: line is empty, but merges follow it; remove the blank line", merges_name,
                              blank_line));
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string_view::npos)
      throw error(errc::malformed_input,
                  fmt::format("{}:{}: malformed merge {}: expected two tokens separated by one space, as in "
                              "'Ġ t'",
                              merges_name, line_no, printable(line)));
    rules.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
    lines.push_back(line_no);
  }
  return build(std::move(tokens), rules, lines, vocab_name, merges_name);
}

bpe_tokenizer bpe_tokenizer::from_vocab(std::vector<std::string> tokens, const std::vector<merge_rule>& merges) {
  return build(std::move(tokens), merges, {}, "vocabulary", "merges");
}

bpe_tokenizer bpe_tokenizer::build(std::vector<std::string> tokens, const std::vector<merge_rule>& merges,
                                   const std::vector<size_t>& merge_lines, const std::string& vocab_name,
                                   const std::string& merges_name) {
  if (tokens.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw error(errc::invalid_argument, fmt::format("{}: {} tokens is more than int32 ids allow", vocab_name,
                                                    tokens.size()));
  bpe_tokenizer t;
  t.bytes_.reserve(tokens.size());
  t.ids_.reserve(tokens.size());
  for (size_t id = 0; id < tokens.size(); ++id) {
    const std::string& token = tokens[id];
    const bool special = token.size() > 4 && token.compare(0, 2, "<|") == 0 &&
                         token.compare(token.size() - 2, 2, "|>") == 0;
    if (special)
      t.specials_.emplace_back(token, static_cast<int32_t>(id));
    auto bytes = vocab_form_to_bytes(token);
    if (!bytes) {
      if (!special)
        throw error(errc::malformed_input,
                    fmt::format("{}: token {} (id {}) has a character outside GPT-2's byte-level alphabet; "
                                "only special tokens like '<|endoftext|>' may",
                                vocab_name, printable(token), id));
      bytes = token;
    }
    if (token.empty())
      throw error(errc::malformed_input, fmt::format("{}: id {} is the empty token", vocab_name, id));
    if (!t.ids_.emplace(token, static_cast<int32_t>(id)).second)
      throw error(errc::malformed_input, fmt::format("{}: token {} appears twice", vocab_name, printable(token)));
    t.bytes_.push_back(std::move(*bytes));
  }
  for (int b = 0; b < 256; ++b) {
    const std::string form = bytes_to_vocab_form(std::string(1, static_cast<char>(b)));
    auto it = t.ids_.find(form);
    if (it == t.ids_.end())
      throw error(errc::malformed_input,
                  fmt::format("{}: the byte-level token '{}' (byte 0x{:02x}) is missing; a GPT-2 vocabulary "
                              "has all 256",
                              vocab_name, form, b));
    t.byte_ids_[b] = it->second;
  }
  auto eot = t.ids_.find("<|endoftext|>");
  if (eot == t.ids_.end())
    throw error(errc::malformed_input,
                fmt::format("{}: the vocabulary has no '<|endoftext|>' token; add it (as the last id)", vocab_name));
  t.eot_id_ = eot->second;

  t.merge_table_.reserve(merges.size());
  t.merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const std::string where = merge_lines.empty() ? fmt::format("{}: merge #{}", merges_name, rank + 1)
                                                  : fmt::format("{}:{}", merges_name, merge_lines[rank]);
    auto id_of = [&](const std::string& token, const char* role) {
      auto it = t.ids_.find(token);
      if (it == t.ids_.end())
        throw error(errc::malformed_input,
                    fmt::format("{}: merge {} {}: {} token {} is not in the vocabulary {}; the merges and the "
                                "vocabulary do not belong together",
                                where, printable(left), printable(right), role, printable(token), vocab_name));
      return it->second;
    };
    const int32_t l = id_of(left, "left");
    const int32_t r = id_of(right, "right");
    const int32_t merged = id_of(left + right, "merged");
    if (!t.merge_table_.insert(l, r, {static_cast<int32_t>(rank), merged}))
      throw error(errc::malformed_input,
                  fmt::format("{}: merge {} {} appears twice", where, printable(left), printable(right)));
    t.merges_.emplace_back(l, r);
  }
  t.tokens_ = std::move(tokens);
  t.serial_ = next_serial.fetch_add(1);
  return t;
}

// -- encoding -----------------------------------------------------------------

void bpe_tokenizer::bpe(std::string_view piece, std::vector<int32_t>& out) const {
  using candidate = bpe_scratch::candidate;
  auto& s = tls_scratch;
  const int32_t n = static_cast<int32_t>(piece.size());
  s.id.resize(n);
  s.prev.resize(n);
  s.next.resize(n);
  s.heap.clear();
  for (int32_t i = 0; i < n; ++i) {
    s.id[i] = byte_ids_[static_cast<uint8_t>(piece[i])];
    s.prev[i] = i - 1;
    s.next[i] = i + 1 < n ? i + 1 : -1;
  }
  auto consider = [&](int32_t pos) {
    if (pos < 0 || s.next[pos] < 0)
      return;
    const int32_t nx = s.next[pos];
    if (const merge_value* m = merge_table_.find(s.id[pos], s.id[nx])) {
      s.heap.push_back({m->rank, pos, s.id[pos], s.id[nx], m->merged});
      std::push_heap(s.heap.begin(), s.heap.end(), std::greater<>());
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i)
    consider(i);
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), std::greater<>());
    const candidate c = s.heap.back();
    s.heap.pop_back();
    // A candidate is stale once either symbol was merged away; the ids tell, since merging changes them.
    const int32_t nx = s.id[c.pos] >= 0 ? s.next[c.pos] : -1;
    if (nx < 0 || s.id[c.pos] != c.left || s.id[nx] != c.right)
      continue;
    s.id[c.pos] = c.merged;
    s.id[nx] = -1;
    s.next[c.pos] = s.next[nx];
    if (s.next[nx] >= 0)
      s.prev[s.next[nx]] = c.pos;
    consider(s.prev[c.pos]);
    consider(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = s.next[i])
    out.push_back(s.id[i]);
}

void bpe_tokenizer::encode_into(std::string_view text, std::vector<int32_t>& out) const {
  word_cache& cache = tls_cache;
  cache.bind(serial_);
  pretokenizer::cursor cursor(gpt2_pretokenizer(), text);
  std::string_view piece;
  while (cursor.next(piece)) {
    if (piece.size() == 1) {
      out.push_back(byte_ids_[static_cast<uint8_t>(piece[0])]);
      continue;
    }
    if (piece.size() > word_cache::max_piece) {
      bpe(piece, out);
      continue;
    }
    const uint64_t h = hash_bytes(piece);
    if (cache.lookup(piece, h, out))
      continue;
    const size_t before = out.size();
    bpe(piece, out);
    cache.insert(piece, h, out.data() + before, out.size() - before);
  }
}

std::vector<int32_t> bpe_tokenizer::encode_ordinary(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  encode_into(text, out);
  return out;
}

std::vector<int32_t> bpe_tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  size_t pos = 0;
  while (pos <= text.size()) {
    // The earliest special token from pos on; text between specials is encoded on its own, as tiktoken does.
    size_t found = std::string_view::npos;
    const std::pair<std::string, int32_t>* which = nullptr;
    for (const auto& special : specials_) {
      const size_t at = text.find(special.first, pos);
      if (at < found) {
        found = at;
        which = &special;
      }
    }
    if (which == nullptr) {
      encode_into(text.substr(pos), out);
      break;
    }
    encode_into(text.substr(pos, found - pos), out);
    out.push_back(which->second);
    pos = found + which->first.size();
  }
  return out;
}

// -- decoding and accessors ---------------------------------------------------

std::string bpe_tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  out.reserve(ids.size() * 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || static_cast<size_t>(id) >= bytes_.size())
      throw error(errc::invalid_argument,
                  fmt::format("decode: token id {} at position {} is not in the vocabulary (ids 0..{})", id, i,
                              bytes_.size() - 1));
    out += bytes_[id];
  }
  return out;
}

std::optional<int32_t> bpe_tokenizer::token_id(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  if (it == ids_.end())
    return std::nullopt;
  return it->second;
}

const std::string& bpe_tokenizer::token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size())
    throw error(errc::invalid_argument,
                fmt::format("token id {} is not in the vocabulary (ids 0..{})", id, tokens_.size() - 1));
  return tokens_[id];
}

std::vector<merge_rule> bpe_tokenizer::merges() const {
  std::vector<merge_rule> out;
  out.reserve(merges_.size());
  for (const auto& [l, r] : merges_)
    out.emplace_back(tokens_[l], tokens_[r]);
  return out;
}

// -- saving -------------------------------------------------------------------

void bpe_tokenizer::save(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt) const {
  auto write = [](const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (out)
      out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out)
      throw error(errc::io_error, fmt::format("cannot write '{}': {}; check that the folder exists and is writable",
                                              path.string(), std::strerror(errno)));
  };
  std::string vocab = "{\n";
  for (size_t id = 0; id < tokens_.size(); ++id)
    vocab += fmt::format("  {}: {}{}\n", nlohmann::json(tokens_[id]).dump(), id, id + 1 < tokens_.size() ? "," : "");
  vocab += "}\n";
  std::string merges = "#version: 0.2\n";
  for (const auto& [l, r] : merges_) {
    merges += tokens_[l];
    merges += ' ';
    merges += tokens_[r];
    merges += '\n';
  }
  write(vocab_json, vocab);
  write(merges_txt, merges);
}

} // namespace elsa::text
