// Latency-aware placement of clients on edges (ELSA.md 3.1): the assignment that minimises the total
// client-edge round-trip time under each edge's capacity, exactly (a min-cost flow clients -> edges), the
// greedy and round-robin baselines it is compared with, the move of a client whose RTT exceeds the straggler
// deadline, and the seeded latency model one process measures with. No torch, no CAF.
#pragma once

#include <cstdint>
#include <vector>

namespace elsa::cluster {

/// Round-trip times in ms, clients x edges, row-major.
struct latency_matrix {
  uint32_t clients = 0;
  uint32_t edges = 0;
  std::vector<double> ms;  // (clients, edges)
  double operator()(uint32_t c, uint32_t e) const {
    return ms[static_cast<std::size_t>(c) * edges + e];
  }
  double& operator()(uint32_t c, uint32_t e) {
    return ms[static_cast<std::size_t>(c) * edges + e];
  }
};

/// The edge of every client minimising the sum of rtt(c, edge_of[c]) subject to at most capacity[e] clients
/// on edge e, exactly (successive shortest paths on the bipartite flow network); ties to the lower edge id.
/// elsa::error (invalid_argument) when the capacities hold fewer than `rtt.clients` clients or their count
/// is not `rtt.edges`.
std::vector<uint32_t> min_cost_assignment(const latency_matrix& rtt, const std::vector<uint32_t>& capacity);

/// Baseline: clients in id order, each to its nearest edge that still has room.
std::vector<uint32_t> greedy_assignment(const latency_matrix& rtt, const std::vector<uint32_t>& capacity);

/// Baseline: client c to edge c mod edges, or the next edge with room.
std::vector<uint32_t> round_robin_assignment(const latency_matrix& rtt, const std::vector<uint32_t>& capacity);

double total_latency(const latency_matrix& rtt, const std::vector<uint32_t>& edge_of);
double max_latency(const latency_matrix& rtt, const std::vector<uint32_t>& edge_of);

/// Every client whose RTT to its edge exceeds `deadline_ms` moves to its nearest edge with room (if that is
/// nearer); returns the clients moved, in id order. `edge_of` is updated.
std::vector<uint32_t> move_slow_clients(std::vector<uint32_t>& edge_of, const latency_matrix& rtt,
                                        const std::vector<uint32_t>& capacity, double deadline_ms);

/// The seeded latency model of a run in one process: link (c, e) has a base RTT drawn uniformly from
/// [base_min_ms, base_max_ms]; every measurement adds a jitter drawn uniformly from [0, jitter_ms].
struct latency_model {
  latency_matrix base;
  double jitter_ms = 0;

  static latency_model seeded(uint32_t clients, uint32_t edges, double base_min_ms, double base_max_ms,
                              double jitter_ms, uint64_t seed);
  /// The `n`-th measurement of link (c, e): base + jitter, a pure function of (seed, c, e, n).
  double sample(uint32_t c, uint32_t e, uint64_t n) const;
  uint64_t seed = 0;
};

} // namespace elsa::cluster
