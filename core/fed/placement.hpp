// Where clients go: the initial placement of registered clients on edges and the reassignment of a dead
// edge's clients. Plain functions (no actors, no torch), so the coordinator only applies them and they are
// unit-tested on their own (tests/fed/placement_test.cpp). Latency-aware placement ([elsa] assignment =
// "latency", ELSA.md 3.1) and the straggler moves work on the RTTs the edges measured (core/cluster/assignment).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/cluster/assignment.hpp"
#include "core/run/run_config.hpp"
#include "messages/types.hpp"

namespace elsa::fed {

/// Client c on edge c mod `edges`, in the cluster its data belongs to (`cluster_of`: client -> cluster), in
/// client order. elsa::error when `edges` is 0.
std::vector<messages::assignment> initial_placement(const std::map<uint32_t, uint32_t>& cluster_of, uint32_t edges);

/// Moves the clients of edge `dead` to the `live` edges, round-robin in client order; returns the moved
/// assignments (as they now are). Nothing moves when `live` is empty.
std::vector<messages::assignment> reassign(std::vector<messages::assignment>& placement, uint32_t dead,
                                           const std::set<uint32_t>& live);

/// The seeded latency model a run in one process measures its client-edge links with ([elsa] latency_*):
/// base RTTs drawn from [latency_min_ms, latency_max_ms] by the run's seed, or latency_ms when given.
cluster::latency_model latency_model_of(const run::run_config& cfg);

/// Clients each edge id 0..edges-1 may serve: `edge_capacity`, or ceil(clients / live edges) when that is 0
/// or when the live edges could not hold every client at `edge_capacity` (after an edge died); 0 for an edge
/// not in `live`.
std::vector<uint32_t> edge_capacities(int64_t edge_capacity, uint32_t clients, uint32_t edges,
                                      const std::set<uint32_t>& live);

/// The RTTs the coordinator knows: clients x edges, NaN where a link was never measured (a client that did
/// not answer, an edge that did not report). The assignment maths sees an unmeasured link as this far.
constexpr double k_unmeasured_ms = 1e9;

/// The placement with the least total measured RTT under `capacity` (exact: cluster::min_cost_assignment),
/// every client keeping its cluster; clients in `current`'s order. elsa::error when `rtt` does not cover
/// every client or the capacities cannot hold them.
std::vector<messages::assignment> latency_placement(const std::vector<messages::assignment>& current,
                                                    const cluster::latency_matrix& rtt,
                                                    const std::vector<uint32_t>& capacity);

/// Every client whose measured RTT to its edge exceeds `deadline_ms` moves to its nearest measured edge with
/// room, if that is nearer (cluster::move_slow_clients; a link not measured is never slow and never a
/// destination); returns the moved assignments as they now are.
std::vector<messages::assignment> move_stragglers(std::vector<messages::assignment>& placement,
                                                  const cluster::latency_matrix& rtt,
                                                  const std::vector<uint32_t>& capacity, double deadline_ms);

/// The client-edge latency of a placement over its measured links (the run record's latency_total_ms and
/// latency_max_ms), and how many of its links were not measured.
struct placement_latency {
  double total_ms = 0, max_ms = 0;
  uint32_t unmeasured = 0;
};
placement_latency latency_of(const std::vector<messages::assignment>& placement, const cluster::latency_matrix& rtt);


struct measured_placement {
  std::vector<messages::assignment> placement;  // as `current`, client for client
  std::vector<uint32_t> moved;                  // clients whose edge changed, in `current`'s order
  bool placed = false;                          // the first placement is done (now or before)
  placement_latency latency;                    // of `placement`, over what was measured
  std::string problem;                          // why the placement failed (empty: it did not)
};

/// What one measurement of the client-edge RTTs changes (ELSA.md 3.1), all of the coordinator's placement
/// policy in one place. Until a first placement is done (`placed` false) a measurement that reached at least
/// one link places every client by `policy` ("latency": latency_placement; "round_robin": as they are);
/// after that, and in the same measurement, clients over `deadline_ms` (> 0) move (move_stragglers). A
/// measurement that reached no link, or a placement that fails, leaves `current` as it is: the first
/// placement is tried again at the next measurement, and `problem` says why it failed.
measured_placement place_measured(const std::vector<messages::assignment>& current, const cluster::latency_matrix& rtt,
                                  const std::vector<uint32_t>& capacity, const std::string& policy, bool placed,
                                  double deadline_ms);

/// A dead edge's clients onto the live edges, returning the moved assignments as they now are. Under policy
/// "latency": the least total measured RTT into the room the live edges have left under `capacity`
/// (exact; unmeasured links as k_unmeasured_ms); elsa::error when that room cannot hold them. Otherwise:
/// over the live edges in turn (reassign).
std::vector<messages::assignment> reassign_dead_edge(std::vector<messages::assignment>& placement, uint32_t dead,
                                                     const std::set<uint32_t>& live,
                                                     const cluster::latency_matrix& rtt,
                                                     const std::vector<uint32_t>& capacity,
                                                     const std::string& policy);

} // namespace elsa::fed
