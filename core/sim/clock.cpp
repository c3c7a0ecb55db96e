// The simulated clock of an edge round (see clock.hpp).
#include "core/sim/clock.hpp"

#include <algorithm>
#include <cmath>

namespace elsa::sim {

double transfer_seconds(int64_t bytes, double bytes_per_s, int64_t messages, double latency_s) {
  return static_cast<double>(bytes) / bytes_per_s + static_cast<double>(messages) * latency_s;
}

namespace {

step_shape mean_step(int64_t batch, int64_t steps, int64_t positions) {
  const auto b = std::max<int64_t>(1, batch);
  const auto per_step = static_cast<double>(positions) / static_cast<double>(std::max<int64_t>(1, steps));
  return {b, std::max<int64_t>(1, std::llround(per_step / static_cast<double>(b)))};
}

// A client's link seconds for `bytes_down` of what its edge sent and `messages` latencies: the one expression
// of comm_s, so its round and its time until the upload are the same bits where they count the same.
double comm_seconds(const client_usage& u, int64_t bytes_down, int64_t messages) {
  return static_cast<double>(u.bytes_up) / u.device.up_bytes_per_s
         + static_cast<double>(bytes_down) / u.device.down_bytes_per_s
         + static_cast<double>(messages) * u.device.latency_s;
}

} // namespace

client_time client_round(const model_shape& shape, const client_usage& u, double edge_flops_per_s) {
  client_time t;
  if (u.steps > 0) {
    // The mean step's shape: FLOPs are per step, and attention's grow with T^2 per sequence.
    const auto s = mean_step(u.batch, u.steps, u.positions);
    const auto f = training_step_flops(shape, s, u.at, u.where);
    t.flops = f.client * static_cast<double>(u.steps);
    t.compute_s = t.flops / u.device.flops_per_s;
    t.edge_s = edge_seconds(shape, u.at, u.where, u.batch, u.steps, u.positions, edge_flops_per_s);
    t.memory_bytes = client_memory_bytes(shape, {s.batch, u.max_seq_len > 0 ? u.max_seq_len : s.seq_len}, u.at, u.where);
  }
  t.comm_s = comm_seconds(u, u.bytes_down, u.messages);
  t.step_s = u.steps > 0 ? (t.compute_s + t.comm_s) / static_cast<double>(u.steps) : 0.0;
  return t;
}

double until_upload_s(const client_time& t, const client_usage& u) {
  // On the values before the upload: a client computing this from its own usage (no after-upload part) and
  // the record (with it) get the same bits.
  return t.compute_s + comm_seconds(u, u.bytes_down - u.bytes_after_upload, u.messages - u.messages_after_upload);
}

double edge_seconds(const model_shape& shape, split at, layout where, int64_t batch, int64_t steps,
                    int64_t positions, double edge_flops_per_s) {
  if (steps <= 0)
    return 0.0;
  const auto f = training_step_flops(shape, mean_step(batch, steps, positions), at, where);
  return f.edge * static_cast<double>(steps) / edge_flops_per_s;
}

bool meets_deadline(double until_upload_s, double edge_work_s, double deadline_s) {
  return deadline_s <= 0 || until_upload_s + edge_work_s <= deadline_s;
}

double wave_edge_seconds(const std::map<uint32_t, upload_time>& uploads) {
  double edge_work = 0;
  for (const auto& [c, u] : uploads)  // in client order, as edge_round sums its clients' edge_s
    edge_work += u.edge_s;
  return edge_work;
}

std::vector<uint32_t> late_uploads(const std::map<uint32_t, upload_time>& uploads, double deadline_s) {
  std::vector<uint32_t> late;
  if (deadline_s <= 0)
    return late;
  const double edge_work = wave_edge_seconds(uploads);
  for (const auto& [c, u] : uploads)
    if (!meets_deadline(u.until_upload_s, edge_work, deadline_s))
      late.push_back(c);
  return late;
}

flush_plan fedbuff_flush(const std::map<uint32_t, upload_time>& wave, uint32_t round,
                         const std::vector<waiting_upload>& waiting, std::size_t buffer) {
  const double edge_work = wave_edge_seconds(wave);
  std::vector<waiting_upload> all = waiting;
  for (const auto& [c, u] : wave)
    all.push_back({c, round, u.until_upload_s + edge_work});
  std::sort(all.begin(), all.end(), [](const waiting_upload& a, const waiting_upload& b) {
    return a.remaining_s != b.remaining_s ? a.remaining_s < b.remaining_s : a.client < b.client;
  });
  flush_plan out;
  const std::size_t take = std::min(std::max<std::size_t>(buffer, 1), all.size());
  out.taken.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(take));
  out.seconds = take > 0 ? std::max(0.0, out.taken.back().remaining_s) : 0.0;
  for (std::size_t i = take; i < all.size(); ++i) {
    auto w = all[i];
    w.remaining_s = std::max(0.0, w.remaining_s - out.seconds);
    out.waiting.push_back(w);
  }
  return out;
}

edge_time edge_round(const model_shape& shape, const std::vector<client_usage>& clients, double edge_flops_per_s,
                     double deadline_s, const std::set<uint32_t>* left_out) {
  edge_time out;
  double slowest = 0, edge_work = 0;
  for (const auto& u : clients) {
    const auto t = client_round(shape, u, edge_flops_per_s);
    slowest = std::max(slowest, t.compute_s + t.comm_s);
    out.clients[u.client] = t;
  }
  for (const auto& [c, t] : out.clients)  // in client order, as late_uploads sums it
    edge_work += t.edge_s;
  out.seconds = slowest + edge_work;
  if (deadline_s > 0)
    for (const auto& u : clients) {
      auto& t = out.clients[u.client];
      t.met_deadline = meets_deadline(until_upload_s(t, u), edge_work, deadline_s);
    }
  // Late clients left out do not hold the round: the edge closed at the deadline (or when the last client
  // taken has its aggregate back, if that is later).
  if (deadline_s > 0 && left_out != nullptr && !left_out->empty()) {
    double slowest_taken = 0;
    for (const auto& [c, t] : out.clients)
      if (!left_out->count(c))
        slowest_taken = std::max(slowest_taken, t.compute_s + t.comm_s);
    out.seconds = std::max(deadline_s, slowest_taken + edge_work);
  }
  return out;
}

} // namespace elsa::sim
