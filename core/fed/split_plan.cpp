// Split points per client: fixed or planned (see split_plan.hpp).
#include "core/fed/split_plan.hpp"

#include <map>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/sim/planner.hpp"

namespace elsa::fed {

int64_t wire_bytes_per_value(const run::run_config& cfg) {
  return cfg.activations == "fp32" ? 4 : 2;
}

std::vector<messages::split_point> plan_splits(const run::run_config& cfg, const sim::model_shape& shape,
                                               const std::vector<messages::assignment>& placement, int64_t round) {
  std::vector<messages::split_point> out;
  for (const auto& a : placement)
    out.push_back({a.client_id, static_cast<uint32_t>(cfg.head_blocks), static_cast<uint32_t>(cfg.client_tail_blocks())});
  if (!cfg.dynamic_split())
    return out;
  std::map<uint32_t, std::vector<std::size_t>> by_edge;  // edge -> indices into placement
  for (std::size_t i = 0; i < placement.size(); ++i)
    by_edge[placement[i].edge_id].push_back(i);
  const sim::step_shape step{cfg.batch_size, cfg.max_len};
  for (const auto& [edge, members] : by_edge) {
    std::vector<sim::device_profile> devices;
    for (auto i : members) {
      devices.push_back(cfg.client_device(placement[i].client_id, round));
      devices.back().name = fmt::format("client {} ({})", placement[i].client_id, devices.back().name);
    }
    const auto plan = sim::plan_edge(shape, step, wire_bytes_per_value(cfg), devices, cfg.edge_flops(edge),
                                     cfg.min_head_blocks);
    for (std::size_t j = 0; j < members.size(); ++j) {
      out[members[j]].head_blocks = static_cast<uint32_t>(plan[j].a);
      out[members[j]].tail_blocks = static_cast<uint32_t>(plan[j].b);
    }
  }
  return out;
}

void check_devices(const run::run_config& cfg, const sim::model_shape& shape) {
  if (!cfg.dynamic_split())
    return;
  if (sim::feasible_splits(shape.n_layer, cfg.min_head_blocks).empty())
    throw error(errc::invalid_argument,
                fmt::format("[split] min_head_blocks = {} leaves no split of the {}-block model (need a >= {}, b >= 1 "
                            "and a + b < {})",
                            cfg.min_head_blocks, shape.n_layer, cfg.min_head_blocks, shape.n_layer));
  // One client per edge is enough to see whether a class fits: memory does not depend on the others.
  std::vector<int64_t> rounds = {0};
  for (auto r : cfg.change_rounds)
    rounds.push_back(r);
  for (auto r : rounds) {
    std::vector<messages::assignment> alone;
    for (int64_t c = 0; c < cfg.clients; ++c)
      alone.push_back({static_cast<uint32_t>(c), static_cast<uint32_t>(c), 0});
    // Each client on an "edge" of its own (edge 0's compute): a memory error names the client and its class.
    run::run_config one = cfg;
    one.edge_gflops = {cfg.edge_gflops.front()};
    plan_splits(one, shape, alone, r);
  }
}

} // namespace elsa::fed
