// The typed interfaces of ELSA's four roles and of the run recorder, and the run context a process shares
// with its roles: the run config, the codec (limits narrowed to the topology) and the recorder. One header
// because the interfaces name each other. Actors exchange only encoded payloads (messages/) plus atoms; no torch here.
#pragma once

#include <atomic>
#include <filesystem>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/replies_to.hpp>

#include "core/cluster/assignment.hpp"
#include "core/fed/placement.hpp"
#include "core/run/checkpoint.hpp"
#include "core/run/run_config.hpp"
#include "core/sim/cost_model.hpp"
#include "messages/codec.hpp"
#include "messages/type_ids.hpp"

namespace elsa::actors {

using messages::payload;

/// Every one-way protocol message reaches a role as (deliver, payload): the envelope says its kind, the role
/// decodes it once and hands it to one handler per kind (actors/dispatch.hpp). A peer table travels as
/// (deliver, payload, handles): the actor handles of the table's entries, in order. Requests that need a reply
/// (an edge's forward / backward / admit) and a role's own timers have their own atoms. Under network faults
/// with reliable delivery (core/run/delivery.hpp; actors/transmit.hpp) a message travels as (deliver,
/// payload, id, checksum) and is acknowledged with (ack, id); a step request carries its checksum too.
using handles = std::vector<caf::actor>;

/// What every role takes for reliable delivery: a message with its id and checksum, an acknowledgement, and
/// its own timer to send an unacknowledged message again.
#define ELSA_RELIABLE_DELIVERY                                                                  \
  caf::reacts_to<messages::deliver_atom, payload, uint64_t, uint64_t>,                          \
    caf::reacts_to<messages::ack_atom, uint64_t>, caf::reacts_to<messages::resend_atom, uint64_t>

/// Any role, seen as the other end of reliable delivery (every role's interface includes this one).
using delivery_endpoint = caf::typed_actor<ELSA_RELIABLE_DELIVERY>;

/// A client: head + tail of the model and private data. Registers with the coordinator; receives its peer
/// table, round openings and adapters (through its edge) and placements; asks its edge for body steps.
using client_actor = caf::typed_actor<
  caf::reacts_to<messages::deliver_atom, payload>,
  caf::reacts_to<messages::deliver_atom, payload, handles>,
  caf::reacts_to<messages::deadline_atom, uint32_t>,  // own timer: step n's request was lost ([faults] net_*)
  caf::reacts_to<messages::forward_atom, uint32_t>,   // own: the next local step of chain n ([split] whole_model)
  ELSA_RELIABLE_DELIVERY>;

/// An edge server: the body for each of its clients, per-cluster aggregation, relay between cloud and clients.
using edge_actor = caf::typed_actor<
  caf::replies_to<messages::forward_atom, payload>::with<payload>,  // head activation -> body output
  caf::replies_to<messages::backward_atom, payload>::with<payload>, // tail gradient -> head gradient
  caf::replies_to<messages::forward_atom, payload, uint64_t>::with<payload>,  // the same, with the request's
  caf::replies_to<messages::backward_atom, payload, uint64_t>::with<payload>, // checksum (reliable delivery)
  caf::replies_to<messages::admit_atom, uint32_t>::with<bool>,      // may client c run a step now?
  caf::reacts_to<messages::deliver_atom, payload>,
  caf::reacts_to<messages::deliver_atom, payload, handles>,
  caf::reacts_to<messages::deadline_atom, uint32_t>,  // own timer: round r's deadline
  ELSA_RELIABLE_DELIVERY>;

/// The cluster coordinator: registration, placement, split points, trust; paces the edge rounds of a cloud
/// round.
using coordinator_actor = caf::typed_actor<
  caf::reacts_to<messages::deliver_atom, payload>,
  caf::reacts_to<messages::checkpoint_atom, payload>,  // from its cloud: where a resumed run starts (empty: fresh)
  caf::reacts_to<messages::deadline_atom, uint32_t>,  // own timer
  ELSA_RELIABLE_DELIVERY>;

/// The cloud aggregator: global round clock, aggregation of adapters across edges, evaluation, checkpoints
/// (its own and the coordinator's, in its process's checkpoint folder).
using cloud_actor = caf::typed_actor<
  caf::reacts_to<messages::start_atom>,  // the run may begin (once its peer table is in)
  caf::reacts_to<messages::checkpoint_atom, payload>,  // from its coordinator: its checkpoint, to persist
  caf::replies_to<messages::save_atom>::with<uint32_t>,  // save the global adapters now: cloud rounds behind them
  caf::reacts_to<messages::deliver_atom, payload>,
  caf::reacts_to<messages::deliver_atom, payload, handles>,
  caf::reacts_to<messages::deadline_atom, uint32_t>,  // own timer
  caf::reacts_to<messages::validated_atom, uint32_t>,  // its scorer scored cloud round r's validation
  ELSA_RELIABLE_DELIVERY>;

/// Collects events (JSON text) into the run record; answers `done` once the run finished.
using recorder_actor = caf::typed_actor<
  caf::reacts_to<messages::record_atom, std::string>,
  caf::replies_to<messages::done_atom>::with<bool>>;

/// What a process shares with every role it runs: the run config, the codec (limits narrowed to the
/// topology) and the process's recorder. Peers are not in here: each role learns them by messages
/// (actors/peers.hpp).
struct run_context {
  run::run_config cfg;
  messages::codec codec;
  recorder_actor recorder;
  uint32_t clusters = 1;              // clusters (= tasks, until behaviour-aware clustering)
  std::vector<std::string> task_names; // by cluster id
  /// The model's shape, for the split planner ([split] mode = "dynamic") and the simulated clock.
  sim::model_shape shape{};
  /// The client-edge links' RTTs in this process ([elsa] latency_*): a client answers an edge's heartbeat
  /// after latency.sample(client, edge, seq) ms (core/fed/placement latency_model_of).
  cluster::latency_model latency;
  /// Set by the process when it stops its actors (the run finished or was stopped): a peer that goes down
  /// from then on is being shut down, not failing, and is not recorded as a fault.
  mutable std::atomic<bool> shutting_down{false};
  /// Where the cloud of this process writes its and the coordinator's checkpoints at every cloud round's end
  /// (core/run/checkpoint.hpp); empty: none are written.
  std::filesystem::path checkpoint_dir;
  /// A resumed run: the checkpoint the cloud starts from, and hands the coordinator its part of (null: a
  /// fresh run). Set in the cloud's process only.
  std::shared_ptr<const run::resume_point> resume;

  run_context(run::run_config c, messages::codec_limits limits)
      : cfg(std::move(c)), codec(limits), latency(fed::latency_model_of(cfg)) {
    // nop
  }
};

using context_ptr = std::shared_ptr<const run_context>;

/// What the one-process wiring spawned, for hooks and tests (actors/runtime.hpp). No role reads it: roles
/// learn their peers by registration (actors/peers.hpp).
struct directory {
  std::vector<client_actor> clients;
  std::vector<edge_actor> edges;
  coordinator_actor coordinator;
  cloud_actor cloud;
  recorder_actor recorder;
};

} // namespace elsa::actors
