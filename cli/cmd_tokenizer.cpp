// `elsa tokenizer encode|decode|train`: GPT-2 BPE on stdin/stdout for scripts and checks, and training the
// vocabulary we ship (models/elsa-base) from the pre-training corpus.
#include "cli/commands.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "cli/support.hpp"
#include "core/data/corpus.hpp"
#include "core/errors.hpp"
#include "core/text/bpe_trainer.hpp"
#include "core/text/tokenizer.hpp"

namespace elsa::cli {

namespace {

namespace fs = std::filesystem;

std::string read_stdin() {
  std::string text;
  char buf[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0)
    text.append(buf, n);
  if (std::ferror(stdin))
    throw error(errc::io_error, "cannot read standard input");
  return text;
}

void write_stdout(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
    throw error(errc::io_error, "cannot write standard output");
}

// Whitespace-separated ids; a token that is not a whole int32 is named by its 1-based position.
std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  size_t index = 0;
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (true) {
    while (pos < text.size() && space(text[pos]))
      ++pos;
    if (pos == text.size())
      break;
    size_t end = pos;
    while (end < text.size() && !space(text[end]))
      ++end;
    const std::string token = text.substr(pos, end - pos);
    ++index;
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(token, &used, 10);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != token.size() || value < 0 || value > INT32_MAX)
      throw error(errc::malformed_input,
                  fmt::format("decode: token {} of standard input, '{}', is not a token id (a non-negative "
                              "integer)",
                              index, token.size() > 40 ? token.substr(0, 40) + "..." : token));
    ids.push_back(static_cast<int32_t>(value));
    pos = end;
  }
  return ids;
}

struct codec_options {
  std::string vocab;
  std::string merges;
};

void add_codec_options(CLI::App& cmd, codec_options& o) {
  cmd.add_option("--vocab", o.vocab, "vocabulary: encoder.json or vocab.json (token -> id)")->required();
  cmd.add_option("--merges", o.merges, "merges: vocab.bpe or merges.txt")->required();
}

struct train_options {
  std::string data_dir = "data";
  size_t vocab_size = 8192;
  std::string out;
};

void run_train(const train_options& o) {
  using clock = std::chrono::steady_clock;
  const auto seconds = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  const auto start = clock::now();
  require_folder("--data-dir", o.data_dir,
                 "scripts/fetch_data.sh fetches the data sets into data/ at the repository root");
  const auto corpus = data::pretraining_corpus(o.data_dir);
  const auto stats = data::measure(corpus);
  const auto corpus_done = clock::now();
  fmt::print(stderr, "tokenizer train: corpus of {} documents, {:.1f} MB, {} words ({:.1f} s)\n", stats.documents,
             stats.bytes / 1e6, stats.words, seconds(start, corpus_done));

  size_t last_percent = SIZE_MAX;
  const auto tok = text::train_bpe(corpus, o.vocab_size, [&](size_t done, size_t total) {
    const size_t percent = total == 0 ? 100 : done * 100 / total;
    if (percent / 10 != last_percent / 10 || done == total) {
      last_percent = percent;
      fmt::print(stderr, "tokenizer train: {}/{} tokens learned ({:.1f} s)\n", done, total,
                 seconds(corpus_done, clock::now()));
    }
  });
  const auto trained = clock::now();

  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec)
    throw error(errc::io_error, fmt::format("--out {}: cannot create the folder: {}", o.out, ec.message()));
  const fs::path vocab = fs::path(o.out) / "vocab.json";
  const fs::path merges = fs::path(o.out) / "merges.txt";
  tok.save(vocab, merges);
  fmt::print("wrote {} and {}: {} tokens, {} merges; corpus {:.1f} s, training {:.1f} s, total {:.1f} s\n",
             vocab.string(), merges.string(), tok.vocab_size(), tok.merges().size(), seconds(start, corpus_done),
             seconds(corpus_done, trained), seconds(start, clock::now()));
}

} // namespace

void add_tokenizer_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenizer", "GPT-2 byte-level BPE: encode, decode, train a vocabulary");
  cmd->require_subcommand(1);

  auto encode_opts = std::make_shared<codec_options>();
  auto* encode = cmd->add_subcommand("encode", "read text on stdin, print its token ids on one line");
  add_codec_options(*encode, *encode_opts);
  encode->callback([encode_opts] {
    const auto tok = text::bpe_tokenizer::load(encode_opts->vocab, encode_opts->merges);
    const auto ids = tok.encode(read_stdin());
    std::string line;
    line.reserve(ids.size() * 6 + 1);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0)
        line += ' ';
      line += std::to_string(ids[i]);
    }
    line += '\n';
    write_stdout(line);
  });

  auto decode_opts = std::make_shared<codec_options>();
  auto* decode = cmd->add_subcommand("decode", "read whitespace-separated token ids on stdin, write the text");
  add_codec_options(*decode, *decode_opts);
  decode->callback([decode_opts] {
    const auto tok = text::bpe_tokenizer::load(decode_opts->vocab, decode_opts->merges);
    const auto ids = parse_ids(read_stdin());
    for (size_t i = 0; i < ids.size(); ++i)
      if (static_cast<size_t>(ids[i]) >= tok.vocab_size())
        throw error(errc::invalid_argument,
                    fmt::format("decode: token {} of standard input, id {}, is not in the vocabulary (ids 0..{})",
                                i + 1, ids[i], tok.vocab_size() - 1));
    write_stdout(tok.decode(ids));
  });

  auto train_opts = std::make_shared<train_options>();
  auto* train = cmd->add_subcommand("train", "learn a BPE vocabulary from the pre-training corpus");
  train->add_option("--data-dir", train_opts->data_dir, "folder filled by scripts/fetch_data.sh")
    ->capture_default_str();
  train->add_option("--vocab-size", train_opts->vocab_size, "tokens in the vocabulary, <|endoftext|> included")
    ->capture_default_str()
    ->check(CLI::Range(size_t{257}, size_t{1} << 20));
  train->add_option("--out", train_opts->out, "folder for vocab.json and merges.txt")->required();
  train->callback([train_opts] { run_train(*train_opts); });
}

} // namespace elsa::cli
