// Reliable delivery over the faulty network of [faults] (net_faults.hpp): the rules both ends follow, with no
// actor code (actors/transmit.hpp applies them). Every one-way protocol message after set-up (heartbeats
// between edges and clients excepted: they measure the link) carries an id (the sender's count on that link)
// and a checksum of its bytes; the receiver acknowledges a message whose bytes match their checksum and hands
// it on once, ignoring copies of an id it has taken; the sender sends it again, with a fate of its own each
// time, after a wait that doubles from retry_ms (at most 8 x retry_ms), at most max_sends times and while the
// waits stay within round_deadline_ms: then it is undelivered. A damaged message fails its checksum and is not
// acknowledged, so it costs a resend, not a round. Split-step requests (a request whose reply is the
// acknowledgement) carry the checksum too; the client sends one again when it is lost (after retry_ms) or
// refused as damaged (at once), up to step_deadline_ms / retry_ms sends in all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>

#include "core/run/run_config.hpp"

namespace elsa::run {

/// True when messages are delivered reliably: network faults are configured and retry_ms > 0 (retry_ms = 0
/// shows what the faults cost without it).
bool reliable_delivery(const run_config& cfg);

/// The checksum a message's bytes carry (64-bit FNV-1a). Never 0, so 0 can mean "none".
uint64_t checksum(const std::byte* data, std::size_t size);

/// How long a sender waits for the acknowledgement of send number `attempt` (0: the first send) before it
/// sends again: retry_ms, doubled with each resend, at most 8 x retry_ms.
int64_t ack_wait_ms(const run_config& cfg, uint32_t attempt);

/// The most sends of one message.
inline constexpr uint32_t max_sends = 16;

/// True when a message sent `attempt + 1` times, `waited_ms` after its first send (its acknowledgement waits
/// and the times it was held back), may be sent again: under max_sends, and while the next acknowledgement
/// wait still ends within round_deadline_ms (after that the round it belongs to is over anyway; a hold of the
/// next send can take it past by that hold).
bool may_resend(const run_config& cfg, uint32_t attempt, int64_t waited_ms);

/// The message ids one receiver has taken on one link. Ids count the sender's messages on that link from 1,
/// so they arrive nearly in order: everything up to the first gap is one number, the rest a set. A gap
/// (a message still on its way, or given up) closes once `window` later ids have come: an id that old counts
/// as a copy.
class seen_ids {
public:
  static constexpr std::size_t window = 4096;

  /// True the first time `id` comes (and remembers it); false for a copy.
  bool first(uint64_t id);

private:
  uint64_t through_ = 0;     // every id in 1 .. through_ was taken (or given up on)
  std::set<uint64_t> above_; // ids taken above through_ + 1
};

} // namespace elsa::run
