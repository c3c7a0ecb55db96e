// The cluster-coordinator role: keeps the placement of clients on edges (and their clusters), their split
// points and trust scores, and paces the kappa2 edge rounds of each cloud round: it opens edge round r on
// every live edge, waits for their closes (or a deadline) and opens the next. When an edge dies its clients
// are reassigned to the live edges. Clustering, trust and split planning algorithms arrive with the mechanisms (ELSA.md 3.1-3.3).
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/interfaces.hpp"

namespace elsa::actors {

struct coordinator_state {
  static inline const char* name = "elsa.coordinator";

  context_ptr ctx;
  std::vector<messages::assignment> assignments;  // by client id
  std::vector<messages::split_point> splits;      // by client id
  std::set<uint32_t> live_edges;
  bool set_up = false;

  // -- the cloud round in progress --
  uint32_t round = 0;       // current edge round
  uint32_t last_round = 0;  // its cloud round's last edge round
  bool running = false;
  std::set<uint32_t> closed;  // edges that closed `round`
  int64_t bytes_control = 0;
};

using coordinator_pointer = coordinator_actor::stateful_pointer<coordinator_state>;

/// Behaviour of the coordinator; `initial` places client c on an edge and in a cluster.
coordinator_actor::behavior_type cluster_coordinator(coordinator_pointer self, context_ptr ctx,
                                                     std::vector<messages::assignment> initial);

} // namespace elsa::actors
