// `elsa export --merged`: a run's adapters baked into the base weights, as a complete Hugging Face GPT-2
// directory that loads with no adapter code (ours: load_model; its layout and names are those of HF's GPT-2,
// which no test here loads: these machines have no Python packages), plus the classifier head on its own.
// The directory holds
//   config.json         the base's GPT-2 config with id2label and label2id
//   model.safetensors   every base weight, each LoRA target W replaced by W + (alpha / r) (B A)^T (float32)
//   vocab.json, merges.txt   the base's tokenizer
//   score.safetensors   the head: "score.weight" (num_labels, n_embd), no bias; it reads the hidden state of
//                       the last real token after the final layer norm
//   elsa_export.json    what `elsa predict --merged` needs beyond that: task, labels, max_len, the source run
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace elsa::train {

struct merged_export {
  std::filesystem::path model_dir;    // the run's base model
  std::filesystem::path adapter_dir;  // RUN/adapters/<task>/ (adapter_config.json, adapter_model.safetensors)
  std::string task;
  std::vector<std::string> labels;    // in label-id order; size = the adapters' num_labels
  int64_t max_len = 0;                // tokens per text, as the run trained
  std::string source;                 // the run directory, recorded in elsa_export.json
};

/// Writes the merged directory into `out` (created; files already there of the same names are replaced).
/// elsa::error naming the file when the model or the adapters cannot be read or do not fit each other.
void export_merged(const merged_export& e, const std::filesystem::path& out);

/// What elsa_export.json of a merged directory says. elsa::error naming the file when it is missing or bad.
struct merged_info {
  std::string task;
  std::vector<std::string> labels;
  int64_t max_len = 0;
};
merged_info read_merged_info(const std::filesystem::path& dir);

} // namespace elsa::train
