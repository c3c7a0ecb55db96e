// The simulated clock (ELSA.md 3.2): how long an edge round would have taken on the configured devices,
// from what the run really did (each client's steps, split and encoded bytes). The same lockstep model as
// the planner (planner.hpp), so the planner optimises what the clock measures. No torch, no actors.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "core/sim/cost_model.hpp"
#include "core/sim/planner.hpp"

namespace elsa::sim {

/// What one client did in one edge round, as its events report it.
struct client_usage {
  uint32_t client = 0, edge = 0;
  split at{1, 1};               // the split its steps ran at
  int64_t steps = 0;            // training steps completed
  int64_t positions = 0;        // padded token positions its steps processed (sum of B x T)
  int64_t max_seq_len = 0;      // its longest padded batch (T): the memory peak; 0: the mean step's
  int64_t batch = 1;            // the configured batch size (the last batch of an epoch may be smaller)
  int64_t bytes_up = 0;         // encoded bytes it sent its edge (steps and adapters)
  int64_t bytes_down = 0;       // encoded bytes its edge sent it (opening, step replies, adapters)
  int64_t messages = 0;         // messages either way, each one a link latency
  // Of bytes_down and messages, what comes after the client's upload (the round's aggregate coming back):
  // counted in its round, not in whether its upload met the deadline.
  int64_t bytes_after_upload = 0, messages_after_upload = 0;
  device_profile device;
  layout where = layout::u_shaped;  // [split] layout: which side runs what (cost_model.hpp)
};

/// One client's simulated edge round.
struct client_time {
  double compute_s = 0;  // its head and tail, forward and backward, at its speed
  double comm_s = 0;     // its bytes over its links, plus one latency per message
  double edge_s = 0;     // its body work at the edge's full speed
  double flops = 0;      // client-side FLOPs of the round
  int64_t memory_bytes = 0; // client_memory_bytes at its split, its batch size and its longest batch
  double step_s = 0;     // (compute_s + comm_s) / steps: its own part of one step
  bool met_deadline = true;
};

/// One edge's simulated edge round: it lasts max over its clients of (compute_s + comm_s) plus the sum of
/// their edge_s (the edge serves the bodies one after the other while the clients wait). FLOPs are those of
/// the mean step's shape (T = positions / (steps x batch)) times the steps.
struct edge_time {
  double seconds = 0;
  std::map<uint32_t, client_time> clients;
};

/// One client's part of an edge round (met_deadline left true: that needs the edge's other clients).
client_time client_round(const model_shape& shape, const client_usage& u, double edge_flops_per_s);

/// Seconds of a client's own work up to and including its upload: compute_s + comm_s less what comes after
/// the upload. What a client's upload carries (adapter_update.sim_seconds).
double until_upload_s(const client_time& t, const client_usage& u);

/// Seconds the edge spends on `steps` body steps of `positions` padded positions at batch `batch` for a client
/// at split `at` (the mean step's shape, as client_round counts it).
double edge_seconds(const model_shape& shape, split at, layout where, int64_t batch, int64_t steps,
                    int64_t positions, double edge_flops_per_s);

/// Whether a client's upload met the deadline: its own work until the upload plus the edge's whole body
/// work of the round (the edge serves every client's bodies while the clients wait) fits in deadline_s.
/// deadline_s <= 0: always.
bool meets_deadline(double until_upload_s, double edge_work_s, double deadline_s);

/// One upload of an edge round as an edge enforcing the deadline sees it.
struct upload_time {
  double until_upload_s = 0;  // the client's own work until its upload (adapter_update.sim_seconds)
  double edge_s = 0;          // the edge's body work for the client this round (edge_seconds)
};

/// The edge's body work for a round's uploads: the sum of their edge_s, in client order (the same bits for
/// late_uploads, fedbuff_flush and edge_round).
double wave_edge_seconds(const std::map<uint32_t, upload_time>& uploads);

/// The clients of `uploads` (the round's on-time uploads, by client) whose upload missed deadline_s, the
/// edge's work being the sum over all of them (as edge_round counts it). Ascending; empty when deadline_s <= 0.
std::vector<uint32_t> late_uploads(const std::map<uint32_t, upload_time>& uploads, double deadline_s);

/// [topology] mode = "async" (FedBuff at an edge, on the simulated clock): an upload not aggregated yet, with
/// the simulated seconds left until it reaches the edge, counted from the edge's last flush.
struct waiting_upload {
  uint32_t client = 0;
  uint32_t round = 0;       // the edge round it was trained in (the adapters it started from)
  double remaining_s = 0;
  friend bool operator==(const waiting_upload& a, const waiting_upload& b) {
    return a.client == b.client && a.round == b.round && a.remaining_s == b.remaining_s;
  }
};

/// One flush of an async edge.
struct flush_plan {
  std::vector<waiting_upload> taken;    // aggregated now, earliest first (remaining_s as they were before it)
  std::vector<waiting_upload> waiting;  // still on their way, remaining_s now from this flush; earliest first
  double seconds = 0;                   // from the last flush to this one: when the last taken upload arrived
};

/// The uploads of the round that started at the edge's last flush (`wave`, the clients that started then: each
/// arrives after its own work until the upload plus the edge's body work for the whole wave, as late_uploads
/// counts it) and those still `waiting` from earlier rounds: the `buffer` earliest arrivals are aggregated when
/// the last of them arrives (every upload when there are fewer). Ties go to the lower client id.
flush_plan fedbuff_flush(const std::map<uint32_t, upload_time>& wave, uint32_t round,
                         const std::vector<waiting_upload>& waiting, std::size_t buffer);

/// The simulated round of one edge. deadline_s > 0: a client for which meets_deadline is false has
/// met_deadline = false. `left_out` ([profiles] enforce_deadline: the clients whose uploads the edge left out
/// as late): when not empty, the round lasts max(deadline_s, the slowest other client's round) instead.
edge_time edge_round(const model_shape& shape, const std::vector<client_usage>& clients, double edge_flops_per_s,
                     double deadline_s, const std::set<uint32_t>* left_out = nullptr);

/// Seconds to move `bytes` over a link of `bytes_per_s` plus `messages` latencies.
double transfer_seconds(int64_t bytes, double bytes_per_s, int64_t messages, double latency_s);

} // namespace elsa::sim
