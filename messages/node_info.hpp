// What a process tells the rendezvous when it joins a run across processes (elsa node; actors/node.hpp):
// the role and participant ids it runs, where it listens, and its node actor. Control plane only, no tensors:
// a CAF-inspected struct beside the Cap'n Proto payloads, in the one type-id block (type_ids.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

namespace elsa::messages {

struct node_info {
  std::string role;            // cloud, coordinator, edge or client
  std::vector<uint32_t> ids;   // the participants of that role this process runs
  std::string host;            // where the process listens for its peers ...
  uint16_t port = 0;           // ... (the port it was bound to)
  caf::actor node;             // its node actor: the rendezvous stops the process through it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("elsa.node_info"), x.role, x.ids, x.host, x.port, x.node);
}

/// "client 3", "edge 0 1", "cloud": how logs name a node.
inline std::string describe(const node_info& n) {
  std::string out = n.role;
  if (n.role == "edge" || n.role == "client")
    for (auto id : n.ids)
      out += " " + std::to_string(id);
  return out;
}

} // namespace elsa::messages
