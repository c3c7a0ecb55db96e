// The cluster-coordinator role: takes the registrations of every client and edge, places clients on edges
// (and in clusters) once all have registered, and tells each participant whom it talks to (peer tables: the
// cloud gets the edges, each edge the cloud and the clients with what they registered, each client the
// edges). It keeps split points and trust scores and paces the kappa2 edge rounds of each cloud round: it
// opens edge round r on every live edge (each edge gets its own clients' placement), waits for their closes
// (or a deadline) and opens the next. When an edge dies its clients are reassigned to the live edges.
// Under [elsa] clustering = "behaviour" the clients send fingerprints at the end of every recluster_every-th
// cloud round; once every client on a live edge has sent one (or, failing that, when the round closes) the
// coordinator re-clusters them and updates their trust (core/fed/behaviour) and tells the edges (trust,
// placement; they wait for it before closing the round) and the cloud (placement) before the next cloud
// round begins. Before each cloud round it asks every live edge (a heartbeat ping) to measure its RTT to every
// client and waits for their replies (or [elsa] heartbeat_timeout_ms): the first measurement places the
// clients ([elsa] assignment: round_robin, or latency = least total RTT under edge capacity), later ones move
// clients over [elsa] rtt_deadline_ms to a nearer edge with room (core/fed/placement). Split planning arrives
// with its mechanism (docs/design.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/transmit.hpp"
#include "actors/interfaces.hpp"
#include "actors/peers.hpp"
#include "core/cluster/assignment.hpp"

namespace elsa::actors {

struct coordinator_state {
  static inline const char* name = "elsa.coordinator";

  context_ptr ctx;
  peer_book peers;  // the cloud (from the wiring), then every registered client and edge
  delivery net;  // the network: messages per receiver, unacknowledged and taken ones (actors/transmit.hpp)
  std::vector<messages::assignment> assignments;  // by client id, once registration is complete
  std::vector<messages::split_point> splits;      // by client id
  std::set<uint32_t> live_edges;
  int64_t bytes_registration = 0;  // registrations received and peer tables sent

  // -- behaviour clustering and trust (ELSA.md 3.1; the decisions are core/fed/behaviour's) --
  std::map<uint32_t, uint32_t> cluster_of;  // every client's cluster
  std::map<uint32_t, double> trust;         // tau_n; 1 until a client's first fingerprinting
  std::map<uint32_t, messages::fingerprint> fingerprints;       // of the fingerprint round in progress
  std::map<uint32_t, messages::fingerprint> last_fingerprints;  // each client's previous one (drift)
  int64_t reclustered_round = -1;  // the fingerprint round last clustered

  // -- latency-aware placement (ELSA.md 3.1; the decisions are core/fed/placement's) --
  cluster::latency_matrix rtt;       // clients x edges as the edges last measured them; NaN: never
  uint64_t heartbeat_seq = 0;        // the measurement in progress (or the last)
  std::set<uint32_t> measured;       // edges that replied to it
  std::optional<messages::open_round> held;  // the cloud's opening, until the measurement is in
  bool placed = false;               // the first measurement has placed the clients

  // -- checkpoints (core/run/checkpoint.hpp): the cloud persists them, and answers the registration --
  bool cloud_answered = false;  // the cloud said whether the run resumes; registration completes after that
  std::optional<run::coordinator_checkpoint> resume;  // a resumed run: where the checkpoint left clusters, trust,
                                                       // placement and split points

  // -- the cloud round in progress --
  uint32_t round = 0;       // current edge round
  std::optional<uint32_t> cloud_opened;  // the round of the last cloud opening taken
  uint32_t last_round = 0;  // its cloud round's last edge round
  bool running = false;
  std::set<uint32_t> closed;  // edges that closed `round`
  std::optional<std::set<uint32_t>> sampled;  // [topology] clients_per_round: who takes part in `round`
  int64_t bytes_control = 0;
};

using coordinator_pointer = coordinator_actor::stateful_pointer<coordinator_state>;

/// Behaviour of the coordinator of a run with cfg.clients clients and cfg.edges edges; it registers with
/// `cloud` at once.
coordinator_actor::behavior_type cluster_coordinator(coordinator_pointer self, context_ptr ctx, cloud_actor cloud);

} // namespace elsa::actors
