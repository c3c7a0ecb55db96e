// The one CAF type-id and atom block of the project (CAF 0.17.6), and the function that announces every
// message type on an actor_system_config. Add new actor message types and atoms HERE, nowhere else.
// Actors exchange only `payload` (encoded Cap'n Proto bytes) plus atoms that name the conversation.
#pragma once

#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/type_id.hpp>

#include "core/errors.hpp"
#include "messages/codec.hpp"
#include "messages/node_info.hpp"
#include "messages/payload.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(elsa, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(elsa, (elsa::messages::payload))
  CAF_ADD_TYPE_ID(elsa, (elsa::messages::node_info))
  CAF_ADD_TYPE_ID(elsa, (std::vector<elsa::messages::node_info>))

  // -- round control (atoms are at most 10 characters) --
  CAF_ADD_ATOM(elsa, elsa::messages, open_round_atom, "open_round")
  CAF_ADD_ATOM(elsa, elsa::messages, close_round_atom, "close_rnd")
  CAF_ADD_ATOM(elsa, elsa::messages, round_ack_atom, "round_ack")

  // -- split forward / backward --
  CAF_ADD_ATOM(elsa, elsa::messages, forward_atom, "forward")
  CAF_ADD_ATOM(elsa, elsa::messages, backward_atom, "backward")
  CAF_ADD_ATOM(elsa, elsa::messages, admit_atom, "admit")  // a client asks its edge to admit its next step

  // -- adapters, fingerprints, coordination --
  CAF_ADD_ATOM(elsa, elsa::messages, adapter_atom, "adapter")
  CAF_ADD_ATOM(elsa, elsa::messages, fingerprint_atom, "fingerprnt")
  CAF_ADD_ATOM(elsa, elsa::messages, trust_atom, "trust")
  CAF_ADD_ATOM(elsa, elsa::messages, assign_atom, "assign")

  // -- liveness, errors, timers --
  CAF_ADD_ATOM(elsa, elsa::messages, heartbeat_atom, "heartbeat")
  CAF_ADD_ATOM(elsa, elsa::messages, error_report_atom, "err_report")
  CAF_ADD_ATOM(elsa, elsa::messages, deadline_atom, "deadline")

  // -- any conversation: the payload's envelope says which kind it is --
  CAF_ADD_ATOM(elsa, elsa::messages, deliver_atom, "deliver")
  // reliable delivery (core/run/delivery.hpp): a receiver's acknowledgement of a message id, and the sender's
  // own timer to send an unacknowledged one again
  CAF_ADD_ATOM(elsa, elsa::messages, ack_atom, "ack")
  CAF_ADD_ATOM(elsa, elsa::messages, resend_atom, "resend")

  // -- run control and the run record (not ELSA wire messages) --
  CAF_ADD_ATOM(elsa, elsa::messages, start_atom, "start")
  CAF_ADD_ATOM(elsa, elsa::messages, record_atom, "record")
  CAF_ADD_ATOM(elsa, elsa::messages, done_atom, "done")
  CAF_ADD_ATOM(elsa, elsa::messages, save_atom, "save")  // a stopped run asks the cloud to save what it has
  // the coordinator's checkpoint (core/run/checkpoint.hpp) to the cloud, which persists it; the cloud's answer to
  // the coordinator's registration: the checkpoint a resumed run starts from (empty: a fresh run)
  CAF_ADD_ATOM(elsa, elsa::messages, checkpoint_atom, "checkpoint")
  // the cloud's scorer is done with a cloud round's validation (actors/cloud_aggregator.cpp)
  CAF_ADD_ATOM(elsa, elsa::messages, validated_atom, "validated")

  // -- processes (elsa node): joining the rendezvous, the coordinator's address, the two-phase stop --
  CAF_ADD_ATOM(elsa, elsa::messages, join_atom, "join")
  CAF_ADD_ATOM(elsa, elsa::messages, announce_atom, "announce")
  CAF_ADD_ATOM(elsa, elsa::messages, ready_atom, "ready")
  CAF_ADD_ATOM(elsa, elsa::messages, quiesce_atom, "quiesce")
  CAF_ADD_ATOM(elsa, elsa::messages, stop_atom, "stop")

CAF_END_TYPE_ID_BLOCK(elsa)

namespace elsa::messages {

/// The category of caf::error values that carry an elsa::errc (code) and a message (context).
inline constexpr caf::atom_value error_category = caf::atom("elsa");

/// Announces every type of the block above and the "elsa" error category on `cfg`. Call once per
/// actor_system_config, before constructing the actor_system (main() and tests do this explicitly).
void register_message_types(caf::actor_system_config& cfg);

/// An elsa::errc with its explanation as a caf::error, for handlers that return caf::result<T>.
caf::error make_caf_error(errc code, std::string message);

/// A codec failure as a caf::error (code, plus rule and message in the context).
caf::error make_caf_error(const codec_error& err);

} // namespace elsa::messages
