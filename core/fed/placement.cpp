// Placement of clients on edges (see placement.hpp).
#include "core/fed/placement.hpp"

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

} // namespace elsa::fed
