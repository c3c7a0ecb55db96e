// What the three roles that take part in heartbeats share (messages/schema/heartbeat.capnp): the clock a ping
// carries (the actor's clock: simulated under the deterministic scheduler, so RTTs are reproducible there),
// the reply that echoes a ping, and the timer ids a measurement's timeout uses. Header-only; the protocol
// itself is in the coordinator (asks), the edge (measures its client links) and the client (answers).
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

#include "core/run/run_config.hpp"
#include "messages/types.hpp"

namespace elsa::actors {

/// The actor's clock, in nanoseconds (steady; simulated when deterministic).
template <class Self>
int64_t clock_ns(Self* self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(self->clock().now().time_since_epoch()).count();
}

/// The reply to `ping`, sent now by `self`.
template <class Self>
messages::heartbeat answer(Self* self, const messages::heartbeat& ping, uint32_t queue_length = 0) {
  messages::heartbeat reply;
  reply.seq = ping.seq;
  reply.sent_ns = clock_ns(self);
  reply.echo_ns = ping.sent_ns;
  reply.is_reply = true;
  reply.queue_length = queue_length;
  return reply;
}

/// RTT in ms of a reply received now.
template <class Self>
double rtt_ms(Self* self, const messages::heartbeat& reply) {
  return static_cast<double>(clock_ns(self) - reply.echo_ns) / 1e6;
}

/// How long the coordinator waits for every edge's measurement before placing on what it has: an edge
/// reports after heartbeat_timeout_ms at the latest, so twice that plus a second of slack.
inline int64_t measurement_guard_ms(const run::run_config& cfg) {
  return 2 * cfg.heartbeat_timeout_ms + 1000;
}

/// A role's own timers take a uint32 (round numbers); the timeout of heartbeat measurement `seq` uses the
/// top of that range, which no round number reaches ([topology] rounds <= 10^6).
constexpr uint32_t k_heartbeat_timers = 0xFFFF0000u;
constexpr uint32_t heartbeat_timer(uint64_t seq) {
  return k_heartbeat_timers + static_cast<uint32_t>(seq % 0xFFFFu);
}
constexpr bool is_heartbeat_timer(uint32_t timer) {
  return timer >= k_heartbeat_timers && timer != std::numeric_limits<uint32_t>::max();
}
constexpr bool heartbeat_timer_of(uint32_t timer, uint64_t seq) {
  return timer == heartbeat_timer(seq);
}

} // namespace elsa::actors
