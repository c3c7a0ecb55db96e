// Whom a role talks to and who really sent a message. Each role keeps its own peer_book: the coordinator
// (and, for the coordinator, the cloud) from the wiring, everyone else from the coordinator's peer table once
// registration is complete; the coordinator fills its book from registrations. check_sender looks the CAF
// address a message came from up in that book and compares it with the participant the envelope claims, so a
// forged envelope (a client claiming to be the cloud, an anonymous sender) is refused and recorded the same
// way by every role. Header-only; no protocol logic.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <fmt/format.h>

#include "actors/interfaces.hpp"
#include "actors/reporting.hpp"

namespace elsa::actors {

/// One role's view of the run's participants.
struct peer_book {
  coordinator_actor coordinator;
  cloud_actor cloud;
  std::map<uint32_t, client_actor> clients;
  std::map<uint32_t, edge_actor> edges;
  /// What each client registered (samples, cluster): the coordinator's record of registrations.
  std::map<uint32_t, messages::peer_entry> registered;
  /// Participant by actor address.
  std::map<caf::actor_addr, messages::participant> index;
  /// True once the coordinator's peer table arrived (the coordinator: once registration is complete).
  bool complete = false;

  /// Adds (or replaces) participant `p`, reachable at `handle`.
  void add(const messages::participant& p, const caf::actor& handle) {
    using messages::tier;
    index[caf::actor_cast<caf::actor_addr>(handle)] = p;
    switch (p.role) {
      case tier::client:
        clients[p.id] = caf::actor_cast<client_actor>(handle);
        break;
      case tier::edge:
        edges[p.id] = caf::actor_cast<edge_actor>(handle);
        break;
      case tier::coordinator:
        coordinator = caf::actor_cast<coordinator_actor>(handle);
        break;
      case tier::cloud:
        cloud = caf::actor_cast<cloud_actor>(handle);
        break;
    }
  }

  /// The participant at `addr`, if it is one.
  std::optional<messages::participant> who(const caf::actor_addr& addr) const {
    auto it = index.find(addr);
    if (it == index.end())
      return std::nullopt;
    return it->second;
  }
};

/// A message that came, from an actor the book does not know yet, before the role's peer table: across
/// processes the coordinator's table and the cloud's first adapters (or an edge's first opening) travel on
/// different connections, so the second can overtake the first. It is dispatched again, sender and all, once
/// the table arrived (replay_early); a sender the table does not name is refused then.
struct early_message {
  caf::strong_actor_ptr sender;
  payload bytes;
};

/// The participant whose actor sent the message being handled, or nullopt (anonymous, or no participant).
template <class Self>
std::optional<messages::participant> actual_sender(Self* self, const peer_book& peers) {
  const auto& src = self->current_sender();
  if (!src)
    return std::nullopt;
  return peers.who(caf::actor_cast<caf::actor_addr>(src));
}

inline std::string describe(const std::optional<messages::participant>& p) {
  if (!p)
    return "an actor outside the run";
  return fmt::format("{} {}", messages::to_string(p->role), p->id);
}

/// True when the message being handled came from `claimed` itself; otherwise records `refused/forged_sender`
/// and returns false. Nothing is relayed under another's envelope: an edge that passes the cloud's adapters
/// on signs them itself.
template <class Self>
bool check_sender(Self* self, const run_context& ctx, const peer_book& peers, const std::string& who,
                  uint32_t round, const char* kind, const messages::participant& claimed) {
  const auto actual = actual_sender(self, peers);
  if (actual && *actual == claimed)
    return true;
  record_error(self, ctx, who, round, run::run_error::refused, "forged_sender",
               fmt::format("a {} message whose envelope says {} {} came from {}; ignored", kind,
                           messages::to_string(claimed.role), claimed.id, describe(actual)));
  return false;
}

/// Sends `reg` from `me` to `to` (the coordinator, or for the coordinator the cloud): how a role announces
/// itself. Returns the bytes sent; 0, with an `internal` error recorded, when it cannot be encoded.
template <class Self, class Handle>
int64_t register_with(Self* self, const run_context& ctx, const std::string& who, const messages::participant& me,
                      const Handle& to, const messages::registration& reg) {
  auto bytes = ctx.codec.encode(me, reg);
  if (!bytes) {
    record_error(self, ctx, who, 0, run::run_error::internal, bytes.error().message);
    return 0;
  }
  const auto size = static_cast<int64_t>(bytes->size());
  self->send(to, messages::deliver_atom::value, std::move(*bytes));
  return size;
}

/// True when the message being handled is the role's own timer; otherwise records `refused/forged_sender`.
template <class Self>
bool check_own_timer(Self* self, const run_context& ctx, const peer_book& peers, const std::string& who,
                     uint32_t round, const char* atom) {
  if (self->current_sender() == self->ctrl())
    return true;
  record_error(self, ctx, who, round, run::run_error::refused, "forged_sender",
               fmt::format("a {} timer sent by {}, not by this actor; ignored", atom,
                           describe(actual_sender(self, peers))));
  return false;
}

} // namespace elsa::actors
