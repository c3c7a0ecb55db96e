// A model directory in the Hugging Face GPT-2 layout (config.json, model.safetensors, vocab.json, merges.txt)
// and adapter files (adapter_model.safetensors + adapter_config.json, PEFT-style), read and written.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/model/gpt2.hpp"
#include "core/model/safetensors.hpp"

namespace elsa::model {

/// Reads HF config.json; checks model_type "gpt2" and an activation of the tanh GELU family.
/// Throws elsa::error naming the file and key on missing/ill-typed/out-of-range values.
gpt2_config read_config_json(const std::filesystem::path& path);

/// The config.json text HF's GPT2LMHeadModel loads unchanged. eot_id is written as bos/eos_token_id.
std::string config_json_text(const gpt2_config& cfg, int64_t eot_id);

/// Loads config.json + model.safetensors from dir (F16/BF16 weights are converted to float32).
GPT2 load_model(const std::filesystem::path& dir);

/// Writes config.json and model.safetensors (float32, HF names, metadata {"format": "pt"}) into dir,
/// creating it. Adapters are not included (merge them first to bake them in). vocab.json / merges.txt are
/// the tokenizer's and are copied by the caller.
void save_model(const std::filesystem::path& dir, const GPT2& model, int64_t eot_id);

/// Writes adapter_model.safetensors (PEFT names, see lora_state) and adapter_config.json into dir.
/// `base_model` (a path or a hub name) is written as base_model_name_or_path; empty: null.
void save_adapters(const std::filesystem::path& dir, const GPT2& model, const Classifier& classifier = nullptr,
                   const std::string& base_model = {});
/// The same files from an adapter state (PEFT names) and its LoRA config; num_labels 0 = no classifier.
void save_adapter_state(const std::filesystem::path& dir, const std::map<std::string, torch::Tensor>& state,
                        const lora_config& lora, int64_t num_labels, const std::string& base_model = {});

/// Reads dir/adapter_config.json (rank, alpha, dropout, targets, and the classifier's num_labels if any).
struct adapter_info {
  lora_config lora;
  int64_t num_labels = 0; // 0: no classifier saved
};
adapter_info read_adapter_config(const std::filesystem::path& dir);

/// Loads adapters saved by save_adapters into a model that has adapters of the same config.
void load_adapters(const std::filesystem::path& dir, GPT2& model, const Classifier& classifier = nullptr);

} // namespace elsa::model
