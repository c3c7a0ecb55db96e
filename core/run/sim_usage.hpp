// One client's usage of an edge round as the simulated clock takes it (core/sim/clock.hpp), from what its
// client_round event reports: the one place the run record and a client (the sim_seconds of its upload)
// build it, so the edge judges an upload by the same numbers the record shows. No torch, no actors.
#pragma once

#include "core/run/events.hpp"
#include "core/run/run_config.hpp"
#include "core/sim/clock.hpp"

namespace elsa::run {

/// Which side runs what, as the config's split says ([split] layout).
sim::layout sim_layout(const run_config& cfg);

/// The usage of `ev` (its client's device at its round, the configured batch, the config's layout). A split
/// of 0 head blocks (an event that does not say) is the config's.
sim::client_usage client_usage_of(const run_config& cfg, const client_round_event& ev);

/// What a client's upload carries (adapter_update.sim_seconds): the simulated seconds of its own work of the
/// round until and including the upload, from its client_round event, as the record's clock counts them.
double upload_sim_seconds(const run_config& cfg, const sim::model_shape& shape, const client_round_event& ev);

/// The simulated seconds edge `edge` spent on one client's round: `steps` completed body steps over `positions`
/// padded positions at split `at`.
double served_edge_seconds(const run_config& cfg, const sim::model_shape& shape, uint32_t edge, sim::split at,
                           int64_t steps, int64_t positions);

} // namespace elsa::run
