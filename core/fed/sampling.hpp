// Client sampling ([topology] clients_per_round): which clients take part in an edge round. A seeded draw per
// round, so a run (and a resumed run) samples the same clients; the coordinator draws, the edges open only the
// sampled. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

#include "core/run/run_config.hpp"

namespace elsa::fed {

/// `k` of `candidates` (client ids, any order; k >= their number: all of them), drawn for edge round `round`
/// of a run seeded with `seed`: the same arguments give the same clients, sorted.
std::vector<uint32_t> sample_clients(std::vector<uint32_t> candidates, int64_t k, uint64_t seed, uint32_t round);

/// The batches client `client` drew in edge rounds 0 .. round-1 of a run of `cfg`: kappa1 per round it took
/// part in (every round, or those sample_clients drew it for among all clients: exact while no edge died).
/// Where a resumed client goes on through its data.
std::size_t batches_before(const run::run_config& cfg, uint32_t client, uint32_t round);

} // namespace elsa::fed
