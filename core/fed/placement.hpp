// Where clients go: the initial placement of registered clients on edges and the reassignment of a dead
// edge's clients. Plain functions (no actors, no torch), so the coordinator only applies them and they are
// unit-tested on their own (tests/fed/placement_test.cpp). Latency-aware placement replaces these later.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "messages/types.hpp"

namespace elsa::fed {

/// Client c on edge c mod `edges`, in the cluster its data belongs to (`cluster_of`: client -> cluster), in
/// client order. elsa::error when `edges` is 0.
std::vector<messages::assignment> initial_placement(const std::map<uint32_t, uint32_t>& cluster_of, uint32_t edges);

/// Moves the clients of edge `dead` to the `live` edges, round-robin in client order; returns the moved
/// assignments (as they now are). Nothing moves when `live` is empty.
std::vector<messages::assignment> reassign(std::vector<messages::assignment>& placement, uint32_t dead,
                                           const std::set<uint32_t>& live);

} // namespace elsa::fed
