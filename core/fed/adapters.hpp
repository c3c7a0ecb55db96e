// Adapter sets as the federation moves them: named f32 tensors (PEFT names). Weighted averaging (FedAvg
// over clients at an edge, over edges at the cloud), the union of disjoint parts, and the initial global
// adapters. Torch-free interface; the arithmetic is plain loops over f32 (adapters are small).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/fed/frozen_base.hpp"
#include "core/run/run_config.hpp"
#include "messages/types.hpp"

namespace elsa::fed {

using adapter_set = std::vector<messages::named_tensor>;

struct weighted_set {
  const adapter_set* set = nullptr;
  double weight = 0.0;
};

/// sum_i w_i x_i / sum_i w_i for every name. All sets must hold the same names and shapes (f32, f16 or
/// bf16 in; f32 out, owned); weights must be >= 0 with a positive sum. elsa::error names the mismatch.
adapter_set weighted_average(const std::vector<weighted_set>& sets);

/// The union of two sets with no name in common (a client's head/tail part and its body part), sorted.
adapter_set merge_disjoint(const adapter_set& a, const adapter_set& b);

/// Total bytes of the tensors' data.
uint64_t data_bytes(const adapter_set& set);

/// The starting adapters of a cluster whose task has `num_labels` labels: LoRA init (A Kaiming-uniform,
/// B zero) on every block of `base` and a fresh classifier, from torch's global generator seeded with `seed`.
adapter_set initial_adapters(const frozen_base& base, const run::run_config& cfg, int64_t num_labels,
                             uint64_t seed);

/// Writes `set` as dir/adapter_model.safetensors + adapter_config.json (PEFT layout, loadable by
/// model::load_adapters). Loads no model.
void save_adapter_set(const std::filesystem::path& dir, const run::run_config& cfg, int64_t num_labels,
                      const adapter_set& set);

} // namespace elsa::fed
