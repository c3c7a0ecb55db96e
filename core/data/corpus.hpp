// Unlabelled text for everything that is not task fine-tuning: the public probe set (fingerprints, SS-OP
// subspace), the pre-training corpus of the base LM and its BPE vocabulary, and held-out LM text for
// perplexity. The three are disjoint from each other and the corpus holds nothing from a validation or
// test split; docs/data.md lists what goes in.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/data/tasks.hpp"

namespace elsa::data {

/// `count` WordNet VERB glosses (data.verb), sampled with `seed`: public sentences no client holds (the
/// tasks use noun glosses, speeches, e-mail and Brown). Glosses that also occur as noun glosses and ones
/// shorter than 4 words are never chosen. count > the ~13k available is an elsa::error naming `count`.
std::vector<std::string> probe_set(const std::filesystem::path& data_dir, size_t count = 256, uint64_t seed = 7);

/// Documents for pre-training the base LM and its BPE vocabulary, in a fixed order: the TRAIN splits of
/// the four tasks, Moby Dick, the Brown genres the genre task does not use, State of the Union speeches of
/// parties the party task does not use, and WordNet noun glosses of lexicographer files supersense does not
/// use. Short items (sentences, glosses, paragraphs) are packed into documents of up to
/// corpus_document_words words; any item whose text equals a validation/test text is dropped.
std::vector<std::string> pretraining_corpus(const std::filesystem::path& data_dir, const split_options& options = {});

/// The same, reusing tasks already loaded (all four, loaded with the options that define the splits).
std::vector<std::string> pretraining_corpus(const std::filesystem::path& data_dir, const std::vector<task_data>& tasks);

/// The pre-training corpus without the task train splits (parts 2 to 5 above, in the same order): public
/// text that no client holds, e.g. what an honest-but-curious edge trains an inverter on (core/attack).
std::vector<std::string> public_corpus(const std::filesystem::path& data_dir, const split_options& options = {});
std::vector<std::string> public_corpus(const std::filesystem::path& data_dir, const std::vector<task_data>& tasks);

/// Held-out LM text for the perplexity of the pre-trained model: the VALIDATION splits of the four tasks,
/// packed like the corpus. Disjoint from pretraining_corpus() with the same options.
std::vector<std::string> lm_heldout(const std::filesystem::path& data_dir, const split_options& options = {});
std::vector<std::string> lm_heldout(const std::vector<task_data>& tasks);

/// Packed documents hold at most this many words (a single longer item, e.g. a long e-mail, stays whole).
inline constexpr size_t corpus_document_words = 512;

struct text_stats {
  size_t documents = 0;
  size_t bytes = 0;
  size_t words = 0;
};

/// Counts documents, UTF-8 bytes and whitespace-separated words.
text_stats measure(const std::vector<std::string>& documents);

} // namespace elsa::data
