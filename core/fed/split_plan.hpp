// Split points per client (ELSA.md 3.2): the fixed [split] or, under [split] mode = "dynamic", the planner's
// choice (core/sim/planner) for every edge's clients with their devices at that round. Values in, values out:
// the coordinator only sends what this returns (tests/fed/split_plan_test.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "core/run/run_config.hpp"
#include "core/sim/cost_model.hpp"
#include "messages/types.hpp"

namespace elsa::fed {

/// Bytes per value of a split tensor on the wire ([compress] activations: fp32 4, fp16/bf16 2).
int64_t wire_bytes_per_value(const run::run_config& cfg);

/// The split of every client in `placement` (one split_point per entry, same order) for edge round `round`:
/// [split] head_blocks/tail_blocks when mode = "fixed"; when "dynamic", sim::plan_edge over each edge's
/// clients with cfg.client_device(c, round), the edge's compute, [train] batch_size x [model] max_len and
/// [split] min_head_blocks. elsa::error naming the client when no split fits its memory.
std::vector<messages::split_point> plan_splits(const run::run_config& cfg, const sim::model_shape& shape,
                                               const std::vector<messages::assignment>& placement, int64_t round);

/// Checks at start-up that every client fits a split in every round's device class (dynamic) — the same
/// error plan_splits would give mid-run, before anything runs.
void check_devices(const run::run_config& cfg, const sim::model_shape& shape);

} // namespace elsa::fed
