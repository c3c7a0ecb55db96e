// Placement of clients on edges (see placement.hpp).
#include "core/fed/placement.hpp"

#include <cmath>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::fed {

std::vector<messages::assignment> initial_placement(const std::map<uint32_t, uint32_t>& cluster_of, uint32_t edges) {
  if (edges == 0)
    throw error(errc::invalid_argument, "placement: no edges to place clients on");
  std::vector<messages::assignment> out;
  out.reserve(cluster_of.size());
  for (const auto& [c, k] : cluster_of)
    out.push_back({c, c % edges, k});
  return out;
}

std::vector<messages::assignment> reassign(std::vector<messages::assignment>& placement, uint32_t dead,
                                           const std::set<uint32_t>& live) {
  std::vector<messages::assignment> moved;
  if (live.empty())
    return moved;
  const std::vector<uint32_t> edges(live.begin(), live.end());
  std::size_t next = 0;
  for (auto& a : placement)
    if (a.edge_id == dead) {
      a.edge_id = edges[next++ % edges.size()];
      moved.push_back(a);
    }
  return moved;
}

cluster::latency_model latency_model_of(const run::run_config& cfg) {
  // A stream of its own: the latency draws do not move with the data or initialisation draws of the seed.
  constexpr uint64_t k_latency_stream = 0x1a7e9c;
  auto m = cluster::latency_model::seeded(static_cast<uint32_t>(cfg.clients), static_cast<uint32_t>(cfg.edges),
                                          cfg.latency_min_ms, cfg.latency_max_ms, cfg.latency_jitter_ms,
                                          cfg.seed ^ k_latency_stream);
  if (!cfg.latency_ms.empty()) {
    if (cfg.latency_ms.size() != m.base.ms.size())
      throw error(errc::invalid_argument,
                  fmt::format("[elsa] latency_ms has {} entries, not clients x edges = {}", cfg.latency_ms.size(),
                              m.base.ms.size()));
    m.base.ms = cfg.latency_ms;
  }
  return m;
}

std::vector<uint32_t> edge_capacities(int64_t edge_capacity, uint32_t clients, uint32_t edges,
                                      const std::set<uint32_t>& live) {
  std::vector<uint32_t> out(edges, 0);
  uint32_t n_live = 0;
  for (auto e : live)
    n_live += e < edges;
  if (n_live == 0)
    return out;
  const auto fair = static_cast<int64_t>((clients + n_live - 1) / n_live);
  const int64_t cap = edge_capacity > 0 && edge_capacity * n_live >= clients ? edge_capacity : fair;
  for (auto e : live)
    if (e < edges)
      out[e] = static_cast<uint32_t>(cap);
  return out;
}

namespace {

// The matrix over the clients of `placement` (row i: placement[i]'s client), unmeasured links at
// k_unmeasured_ms.
cluster::latency_matrix by_row(const std::vector<messages::assignment>& placement, const cluster::latency_matrix& rtt,
                               const char* what) {
  cluster::latency_matrix m;
  m.clients = static_cast<uint32_t>(placement.size());
  m.edges = rtt.edges;
  m.ms.reserve(static_cast<std::size_t>(m.clients) * m.edges);
  for (const auto& a : placement) {
    if (a.client_id >= rtt.clients)
      throw error(errc::invalid_argument,
                  fmt::format("{}: client {} is not in the {}-client RTT matrix", what, a.client_id, rtt.clients));
    for (uint32_t e = 0; e < rtt.edges; ++e) {
      const double v = rtt(a.client_id, e);
      m.ms.push_back(std::isnan(v) ? k_unmeasured_ms : v);
    }
  }
  return m;
}

} // namespace

std::vector<messages::assignment> latency_placement(const std::vector<messages::assignment>& current,
                                                    const cluster::latency_matrix& rtt,
                                                    const std::vector<uint32_t>& capacity) {
  const auto m = by_row(current, rtt, "latency placement");
  const auto edge_of = cluster::min_cost_assignment(m, capacity);
  auto out = current;
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i].edge_id = edge_of[i];
  return out;
}

std::vector<messages::assignment> move_stragglers(std::vector<messages::assignment>& placement,
                                                  const cluster::latency_matrix& rtt,
                                                  const std::vector<uint32_t>& capacity, double deadline_ms) {
  auto m = by_row(placement, rtt, "straggler moves");
  std::vector<uint32_t> edge_of;
  for (std::size_t i = 0; i < placement.size(); ++i) {
    const auto e = placement[i].edge_id;
    if (e >= rtt.edges)
      throw error(errc::invalid_argument, fmt::format("straggler moves: client {} is on edge {} of {}",
                                                      placement[i].client_id, e, rtt.edges));
    edge_of.push_back(e);
    auto& own = m.ms[i * m.edges + e];
    if (own == k_unmeasured_ms)
      own = 0;  // not measured: not known to be slow
  }
  std::vector<messages::assignment> moved;
  for (auto i : cluster::move_slow_clients(edge_of, m, capacity, deadline_ms)) {
    placement[i].edge_id = edge_of[i];
    moved.push_back(placement[i]);
  }
  return moved;
}

measured_placement place_measured(const std::vector<messages::assignment>& current, const cluster::latency_matrix& rtt,
                                  const std::vector<uint32_t>& capacity, const std::string& policy, bool placed,
                                  double deadline_ms) {
  measured_placement out;
  out.placement = current;
  out.placed = placed;
  bool any_measured = false;
  for (double v : rtt.ms)
    any_measured = any_measured || !std::isnan(v);
  try {
    if (!placed && any_measured) {
      if (policy == "latency")
        out.placement = latency_placement(current, rtt, capacity);
      out.placed = true;
    }
    if (deadline_ms > 0 && any_measured)
      move_stragglers(out.placement, rtt, capacity, deadline_ms);
  } catch (const std::exception& e) {
    out.placement = current;
    out.placed = placed;
    out.problem = e.what();
  }
  for (std::size_t i = 0; i < current.size(); ++i)
    if (out.placement[i].edge_id != current[i].edge_id)
      out.moved.push_back(current[i].client_id);
  out.latency = latency_of(out.placement, rtt);
  return out;
}

std::vector<messages::assignment> reassign_dead_edge(std::vector<messages::assignment>& placement, uint32_t dead,
                                                     const std::set<uint32_t>& live,
                                                     const cluster::latency_matrix& rtt,
                                                     const std::vector<uint32_t>& capacity,
                                                     const std::string& policy) {
  if (policy != "latency")
    return reassign(placement, dead, live);
  if (capacity.size() != rtt.edges)
    throw error(errc::invalid_argument, fmt::format("dead edge {}: {} capacities for {} edges", dead,
                                                    capacity.size(), rtt.edges));
  std::vector<uint32_t> load(rtt.edges, 0);
  std::vector<messages::assignment> orphans;
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < placement.size(); ++i) {
    if (placement[i].edge_id == dead) {
      orphans.push_back(placement[i]);
      where.push_back(i);
    } else if (placement[i].edge_id < rtt.edges) {
      ++load[placement[i].edge_id];
    }
  }
  std::vector<messages::assignment> moved;
  if (orphans.empty())
    return moved;
  std::vector<uint32_t> room(rtt.edges, 0);
  for (auto e : live)
    if (e < rtt.edges && e != dead)
      room[e] = capacity[e] > load[e] ? capacity[e] - load[e] : 0;
  const auto m = by_row(orphans, rtt, fmt::format("dead edge {}", dead).c_str());
  const auto edge_of = cluster::min_cost_assignment(m, room);
  for (std::size_t j = 0; j < orphans.size(); ++j) {
    auto& a = placement[where[j]];
    a.edge_id = edge_of[j];
    moved.push_back(a);
  }
  return moved;
}

placement_latency latency_of(const std::vector<messages::assignment>& placement, const cluster::latency_matrix& rtt) {
  placement_latency out;
  for (const auto& a : placement) {
    const double v = a.client_id < rtt.clients && a.edge_id < rtt.edges ? rtt(a.client_id, a.edge_id) : NAN;
    if (std::isnan(v)) {
      ++out.unmeasured;
      continue;
    }
    out.total_ms += v;
    out.max_ms = std::max(out.max_ms, v);
  }
  return out;
}

} // namespace elsa::fed
