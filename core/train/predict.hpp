// Classifying new texts with what a run trained (`elsa predict`): the base model and tokenizer of a model
// folder, the LoRA adapters and classifier of an adapter folder (PEFT layout, as `elsa run` saves
// RUN/adapters/<task>/), each text truncated as in training (the start, then <|endoftext|>).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace elsa::train {

/// One text's class: the most probable label id and every label's probability.
struct prediction {
  int64_t label = 0;
  std::vector<float> probabilities;
};

class predictor {
public:
  /// Loads model_dir (config.json, model.safetensors, vocab.json, merges.txt) and adapter_dir
  /// (adapter_config.json with its num_labels, adapter_model.safetensors). elsa::error naming the file when
  /// one is missing or does not fit the model.
  predictor(const std::filesystem::path& model_dir, const std::filesystem::path& adapter_dir, int64_t max_len);
  /// Loads a directory `elsa export --merged` wrote (core/train/export.hpp): its merged weights with no
  /// adapters, its tokenizer, score.safetensors and the max_len and labels of elsa_export.json.
  explicit predictor(const std::filesystem::path& merged_dir);
  ~predictor();
  predictor(const predictor&) = delete;
  predictor& operator=(const predictor&) = delete;

  int64_t num_labels() const;
  /// The label names a merged directory gives (empty for a run's adapter folder: the run's summary has them).
  const std::vector<std::string>& labels() const;

  /// The class of every text, in order. Whitespace is collapsed as in the data sets; elsa::error naming the
  /// (1-based) index of a text that is empty after that.
  std::vector<prediction> predict(const std::vector<std::string>& texts) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace elsa::train
