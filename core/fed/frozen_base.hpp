// The frozen base model of a process: loaded once from the model folder, read-only, shared by every client
// and edge slot in the process (each of which owns only its adapters, classifier, optimizer state and data
// cursor). The wiring loads it and hands it to each participant; it is never a global. Torch-free interface.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "core/model/config.hpp"

namespace elsa::run {
struct run_config;
} // namespace elsa::run

namespace elsa::fed {

class frozen_base;  // defined in core/fed/lora_model.hpp (torch)
using base_ptr = std::shared_ptr<const frozen_base>;

/// Loads model_dir (config.json + model.safetensors) once and freezes it; elsa::error naming the folder
/// and the file when they are missing or malformed.
base_ptr load_frozen_base(const std::filesystem::path& model_dir);

/// Transformer blocks of the base (n_layer).
int64_t base_layers(const frozen_base& base);
/// The base's architecture (config.json).
model::gpt2_config base_config(const frozen_base& base);
/// Checks a split (a, b) against a model of n_layer blocks: a >= 1, b >= 1, and the edge runs at least one
/// block (a + b < n_layer); elsa::error naming [split] otherwise. A two-part split ([split] layout =
/// "two_part") has no tail: b = 0 and 1 <= a < n_layer.
void check_split(int64_t n_layer, int64_t head_blocks, int64_t tail_blocks, bool two_part = false);
/// Checks the keys of a run config that depend on the model: the split (check_split) and [model] max_len
/// against the model's n_positions; elsa::error naming the [section] key otherwise.
void check_against_base(const frozen_base& base, const run::run_config& cfg);

} // namespace elsa::fed
