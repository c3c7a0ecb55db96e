// Who really sent a message: the CAF address it came from, looked up in the run's directory, checked against
// the participant its envelope claims. Every role calls check_sender once per decoded message, so a forged
// envelope (a client claiming to be the cloud, an anonymous sender) is refused and recorded the same way
// everywhere. Header-only; no protocol logic.
#pragma once

#include <optional>
#include <string>

#include <caf/actor_cast.hpp>
#include <fmt/format.h>

#include "actors/interfaces.hpp"
#include "actors/reporting.hpp"

namespace elsa::actors {

/// The participant of the run whose actor sent the message being handled, or nullopt (anonymous sender,
/// or an actor that is no participant).
template <class Self>
std::optional<messages::participant> actual_sender(Self* self, const run_context& ctx) {
  const auto& src = self->current_sender();
  if (!src)
    return std::nullopt;
  auto it = ctx.peers.index.find(caf::actor_cast<caf::actor_addr>(src));
  if (it == ctx.peers.index.end())
    return std::nullopt;
  return it->second;
}

inline std::string describe(const std::optional<messages::participant>& p) {
  if (!p)
    return "an actor outside the run";
  return fmt::format("{} {}", messages::to_string(p->role), p->id);
}

/// How a role accepts relayed messages: only from the claimed sender itself, or also through an edge
/// (clients get the coordinator's round openings and the cloud's adapters through their edge).
enum class relay : uint8_t { none, by_edge };

/// True when the message being handled came from `claimed` (or, with relay::by_edge, from an edge passing
/// it on); otherwise records a `refused/forged_sender` error naming both and returns false.
template <class Self>
bool check_sender(Self* self, const run_context& ctx, const std::string& who, uint32_t round,
                  const char* kind, const messages::participant& claimed, relay rule = relay::none) {
  const auto actual = actual_sender(self, ctx);
  // An edge may pass on what the coordinator or the cloud said, never speak for another client or edge.
  const bool relayed = rule == relay::by_edge && actual && actual->role == messages::tier::edge
                       && (claimed.role == messages::tier::coordinator || claimed.role == messages::tier::cloud);
  if (actual && (*actual == claimed || relayed))
    return true;
  record_error(self, ctx, who, round, "refused/forged_sender",
               fmt::format("a {} message whose envelope says {} {} came from {}; ignored", kind,
                           messages::to_string(claimed.role), claimed.id, describe(actual)));
  return false;
}

} // namespace elsa::actors
