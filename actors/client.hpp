// The client role: registers with the coordinator (its sample count and cluster), runs its local steps of U-shaped split training with its edge (head forward -> edge body
// -> tail forward, loss, backward -> edge body backward -> head backward), then sends its head/tail adapters
// to the edge. Maths lives in core/fed/split_client; this is protocol state only.
#pragma once

#include <functional>
#include <optional>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/transmit.hpp"
#include "actors/interfaces.hpp"
#include "actors/peers.hpp"
#include "core/run/events.hpp"

namespace elsa::fed {
class split_client;
}

namespace elsa::actors {

struct client_state {
  static inline const char* name = "elsa.client";

  context_ptr ctx;
  std::shared_ptr<fed::split_client> core;
  uint32_t id = 0;
  uint32_t edge = 0;
  uint32_t cluster = 0;
  peer_book peers;  // the coordinator (from the wiring), then the edges (from the coordinator's peer table)
  std::vector<early_message> early;  // what came from peers not yet known, before the peer table
  delivery net;  // the network: messages per receiver, unacknowledged and taken ones (actors/transmit.hpp)
  std::vector<messages::named_tensor> received;  // the cluster's adapters as the edge last sent them

  uint32_t resumed_at = 0;  // a resumed run: the edge round it resumes at (its initial placement says; 0: fresh)

  // -- the round in progress --
  uint32_t round = 0;
  /// The edge and round tag of the newest adapters taken: older ones from that edge (a resend that came late)
  /// are refused, not loaded over newer ones.
  std::optional<std::pair<uint32_t, uint32_t>> adapters_from;
  std::optional<std::pair<uint32_t, uint32_t>> opened;  // (round, edge) of the last opening it took
  bool in_round = false;
  uint32_t steps_target = 0;
  uint32_t steps_done = 0;
  uint32_t local_chain = 0; // whole_model: counts round openings; a queued local step of an earlier one is dropped
  uint32_t requests = 0;   // step requests sent (all rounds): names the one a lost-request timer is for
  uint32_t attempt = 0;    // of the step request in flight: 0 the first send, then each resend
  std::function<void()> resend;  // sends the step request in flight again ([faults] retry_ms)
  double loss_sum = 0;
  int64_t tokens = 0;
  run::kind_bytes up;  // this round's bytes to its edge (and fingerprints), by kind
  int64_t bytes_down = 0;  // this round's step replies from its edge, encoded
  int64_t messages = 0;    // this round's messages to and from its edge (the opening included)
  int64_t positions = 0;   // padded token positions its steps computed on
  int64_t max_seq_len = 0; // its longest padded batch this round
  bool fingerprint = false;  // this round ends with a fingerprint (after the steps, before the upload)
  caf::actor_clock::time_point round_started;  // simulated under the deterministic scheduler

  // -- injected faults --
  bool silent = false;  // a silent dropout ignores everything
};

using client_pointer = client_actor::stateful_pointer<client_state>;

/// Behaviour of client `id`, training with `core` on data of cluster (task) `cluster`. It registers with
/// `coordinator` at once and learns its edges from the coordinator's peer table.
client_actor::behavior_type client(client_pointer self, context_ptr ctx, std::shared_ptr<fed::split_client> core,
                                   uint32_t id, uint32_t cluster, coordinator_actor coordinator);

} // namespace elsa::actors
