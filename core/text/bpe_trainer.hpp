// Byte-level BPE training with GPT-2's pre-tokenisation: learns a vocabulary and merges list in the GPT-2
// file format from raw text, so our own corpus gets its own (smaller) tokenizer.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/text/tokenizer.hpp"

namespace elsa::text {

/// Called now and then during training with the tokens learned so far and the number wanted.
using train_progress = std::function<void(size_t done, size_t total)>;

/// Learns a byte-level BPE vocabulary of (at most) vocab_size tokens from texts: ids 0..255 are the byte
/// tokens in GPT-2's order, then one token per learned merge, then "<|endoftext|>" last. Texts are split
/// with GPT-2's pattern (occurrences of "<|endoftext|>" separate text and are not learned from) and the most
/// frequent adjacent pair is merged until the vocabulary is full or no pair is left. Ties go to the pair
/// whose left token's bytes, then right token's bytes, sort first, so the result depends only on the
/// multiset of words. When two merges spell the same bytes ("a"+"bc", "ab"+"c") they share one token, so a
/// vocabulary may hold fewer tokens than merges + 257. Throws elsa::error if vocab_size < 257.
bpe_tokenizer train_bpe(const std::vector<std::string>& texts, size_t vocab_size,
                        const train_progress& progress = {});

} // namespace elsa::text
