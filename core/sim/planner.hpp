// The split planner (ELSA.md 3.2): the cost of one client's training step at a split on its device, and the
// joint choice of split points for the clients of one edge that minimises the edge's synchronous step time
// under each client's memory budget, exactly. No torch, no actors: core/fed calls it, the actors wire it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/sim/cost_model.hpp"

namespace elsa::sim {

/// A client device in SI units. No defaults for the numbers: they come from the run config ([profiles]).
struct device_profile {
  std::string name;            // for error messages and the record
  double flops_per_s = 0;      // sustained training FLOP/s (> 0)
  double memory_bytes = 0;     // what a training step may hold: client_memory_bytes must fit
  double up_bytes_per_s = 0;   // client -> edge (> 0)
  double down_bytes_per_s = 0; // edge -> client (> 0)
  double latency_s = 0;        // one way, per message (>= 0)
};

/// One client's step at a split: its own compute and communication, and the edge's work for it.
struct step_cost {
  double client_s = 0; // client FLOPs / its flops_per_s
  double comm_s = 0;   // four split tensors: 2 x (bytes / up + latency) + 2 x (bytes / down + latency)
  double edge_s = 0;   // body FLOPs at the edge's full speed
};

/// The cost of one training step of `client` at split s (ELSA's cost model). Each step moves four split
/// tensors of activation_bytes(wire_bytes_per_value) each: the head activation and the gradient of the body
/// output up, the body output and the gradient of the head output down, each paying one latency.
/// elsa::error (invalid_argument) naming the device and the field when a speed is not positive or the
/// latency is negative.
step_cost cost_of(const model_shape& m, const step_shape& step, int64_t wire_bytes_per_value,
                  const device_profile& client, double edge_flops_per_s, split s);

/// Every split the model allows, by a then b: a >= max(a_min, 1), b >= 1, a + b < n_layer (the edge runs at
/// least one block). Empty when none does.
std::vector<split> feasible_splits(int64_t n_layer, int64_t a_min);

/// The splits of one edge's clients, one per client in input order, chosen jointly: a synchronous step of
/// the edge lasts max over its clients of (client_s + comm_s) plus the sum over its clients of edge_s (the
/// edge serves their bodies one after the other), and the plan minimises that subject to
/// client_memory_bytes <= memory_bytes for every client. Exact: for each threshold t among the clients'
/// values of client_s + comm_s, every client takes, among its fitting splits with client_s + comm_s <= t,
/// the one with the least edge_s (ties: smaller client_s + comm_s, then smaller a, then smaller b); the best
/// threshold's plan is kept (ties: the smaller t). The optimum's slowest client sets some t, and at that t
/// no client's edge time can be lower, so no assignment is better.
/// elsa::error (invalid_argument) naming the client's index and name and the smallest memory any split would
/// need when no split fits its budget, or when the model allows no split at a_min.
std::vector<split> plan_edge(const model_shape& m, const step_shape& step, int64_t wire_bytes_per_value,
                             const std::vector<device_profile>& clients, double edge_flops_per_s,
                             int64_t a_min);

/// The objective plan_edge minimises, for a given assignment (one split per client, in input order): max of
/// client_s + comm_s plus the sum of edge_s. Memory is not checked. elsa::error when the sizes differ.
double edge_step_seconds(const model_shape& m, const step_shape& step, int64_t wire_bytes_per_value,
                         const std::vector<device_profile>& clients, double edge_flops_per_s,
                         const std::vector<split>& splits);

} // namespace elsa::sim
