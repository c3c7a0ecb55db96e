// Turning the text corpora of core/data into token streams for LM training and evaluation (documents
// joined by <|endoftext|>), tokenised on several threads and cached on disk between runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/text/tokenizer.hpp"

namespace elsa::train {

/// Each document's tokens followed by eot, in document order. Uses up to `threads` threads.
std::vector<int32_t> tokenize_documents(const text::bpe_tokenizer& tok, const std::vector<std::string>& docs,
                                        int64_t threads);

/// Loads a cached stream if `path` exists and was written for a vocabulary of `vocab_size` tokens
/// whose merges hash to `vocab_hash`; otherwise returns an empty vector.
std::vector<int32_t> read_token_cache(const std::filesystem::path& path, uint64_t vocab_hash);
void write_token_cache(const std::filesystem::path& path, uint64_t vocab_hash, const std::vector<int32_t>& tokens);

/// Start offsets of the non-overlapping windows of T + 1 tokens used to score a stream of n tokens: all
/// (n - 1) / T of them, or, when max_tokens > 0 asks for fewer, that many spread evenly over the stream (so a
/// capped evaluation still samples every part of it).
std::vector<int64_t> eval_windows(int64_t n, int64_t T, int64_t max_tokens);

/// A stable hash of the tokenizer's vocabulary and merges, so a cache never outlives its vocabulary.
uint64_t vocabulary_hash(const text::bpe_tokenizer& tok);

/// Loads dir/vocab.json + dir/merges.txt with an error that says how to produce them.
text::bpe_tokenizer load_tokenizer(const std::filesystem::path& dir);

} // namespace elsa::train
