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

/// sum_i w_i x_i / sum_i w_i per name, over the sets that hold that name (each task's head is averaged over
/// its own task's clients); the same name must have the same shape everywhere. Sorted by name.
adapter_set weighted_average_by_name(const std::vector<weighted_set>& sets);

// -- heads per task --
// Adapter sets on the wire carry one classifier head per task under head_name(task), so a cluster whose
// clients hold several tasks averages LoRA over all of them and each head over its task's clients only.
// Participants, evaluation and files use the plain PEFT name (base_model.model.score.weight).

/// "base_model.model.score.<task>.weight".
std::string head_name(const std::string& task);
/// A classifier head of any task, qualified or plain.
bool is_head(const std::string& name);
/// The LoRA entries of `set` plus `task`'s head under the plain PEFT name; other tasks' heads left out.
adapter_set for_task(const adapter_set& set, const std::string& task);
/// `set` with its plain head (if any) renamed to head_name(task), sorted by name.
adapter_set with_task_head(adapter_set set, const std::string& task);
/// The LoRA entries only.
adapter_set lora_only(const adapter_set& set);
/// The block a LoRA entry belongs to (`base_model.model.transformer.h.<i>.…`), or -1 for anything else.
int64_t lora_block(const std::string& name);
/// The LoRA entries of `set` on blocks in [first, last) that `kept` does not list: what a participant that
/// now runs [first, last) must take from elsewhere after a re-split (blocks it ran before keep its values).
adapter_set moved_blocks(const adapter_set& set, int64_t first, int64_t last, const std::vector<int64_t>& kept);
/// `newer` plus the entries of `older` whose names `newer` lacks (heads no update touched), sorted.
adapter_set overlay(const adapter_set& older, const adapter_set& newer);

/// `update` moved from the adapters it started from to newer ones: to + (update - from) for every entry whose name
/// and shape all three hold (f32 out); other entries as they are. What an update made rounds ago adds to the
/// adapters of now (FedBuff's delta), instead of pulling them back to its old start.
adapter_set rebase(const adapter_set& update, const adapter_set& from, const adapter_set& to);

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
