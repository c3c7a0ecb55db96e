// The simulated clock of an edge round (see clock.hpp).
#include "core/sim/clock.hpp"

#include <algorithm>
#include <cmath>

namespace elsa::sim {

double transfer_seconds(int64_t bytes, double bytes_per_s, int64_t messages, double latency_s) {
  return static_cast<double>(bytes) / bytes_per_s + static_cast<double>(messages) * latency_s;
}

edge_time edge_round(const model_shape& shape, const std::vector<client_usage>& clients, double edge_flops_per_s,
                     double deadline_s) {
  edge_time out;
  double slowest = 0, edge_work = 0;
  for (const auto& u : clients) {
    client_time t;
    if (u.steps > 0) {
      // The mean step's shape: FLOPs are per step, and attention's grow with T^2 per sequence.
      const auto batch = std::max<int64_t>(1, u.batch);
      const auto per_step = static_cast<double>(u.positions) / static_cast<double>(u.steps);
      const step_shape s{batch, std::max<int64_t>(1, std::llround(per_step / static_cast<double>(batch)))};
      const auto f = training_step_flops(shape, s, u.at, u.where);
      t.flops = f.client * static_cast<double>(u.steps);
      t.compute_s = t.flops / u.device.flops_per_s;
      t.edge_s = f.edge * static_cast<double>(u.steps) / edge_flops_per_s;
      t.memory_bytes =
        client_memory_bytes(shape, {batch, u.max_seq_len > 0 ? u.max_seq_len : s.seq_len}, u.at, u.where);
    }
    t.comm_s = static_cast<double>(u.bytes_up) / u.device.up_bytes_per_s
               + static_cast<double>(u.bytes_down) / u.device.down_bytes_per_s
               + static_cast<double>(u.messages) * u.device.latency_s;
    t.step_s = u.steps > 0 ? (t.compute_s + t.comm_s) / static_cast<double>(u.steps) : 0.0;
    slowest = std::max(slowest, t.compute_s + t.comm_s);
    edge_work += t.edge_s;
    out.clients[u.client] = t;
  }
  out.seconds = slowest + edge_work;
  if (deadline_s > 0)
    for (auto& [id, t] : out.clients)
      t.met_deadline = t.compute_s + t.comm_s + edge_work <= deadline_s;
  return out;
}

} // namespace elsa::sim
