// The typed interfaces of ELSA's four roles and of the run recorder, and the run context every actor shares:
// the run config, the codec (limits narrowed to the topology) and the directory of peers. One header because
// the interfaces name each other. Actors exchange only encoded payloads (messages/) plus atoms; no torch here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/replies_to.hpp>

#include "core/run/run_config.hpp"
#include "messages/codec.hpp"
#include "messages/type_ids.hpp"

namespace elsa::actors {

using messages::payload;

/// A client: head + tail of the model and private data. Receives round openings and adapters from its edge
/// and assignment updates from the coordinator; talks to its edge by request (forward / backward).
using client_actor = caf::typed_actor<
  caf::reacts_to<messages::open_round_atom, payload>,  // open_round, forwarded by its edge
  caf::reacts_to<messages::adapter_atom, payload>,     // adapter_update: new adapters for its cluster
  caf::reacts_to<messages::assign_atom, payload>,      // assignment_update from the coordinator
  caf::reacts_to<messages::deliver_atom, payload>>;    // any of the above, kind read from the envelope

/// An edge server: the body for each of its clients, per-cluster aggregation, relay between cloud and clients.
using edge_actor = caf::typed_actor<
  caf::replies_to<messages::forward_atom, payload>::with<payload>,  // head activation -> body output
  caf::replies_to<messages::backward_atom, payload>::with<payload>, // tail gradient -> head gradient
  caf::replies_to<messages::admit_atom, uint32_t>::with<bool>,      // may client c run a step now?
  caf::reacts_to<messages::open_round_atom, payload>,  // open_round from the coordinator
  caf::reacts_to<messages::adapter_atom, payload>,     // client updates, and global adapters from the cloud
  caf::reacts_to<messages::assign_atom, payload>,      // assignment_update from the coordinator
  caf::reacts_to<messages::trust_atom, payload>,       // trust_update from the coordinator
  caf::reacts_to<messages::deliver_atom, payload>,
  caf::reacts_to<messages::deadline_atom, uint32_t>>;  // own timer: round r's deadline

/// The cluster coordinator: placement, split points, trust; paces the edge rounds of a cloud round.
using coordinator_actor = caf::typed_actor<
  caf::reacts_to<messages::open_round_atom, payload>,  // the cloud opens a cloud round
  caf::reacts_to<messages::close_round_atom, payload>, // an edge closed its round
  caf::reacts_to<messages::deliver_atom, payload>,
  caf::reacts_to<messages::deadline_atom, uint32_t>>;

/// The cloud aggregator: global round clock, aggregation of adapters across edges, evaluation (checkpoints:
/// not yet, see docs/runtime.md).
/// It receives adapter updates and nothing else of the protocol.
using cloud_actor = caf::typed_actor<
  caf::reacts_to<messages::start_atom>,                // the run begins
  caf::reacts_to<messages::adapter_atom, payload>,     // per-cluster adapters from an edge
  caf::reacts_to<messages::deliver_atom, payload>,
  caf::reacts_to<messages::deadline_atom, uint32_t>>;

/// Collects events (JSON text) into the run record; answers `done` once the run finished.
using recorder_actor = caf::typed_actor<
  caf::reacts_to<messages::record_atom, std::string>,
  caf::replies_to<messages::done_atom>::with<bool>>;

/// Who is who, filled by the runtime after spawning and before the run starts; read-only afterwards.
struct directory {
  std::vector<client_actor> clients;
  std::vector<edge_actor> edges;
  coordinator_actor coordinator;
  cloud_actor cloud;
  recorder_actor recorder;
  /// Participant by actor address: how a role tells who really sent a message (actors/peers.hpp).
  std::map<caf::actor_addr, messages::participant> index;

  /// Fills `index` from the handles above.
  void index_peers() {
    index.clear();
    for (uint32_t c = 0; c < clients.size(); ++c)
      index[caf::actor_cast<caf::actor_addr>(clients[c])] = {messages::tier::client, c};
    for (uint32_t e = 0; e < edges.size(); ++e)
      index[caf::actor_cast<caf::actor_addr>(edges[e])] = {messages::tier::edge, e};
    index[caf::actor_cast<caf::actor_addr>(coordinator)] = {messages::tier::coordinator, 0};
    index[caf::actor_cast<caf::actor_addr>(cloud)] = {messages::tier::cloud, 0};
  }
};

/// Shared, read-only state of a run.
struct run_context {
  run::run_config cfg;
  messages::codec codec;
  directory peers;
  uint32_t clusters = 1;              // clusters (= tasks, until behaviour-aware clustering)
  std::vector<std::string> task_names; // by cluster id

  run_context(run::run_config c, messages::codec_limits limits) : cfg(std::move(c)), codec(limits) {
    // nop
  }
};

using context_ptr = std::shared_ptr<const run_context>;

} // namespace elsa::actors
