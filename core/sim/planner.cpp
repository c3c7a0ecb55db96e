// The split planner (see planner.hpp): per-client step costs from the cost model, and the exact joint plan
// of one edge's splits by enumerating the slowest client's time.
#include "core/sim/planner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::sim {

namespace {

[[noreturn]] void bad(const std::string& what) {
  throw error(errc::invalid_argument, what);
}

void check_device(const device_profile& d) {
  auto positive = [&d](const char* key, double v) {
    if (!(v > 0) || !std::isfinite(v))
      bad(fmt::format("device '{}': {} = {} is out of range; need a finite value > 0", d.name, key, v));
  };
  positive("flops_per_s", d.flops_per_s);
  positive("up_bytes_per_s", d.up_bytes_per_s);
  positive("down_bytes_per_s", d.down_bytes_per_s);
  if (!(d.latency_s >= 0) || !std::isfinite(d.latency_s))
    bad(fmt::format("device '{}': latency_s = {} is out of range; need a finite value >= 0", d.name,
                    d.latency_s));
}

void check_edge(double edge_flops_per_s) {
  if (!(edge_flops_per_s > 0) || !std::isfinite(edge_flops_per_s))
    bad(fmt::format("split planner: edge_flops_per_s = {} is out of range; need a finite value > 0",
                    edge_flops_per_s));
}

// The cost of a step whose FLOPs are known (training_step_flops does not depend on the device).
step_cost cost_from(const step_flops& f, double bytes, const device_profile& client,
                    double edge_flops_per_s) {
  step_cost c;
  c.client_s = f.client / client.flops_per_s;
  c.comm_s = 2 * (bytes / client.up_bytes_per_s + client.latency_s)
             + 2 * (bytes / client.down_bytes_per_s + client.latency_s);
  c.edge_s = f.edge / edge_flops_per_s;
  return c;
}

double own(const step_cost& c) {
  return c.client_s + c.comm_s;
}

// The edge's synchronous step: the slowest client's own time plus the edge's work for all of them, summed in
// input order (so plan_edge and edge_step_seconds agree to the last bit).
double objective(const std::vector<step_cost>& costs) {
  double slowest = 0, edge = 0;
  for (const auto& c : costs) {
    slowest = std::max(slowest, own(c));
    edge += c.edge_s;
  }
  return slowest + edge;
}

} // namespace

step_cost cost_of(const model_shape& m, const step_shape& step, int64_t wire_bytes_per_value,
                  const device_profile& client, double edge_flops_per_s, split s) {
  check_device(client);
  check_edge(edge_flops_per_s);
  return cost_from(training_step_flops(m, step, s),
                   static_cast<double>(activation_bytes(m, step, wire_bytes_per_value)), client,
                   edge_flops_per_s);
}

std::vector<split> feasible_splits(int64_t n_layer, int64_t a_min) {
  std::vector<split> out;
  for (int64_t a = std::max<int64_t>(1, a_min); a + 1 < n_layer; ++a)
    for (int64_t b = 1; a + b < n_layer; ++b)
      out.push_back({a, b});
  return out;
}

std::vector<split> plan_edge(const model_shape& m, const step_shape& step, int64_t wire_bytes_per_value,
                             const std::vector<device_profile>& clients, double edge_flops_per_s,
                             int64_t a_min) {
  check_edge(edge_flops_per_s);
  const auto splits = feasible_splits(m.n_layer, a_min);
  if (splits.empty())
    bad(fmt::format("split planner: a {}-block model has no split with a >= {}, b >= 1 and a + b < {}",
                    m.n_layer, std::max<int64_t>(1, a_min), m.n_layer));
  // FLOPs and memory depend on the split only; the device scales them.
  std::vector<step_flops> flops;
  std::vector<int64_t> memory;
  for (auto s : splits) {
    flops.push_back(training_step_flops(m, step, s));
    memory.push_back(client_memory_bytes(m, step, s));
  }
  const double bytes = static_cast<double>(activation_bytes(m, step, wire_bytes_per_value));

  struct option {
    split s;
    step_cost cost;
  };
  std::vector<std::vector<option>> options(clients.size()); // the splits that fit each client's memory
  std::vector<double> thresholds;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    check_device(clients[i]);
    for (std::size_t j = 0; j < splits.size(); ++j)
      if (static_cast<double>(memory[j]) <= clients[i].memory_bytes) {
        options[i].push_back({splits[j], cost_from(flops[j], bytes, clients[i], edge_flops_per_s)});
        thresholds.push_back(own(options[i].back().cost));
      }
    if (options[i].empty()) {
      const auto j
        = static_cast<std::size_t>(std::min_element(memory.begin(), memory.end()) - memory.begin());
      // The device's name when it has one (the caller's words, e.g. "client 3 (phone)"), else its index.
      const auto who = clients[i].name.empty() ? fmt::format("client {}", i) : clients[i].name;
      bad(fmt::format("split planner: {} has {:.0f} bytes of memory and no split fits it: the least a split "
                      "needs is {} bytes (a = {}, b = {})",
                      who, clients[i].memory_bytes, memory[j], splits[j].a, splits[j].b));
    }
  }
  std::sort(thresholds.begin(), thresholds.end());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());

  std::vector<split> best;
  double best_value = std::numeric_limits<double>::infinity();
  std::vector<split> plan(clients.size());
  std::vector<step_cost> costs(clients.size());
  for (double t : thresholds) {
    bool complete = true;
    for (std::size_t i = 0; i < clients.size() && complete; ++i) {
      const option* pick = nullptr;
      auto key = [](const option& o) { return std::make_tuple(o.cost.edge_s, own(o.cost), o.s.a, o.s.b); };
      for (const auto& o : options[i])
        if (own(o.cost) <= t && (pick == nullptr || key(o) < key(*pick)))
          pick = &o;
      if (pick == nullptr) {
        complete = false;
      } else {
        plan[i] = pick->s;
        costs[i] = pick->cost;
      }
    }
    if (!complete)
      continue;
    const double value = objective(costs);
    if (value < best_value) {
      best_value = value;
      best = plan;
    }
  }
  return best;
}

double edge_step_seconds(const model_shape& m, const step_shape& step, int64_t wire_bytes_per_value,
                         const std::vector<device_profile>& clients, double edge_flops_per_s,
                         const std::vector<split>& splits) {
  if (splits.size() != clients.size())
    bad(fmt::format("split planner: {} splits for {} clients", splits.size(), clients.size()));
  check_edge(edge_flops_per_s);
  const double bytes = static_cast<double>(activation_bytes(m, step, wire_bytes_per_value));
  std::vector<step_cost> costs;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    check_device(clients[i]);
    costs.push_back(cost_from(training_step_flops(m, step, splits[i]), bytes, clients[i], edge_flops_per_s));
  }
  return objective(costs);
}

} // namespace elsa::sim
