// One dispatch per role: a payload is decoded once, its sender checked against the role's peer book, and the
// body handed to the one handler the role has for its kind. Kinds a role does not take fall through to one
// refusal (`refused/wrong_kind`), recorded the same way by every role; so do undecodable bytes
// (`malformed_message/<rule>`) and forged senders (`refused/forged_sender`). Header-only; no protocol logic.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "actors/peers.hpp"
#include "actors/reporting.hpp"

namespace elsa::actors {

/// Handlers for std::visit, one lambda per kind: overloaded{[](const open_round&) {...}, ...}.
template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

/// What a handler knows about the message besides its body.
struct incoming {
  messages::participant sender;      // as the envelope says, and checked
  const payload& bytes;              // as received (to pass on unchanged)
  const handles* peer_handles;       // the actor handles sent with a peer table; null otherwise
};

/// At most this many messages, and this many bytes of them, are held for a peer table; later ones are refused
/// as before.
constexpr std::size_t max_early_messages = 256;
constexpr std::size_t max_early_bytes = std::size_t{64} << 20;

/// Whether `bytes` may join the messages held in `early`.
inline bool early_has_room(const std::vector<early_message>& early, const payload& bytes) {
  std::size_t held = 0;
  for (const auto& m : early)
    held += m.bytes.size();
  return early.size() < max_early_messages && held + bytes.size() <= max_early_bytes;
}

/// How one role takes a message.
struct dispatch_rules {
  /// Registrations may come from actors not yet in the book (the coordinator, the cloud).
  bool takes_registrations = false;
  /// When set, every message is counted here by kind ("undecodable" for bytes that are none), whatever
  /// becomes of it (the cloud reports what it received).
  std::map<std::string, int64_t>* kinds_received = nullptr;
  /// When set, a message from an unknown actor before the peer table is held here (see early_message).
  std::vector<early_message>* early = nullptr;
};

/// True when `in` came from a participant of `role` (and, when `id` is set, that one); otherwise records
/// `refused/wrong_sender` (e.g. a round opening from the cloud at an edge, or from an edge that is not the
/// client's own: a known peer, but not the one that sends these).
template <class Self>
bool from_role(Self* self, const run_context& ctx, const std::string& who, uint32_t round, const incoming& in,
               messages::message_kind kind, messages::tier role, std::optional<uint32_t> id = std::nullopt) {
  if (in.sender.role == role && (!id || in.sender.id == *id))
    return true;
  record_error(self, ctx, who, round, run::run_error::refused, "wrong_sender",
               fmt::format("a {} message from {} {}; only the {}{} sends these here", messages::to_string(kind),
                           messages::to_string(in.sender.role), in.sender.id, messages::to_string(role),
                           id ? " " + std::to_string(*id) : std::string{}));
  return false;
}

/// Records that this role does not take messages of `kind`.
template <class Self>
void refuse_kind(Self* self, const run_context& ctx, const std::string& who, uint32_t round,
                 messages::message_kind kind, const messages::participant& sender) {
  record_error(self, ctx, who, round, run::run_error::refused, "wrong_kind",
               fmt::format("a {} does not take {} messages (this one from {} {})", who.substr(0, who.find(' ')),
                           messages::to_string(kind), messages::to_string(sender.role), sender.id));
}

/// Decodes `bytes`, checks the sender and calls `handler(incoming, body)` for the body's kind. `handler` is
/// an overloaded set with one entry per kind the role takes and a generic fallback that refuses the rest
/// (see refuse_kind). `handler` may be called with a peer table only when `peer_handles` is set.
template <class Self, class Handler>
void dispatch(Self* self, const run_context& ctx, const peer_book& peers, const std::string& who, uint32_t round,
              const payload& bytes, const handles* peer_handles, dispatch_rules rules, Handler&& handler) {
  auto msg = ctx.codec.decode_any(bytes);
  if (!msg) {
    if (rules.kinds_received)
      (*rules.kinds_received)["undecodable"] += 1;
    record_rejected(self, ctx, who, round, msg.error());
    return;
  }
  const auto kind = static_cast<messages::message_kind>(msg->body.index());
  if (rules.kinds_received)
    (*rules.kinds_received)[messages::to_string(kind)] += 1;
  const bool registration = kind == messages::message_kind::registration;
  if (!(registration && rules.takes_registrations)) {
    // (A peer table, or anything with actor handles, comes from the coordinator, known from the wiring: from
    // anyone else it is refused now.)
    if (rules.early != nullptr && !peers.complete && kind != messages::message_kind::peer_table
        && peer_handles == nullptr && self->current_sender() && !actual_sender(self, peers)) {
      if (!early_has_room(*rules.early, bytes)) {
        record_error(self, ctx, who, round, run::run_error::refused, "early_full",
                     fmt::format("a {} message from an actor not known yet came while {} messages wait for the "
                                 "peer table (at most {}, {} MiB); refused",
                                 messages::to_string(kind), rules.early->size(), max_early_messages,
                                 max_early_bytes >> 20));
        return;
      }
      rules.early->push_back({self->current_sender(), bytes});
      return;
    }
    if (!check_sender(self, ctx, peers, who, round, messages::to_string(kind), msg->sender))
      return;
  }
  if ((kind == messages::message_kind::peer_table) != (peer_handles != nullptr)) {
    record_error(self, ctx, who, round, run::run_error::refused, "no_handles",
                 fmt::format("a {} message {} actor handles; ignored", messages::to_string(kind),
                             peer_handles ? "with" : "without"));
    return;
  }
  if (const auto* table = std::get_if<messages::peer_table>(&msg->body)) {
    bool valid = table->peers.size() == peer_handles->size();
    for (const auto& h : *peer_handles)
      valid = valid && static_cast<bool>(h);
    if (!valid) {
      record_error(self, ctx, who, round, run::run_error::refused, "no_handles",
                   fmt::format("a peer table of {} entries came with {} actor handles (or an invalid one); ignored",
                               table->peers.size(), peer_handles->size()));
      return;
    }
  }
  const incoming in{msg->sender, bytes, peer_handles};
  std::visit([&](const auto& body) { handler(in, body); }, msg->body);
}

/// Once the peer table arrived: each held message handed to `redispatch(bytes)` in the order it came, as if
/// it came now from its original sender (the sender this handler sees is swapped in for the call).
template <class Self, class Redispatch>
void replay_early(Self* self, std::vector<early_message>& early, Redispatch&& redispatch) {
  auto held = std::move(early);
  early.clear();
  for (auto& m : held) {
    struct swap_sender {
      caf::strong_actor_ptr& current;
      caf::strong_actor_ptr& other;
      swap_sender(caf::strong_actor_ptr& c, caf::strong_actor_ptr& o) : current(c), other(o) { std::swap(current, other); }
      ~swap_sender() { std::swap(current, other); }
    } guard{self->current_sender(), m.sender};
    redispatch(m.bytes);
  }
}

} // namespace elsa::actors
