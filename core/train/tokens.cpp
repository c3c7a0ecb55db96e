// Token streams for LM work: threaded tokenisation and a small binary cache (magic, hash, count, int32s).
#include "core/train/tokens.hpp"

#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/files.hpp"

namespace elsa::train {

namespace {
constexpr uint64_t cache_magic = 0x454c5341544f4b31ull; // "ELSATOK1"
}

std::vector<int32_t> tokenize_documents(const text::bpe_tokenizer& tok, const std::vector<std::string>& docs,
                                        int64_t threads) {
  const size_t n = docs.size();
  const size_t workers = static_cast<size_t>(std::max<int64_t>(1, std::min<int64_t>(threads, 16)));
  std::vector<std::vector<int32_t>> parts(workers);
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&tok, &docs, &parts, w, n, workers] {
      // Contiguous ranges keep the document order when the parts are joined.
      const size_t begin = n * w / workers, end = n * (w + 1) / workers;
      auto& out = parts[w];
      for (size_t i = begin; i < end; ++i) {
        auto ids = tok.encode_ordinary(docs[i]);
        out.insert(out.end(), ids.begin(), ids.end());
        out.push_back(tok.eot_id());
      }
    });
  }
  for (auto& t : pool)
    t.join();
  std::vector<int32_t> all;
  for (auto& p : parts)
    all.insert(all.end(), p.begin(), p.end());
  return all;
}

std::vector<int32_t> read_token_cache(const std::filesystem::path& path, uint64_t vocab_hash) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  uint64_t head[3] = {0, 0, 0};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  if (!in || head[0] != cache_magic || head[1] != vocab_hash || head[2] > (1ull << 34))
    return {};
  std::vector<int32_t> tokens(head[2]);
  in.read(reinterpret_cast<char*>(tokens.data()), static_cast<std::streamsize>(tokens.size() * sizeof(int32_t)));
  if (!in)
    return {};
  return tokens;
}

void write_token_cache(const std::filesystem::path& path, uint64_t vocab_hash, const std::vector<int32_t>& tokens) {
  std::filesystem::create_directories(path.parent_path());
  const uint64_t head[3] = {cache_magic, vocab_hash, tokens.size()};
  std::string bytes(reinterpret_cast<const char*>(head), sizeof head);
  bytes.append(reinterpret_cast<const char*>(tokens.data()), tokens.size() * sizeof(int32_t));
  write_file_atomically(path, bytes);
}

std::vector<int64_t> eval_windows(int64_t n, int64_t T, int64_t max_tokens) {
  const int64_t total = n > 1 ? (n - 1) / T : 0;
  int64_t k = total;
  if (max_tokens > 0)
    k = std::min(total, std::max<int64_t>(1, max_tokens / T));
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < k; ++i)
    starts.push_back((i * total / k) * T);
  return starts;
}

uint64_t vocabulary_hash(const text::bpe_tokenizer& tok) {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  };
  for (size_t i = 0; i < tok.vocab_size(); ++i)
    mix(tok.token(static_cast<int32_t>(i)));
  for (const auto& [a, b] : tok.merges()) {
    mix(a);
    mix(b);
  }
  return h;
}

text::bpe_tokenizer load_tokenizer(const std::filesystem::path& dir) {
  const auto vocab = dir / "vocab.json", merges = dir / "merges.txt";
  std::error_code ec;
  const auto abs = std::filesystem::absolute(dir, ec).lexically_normal();
  if (!std::filesystem::is_directory(dir, ec))
    throw error(
      errc::file_not_found,
      fmt::format("{}: no folder {}{}", dir.string(), abs.string(),
                  dir.is_relative() ? " (relative paths are taken from the current directory)" : ""));
  if (!std::filesystem::exists(vocab, ec) || !std::filesystem::exists(merges, ec))
    throw error(
      errc::file_not_found,
      fmt::format("{}: no vocab.json and merges.txt in {}; a model folder (like models/elsa-base) holds "
                  "config.json, model.safetensors, vocab.json and merges.txt",
                  dir.string(), abs.string()));
  return text::bpe_tokenizer::load(vocab, merges);
}

} // namespace elsa::train
