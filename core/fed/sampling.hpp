// Client sampling ([topology] clients_per_round): which clients take part in an edge round. A seeded draw per
// round, so a run (and a resumed run) samples the same clients; the coordinator draws, the edges open only the
// sampled. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

namespace elsa::fed {

/// `k` of `candidates` (client ids, any order; k >= their number: all of them), drawn for edge round `round`
/// of a run seeded with `seed`: the same arguments give the same clients, sorted.
std::vector<uint32_t> sample_clients(std::vector<uint32_t> candidates, int64_t k, uint64_t seed, uint32_t round);

} // namespace elsa::fed
