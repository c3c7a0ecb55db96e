// Latency-aware placement (see assignment.hpp): the exact min-cost assignment of clients to capacitated
// edges, the greedy and round-robin baselines, the straggler move, and the seeded latency model.
#include "core/cluster/assignment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/data/random.hpp"
#include "core/errors.hpp"

namespace elsa::cluster {

namespace {

constexpr uint32_t none = std::numeric_limits<uint32_t>::max();

void check_matrix(const latency_matrix& rtt, const char* what) {
  if (rtt.ms.size() != static_cast<std::size_t>(rtt.clients) * rtt.edges)
    throw error(errc::invalid_argument, std::string{what} + ": " + std::to_string(rtt.ms.size())
                                          + " round-trip times for " + std::to_string(rtt.clients) + " clients x "
                                          + std::to_string(rtt.edges) + " edges");
  for (double v : rtt.ms)
    if (!std::isfinite(v))
      throw error(errc::invalid_argument, std::string{what} + ": a round-trip time is not finite");
}

void check_capacity(const latency_matrix& rtt, const std::vector<uint32_t>& capacity, const char* what) {
  if (capacity.size() != rtt.edges)
    throw error(errc::invalid_argument, std::string{what} + ": " + std::to_string(capacity.size()) + " capacities for "
                                          + std::to_string(rtt.edges) + " edges");
}

void check_room(const latency_matrix& rtt, const std::vector<uint32_t>& capacity, const char* what) {
  check_matrix(rtt, what);
  check_capacity(rtt, capacity, what);
  uint64_t room = 0;
  for (auto c : capacity)
    room += c;
  if (room < rtt.clients)
    throw error(errc::invalid_argument, std::string{what} + ": the edges hold " + std::to_string(room)
                                          + " clients, fewer than the " + std::to_string(rtt.clients));
}

void check_placement(const latency_matrix& rtt, const std::vector<uint32_t>& edge_of, const char* what) {
  check_matrix(rtt, what);
  if (edge_of.size() != rtt.clients)
    throw error(errc::invalid_argument, std::string{what} + ": " + std::to_string(edge_of.size()) + " placements for "
                                          + std::to_string(rtt.clients) + " clients");
  for (std::size_t c = 0; c < edge_of.size(); ++c)
    if (edge_of[c] >= rtt.edges)
      throw error(errc::invalid_argument, std::string{what} + ": client " + std::to_string(c) + " is on edge "
                                            + std::to_string(edge_of[c]) + " of " + std::to_string(rtt.edges));
}

// The nearest edge with room for client c, ties to the lower id; `none` when every edge is full.
uint32_t nearest_with_room(const latency_matrix& rtt, uint32_t c, const std::vector<uint32_t>& load,
                           const std::vector<uint32_t>& capacity, uint32_t skip = none) {
  uint32_t best = none;
  for (uint32_t e = 0; e < rtt.edges; ++e)
    if (e != skip && load[e] < capacity[e] && (best == none || rtt(c, e) < rtt(c, best)))
      best = e;
  return best;
}

// Uniform in (0, 1] from 64 hashed bits, as uniform_open0 draws it from an engine.
double unit_from_bits(uint64_t bits) {
  return (static_cast<double>(bits >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

} // namespace

// Successive shortest paths, one client at a time in id order. With clients 0..c-1 placed at minimum cost,
// the residual network has no negative cycle, and the shortest path from the new client c to an edge with
// room gives the minimum cost for 0..c. Such a path enters some edge, then repeatedly moves one client of
// the current edge to another edge, so it lives on the small graph of edges alone: the arc e -> f costs the
// cheapest move min over clients x on e of rtt(x, f) - rtt(x, e). Bellman-Ford on that graph (it has negative
// arcs) costs O(edges^3) per client and building it O(clients x edges), so 1,000 x 10 takes milliseconds.
std::vector<uint32_t> min_cost_assignment(const latency_matrix& rtt, const std::vector<uint32_t>& capacity) {
  check_room(rtt, capacity, "min-cost assignment");
  const uint32_t k = rtt.edges;
  // Relaxations must win by more than rounding: a zero-cost cycle that rounds to -1e-16 would otherwise
  // turn the predecessor links into a loop.
  double scale = 1.0;
  for (double v : rtt.ms)
    scale = std::max(scale, std::abs(v));
  const double eps = 1e-12 * scale;

  std::vector<uint32_t> edge_of(rtt.clients, none), load(k, 0);
  std::vector<double> arc(static_cast<std::size_t>(k) * k), dist(k);
  std::vector<uint32_t> arc_client(static_cast<std::size_t>(k) * k), prev(k);
  for (uint32_t c = 0; c < rtt.clients; ++c) {
    std::fill(arc.begin(), arc.end(), std::numeric_limits<double>::infinity());
    for (uint32_t x = 0; x < c; ++x) {
      const uint32_t e = edge_of[x];
      for (uint32_t f = 0; f < k; ++f) {
        const double move = rtt(x, f) - rtt(x, e);
        if (f != e && move < arc[e * k + f]) {
          arc[e * k + f] = move;
          arc_client[e * k + f] = x;
        }
      }
    }
    for (uint32_t e = 0; e < k; ++e) {
      dist[e] = rtt(c, e);
      prev[e] = none; // entered straight from client c
    }
    for (uint32_t round = 0; round + 1 < k; ++round) {
      bool changed = false;
      for (uint32_t e = 0; e < k; ++e)
        for (uint32_t f = 0; f < k; ++f)
          if (dist[e] + arc[e * k + f] < dist[f] - eps) {
            dist[f] = dist[e] + arc[e * k + f];
            prev[f] = e;
            changed = true;
          }
      if (!changed)
        break;
    }
    uint32_t end = none;
    for (uint32_t e = 0; e < k; ++e)
      if (load[e] < capacity[e] && (end == none || dist[e] < dist[end] - eps))
        end = e;
    // Walk back: each step e -> f moved arc_client[e][f] from e to f; the first edge takes client c.
    ++load[end];
    uint32_t f = end;
    for (uint32_t steps = 0; prev[f] != none; ++steps) {
      if (steps > k)
        throw error(errc::internal, "min-cost assignment: the shortest-path tree has a cycle");
      const uint32_t e = prev[f];
      edge_of[arc_client[e * k + f]] = f;
      f = e;
    }
    edge_of[c] = f;
  }
  return edge_of;
}

std::vector<uint32_t> greedy_assignment(const latency_matrix& rtt, const std::vector<uint32_t>& capacity) {
  check_room(rtt, capacity, "greedy assignment");
  std::vector<uint32_t> edge_of(rtt.clients), load(rtt.edges, 0);
  for (uint32_t c = 0; c < rtt.clients; ++c) {
    edge_of[c] = nearest_with_room(rtt, c, load, capacity);
    ++load[edge_of[c]];
  }
  return edge_of;
}

std::vector<uint32_t> round_robin_assignment(const latency_matrix& rtt, const std::vector<uint32_t>& capacity) {
  check_room(rtt, capacity, "round-robin assignment");
  std::vector<uint32_t> edge_of(rtt.clients), load(rtt.edges, 0);
  for (uint32_t c = 0; c < rtt.clients; ++c) {
    uint32_t e = c % rtt.edges;
    while (load[e] >= capacity[e]) // total room >= clients, so some edge has room
      e = (e + 1) % rtt.edges;
    edge_of[c] = e;
    ++load[e];
  }
  return edge_of;
}

double total_latency(const latency_matrix& rtt, const std::vector<uint32_t>& edge_of) {
  check_placement(rtt, edge_of, "total latency");
  double sum = 0.0;
  for (uint32_t c = 0; c < rtt.clients; ++c)
    sum += rtt(c, edge_of[c]);
  return sum;
}

double max_latency(const latency_matrix& rtt, const std::vector<uint32_t>& edge_of) {
  check_placement(rtt, edge_of, "max latency");
  double top = 0.0;
  for (uint32_t c = 0; c < rtt.clients; ++c)
    top = std::max(top, rtt(c, edge_of[c]));
  return top;
}

std::vector<uint32_t> move_slow_clients(std::vector<uint32_t>& edge_of, const latency_matrix& rtt,
                                        const std::vector<uint32_t>& capacity, double deadline_ms) {
  check_placement(rtt, edge_of, "move slow clients");
  check_capacity(rtt, capacity, "move slow clients");
  std::vector<uint32_t> load(rtt.edges, 0), moved;
  for (auto e : edge_of)
    ++load[e];
  for (uint32_t c = 0; c < rtt.clients; ++c) {
    const uint32_t from = edge_of[c];
    if (!(rtt(c, from) > deadline_ms))
      continue;
    const uint32_t to = nearest_with_room(rtt, c, load, capacity, from);
    if (to == none || !(rtt(c, to) < rtt(c, from)))
      continue;
    --load[from];
    ++load[to];
    edge_of[c] = to;
    moved.push_back(c);
  }
  return moved;
}

latency_model latency_model::seeded(uint32_t clients, uint32_t edges, double base_min_ms, double base_max_ms,
                                    double jitter_ms, uint64_t seed) {
  if (!(base_min_ms >= 0.0 && base_min_ms <= base_max_ms && std::isfinite(base_max_ms)))
    throw error(errc::invalid_argument, "latency model: need 0 <= base_min_ms <= base_max_ms, finite");
  if (!(jitter_ms >= 0.0 && std::isfinite(jitter_ms)))
    throw error(errc::invalid_argument, "latency model: jitter_ms must be finite and >= 0");
  latency_model m;
  m.base.clients = clients;
  m.base.edges = edges;
  m.base.ms.resize(static_cast<std::size_t>(clients) * edges);
  m.jitter_ms = jitter_ms;
  m.seed = seed;
  std::mt19937_64 rng(data::detail::mix_seed(seed, 0)); // stream 0: the base RTTs, row-major
  for (auto& v : m.base.ms)
    v = base_min_ms + (base_max_ms - base_min_ms) * (1.0 - data::detail::uniform_open0(rng));
  return m;
}

double latency_model::sample(uint32_t c, uint32_t e, uint64_t n) const {
  if (c >= base.clients || e >= base.edges)
    throw error(errc::invalid_argument, "latency model: link (" + std::to_string(c) + ", " + std::to_string(e)
                                          + ") outside " + std::to_string(base.clients) + " clients x "
                                          + std::to_string(base.edges) + " edges");
  // Hashed, not drawn from a running engine: the n-th measurement of a link is the same whoever asks first.
  const uint64_t link = static_cast<uint64_t>(c) * base.edges + e;
  const uint64_t bits = data::detail::mix_seed(data::detail::mix_seed(seed, 1 + link), n);
  return base(c, e) + jitter_ms * (1.0 - unit_from_bits(bits));
}

} // namespace elsa::cluster
