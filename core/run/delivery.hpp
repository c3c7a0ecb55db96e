// Reliable delivery over the faulty network of [faults] (net_faults.hpp): the rules both ends follow, with no
// actor code (actors/transmit.hpp applies them). Every protocol message after set-up carries an id (the
// sender's count) and a checksum of its bytes; the receiver acknowledges a message whose bytes match their
// checksum and hands it on once, ignoring copies of an id it has seen; the sender sends it again, with a fate
// of its own each time, after a wait that doubles from retry_ms (at most 8 x retry_ms), until the waits add
// up to round_deadline_ms: then it is undelivered. A damaged message fails its checksum and is not
// acknowledged, so it costs a resend, not a round. Split-step requests (a request whose reply is the
// acknowledgement) carry the checksum too and are sent again after retry_ms until step_deadline_ms.
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

/// True when a message whose acknowledgement has been awaited `waited_ms` in all may be sent again: while
/// the waits stay under round_deadline_ms (after that the round it belongs to is over anyway).
bool may_resend(const run_config& cfg, int64_t waited_ms);

/// The message ids one receiver has taken from one sender. Ids are the sender's count, so they arrive
/// roughly in order: the last `window` are kept, and an id older than all of them counts as seen.
class seen_ids {
public:
  static constexpr std::size_t window = 4096;

  /// True the first time `id` comes (and remembers it); false for a copy.
  bool first(uint64_t id);

private:
  std::set<uint64_t> ids_;
  uint64_t forgotten_below_ = 0;  // ids under this were dropped from the window: copies by now
};

} // namespace elsa::run
