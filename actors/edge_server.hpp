// The edge-server role: runs the body of the model for each of its clients (requests from different clients
// interleave), collects their adapter updates within the round deadline, aggregates them per cluster
// (weights: data size x trust, stale updates decayed), pushes the result down or, on cloud rounds, up to
// the cloud, and relays the cloud's global adapters to its clients; asked by the coordinator, it measures its
// RTT to every client by heartbeat. Maths lives in core/fed.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/transmit.hpp"
#include "actors/interfaces.hpp"
#include "actors/peers.hpp"
#include "core/fed/adapters.hpp"
#include "core/fed/aggregation.hpp"
#include "core/fed/async_buffer.hpp"
#include "core/run/events.hpp"

namespace elsa::fed {
class edge_body;
}

namespace elsa::actors {


struct edge_state {
  static inline const char* name = "elsa.edge";

  context_ptr ctx;
  std::shared_ptr<fed::edge_body> body;
  uint32_t id = 0;
  peer_book peers;  // the coordinator (from the wiring), then the cloud and the clients (its peer table)
  std::vector<early_message> early;  // what came from peers not yet known, before the peer table
  delivery net;  // the network: messages per receiver, unacknowledged and taken ones (actors/transmit.hpp)

  // -- placement --
  std::map<uint32_t, messages::assignment> clients;  // my clients
  std::map<uint32_t, messages::split_point> splits;
  std::set<uint32_t> monitored;
  std::set<uint32_t> down;
  std::set<uint32_t> silent_down;  // down because of missed deadlines, not because the actor exited
  std::map<uint32_t, int64_t> missed;  // consecutive rounds without an update
  std::map<uint32_t, double> trust;
  std::set<uint32_t> excluded;
  std::map<uint32_t, uint64_t> registered_samples;  // what each client registered (from the peer table)
  // client -> round -> its body adapters as the slot held them when its last step of that round ended: what
  // its head/tail update of the round is merged with, however late it arrives (the last [faults] max_staleness + 1 rounds under the staleness policy, else one).
  std::map<uint32_t, std::map<uint32_t, fed::adapter_set>> body_at_round_end;

  // -- adapters per cluster: the latest global (from the cloud) or edge aggregate --
  std::map<uint32_t, fed::adapter_set> cluster_adapters;
  // [compress] adapters = "sketch": per cluster, the cloud's adapters this edge's cloud upload is the update
  // of, and what its edge-round decodes left (sent up in the cloud round; under top_k also error feedback).
  std::map<uint32_t, fed::adapter_set> global_adapters;
  std::map<uint32_t, std::vector<float>> sketch_error;
  std::vector<uint32_t> unfinished;  // the last closed round's live clients that never reported (stragglers)
  std::map<uint32_t, uint64_t> period_samples;  // cluster -> samples behind this period's latest aggregate
                                                // (client sampling: uploaded when the last round had none)
  std::map<uint32_t, uint32_t> global_round;  // round field of the last global update per cluster
  // Client sampling ([topology] clients_per_round / clients_fraction): new adapters reach a client (its
  // message) and its body slot only when it is drawn, at its round's opening, not every client every round.
  // Per cluster, the newest version (a count) and its message; per client, the version it and its slot hold
  // (with the cluster it was then in).
  struct lazy_adapters {
    struct message_for_clients {
      messages::payload bytes;  // encoded
      int64_t extra = 0;        // its dense_f32_extra
      uint64_t version = 0;     // of the adapters it holds
    };
    std::map<uint32_t, uint64_t> version;  // of st.cluster_adapters[k], which slots are loaded from
    std::map<uint32_t, message_for_clients> message;
    std::map<uint32_t, std::pair<uint32_t, uint64_t>> client_has, slot_has;
  } lazy;

  // -- the round in progress --
  std::optional<messages::open_round> current;
  bool open = false;
  // Behaviour clustering: a fingerprint round closes once the coordinator's re-clustering of it is in (or at
  // its deadline), so its aggregation follows the new clusters.
  int64_t reclustered_round = -1;
  std::vector<messages::open_round> stashed;  // openings waiting for global adapters
  std::set<uint32_t> expected;
  std::map<uint32_t, fed::client_update> updates;  // whole adapter sets: head/tail + body snapshot
  std::vector<fed::client_update> stale;  // late updates kept for the next aggregation (staleness policy)
  std::vector<uint32_t> late_arrivals;
  // [profiles] enforce_deadline: per client, this round's completed steps (by step number) and their padded
  // positions as served here (its share of the edge's simulated body work; forgotten when it leaves), and
  // the simulated seconds its upload carried.
  struct served_steps {
    std::set<uint32_t> steps;
    int64_t positions = 0;
  };
  std::map<uint32_t, served_steps> served;
  std::map<uint32_t, double> upload_sim_s;
  // [topology] mode = "async": the uploads waiting for a flush on the simulated clock (their clients get no
  // opening until theirs is aggregated), and the adapters each round started from (core/fed/async_buffer).
  fed::async_buffer buffered;
  run::kind_bytes sent_down;   // this round's bytes to its clients, by kind
  run::kind_bytes sent_cloud;  // ... and to the cloud
  int64_t bytes_control = 0;
  int64_t captured = 0;  // [privacy] capture: training activation batches written to RUN/capture/

  // -- step admission ([topology] max_concurrent_steps) --
  std::set<uint32_t> admitted;  // clients whose step may hold a graph now
  std::size_t peak_admitted = 0;  // most admitted at once this round (the record's `peak_admitted`)
  std::deque<std::pair<uint32_t, caf::typed_response_promise<bool>>> admission_queue;
  // -- heartbeats: the coordinator asks (a ping), the edge pings every client and replies with the RTTs --
  messages::heartbeat asked;    // the coordinator's ping being answered (its seq and sent_ns)
  bool measuring = false;
  std::set<uint32_t> ping_pending;         // clients that have not answered yet
  std::vector<messages::link_rtt> links;   // this measurement's answers
};

using edge_pointer = edge_actor::stateful_pointer<edge_state>;

/// Behaviour of edge `id`, running bodies with `body`. It registers with `coordinator` at once and learns the
/// cloud and its clients from the coordinator's peer table.
edge_actor::behavior_type edge_server(edge_pointer self, context_ptr ctx, std::shared_ptr<fed::edge_body> body,
                                      uint32_t id, coordinator_actor coordinator);

} // namespace elsa::actors
