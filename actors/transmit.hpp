// Every protocol message after registration leaves its actor here: sent as is, or, with [faults] network
// faults configured, as the network of core/run/net_faults.hpp carries it (lost, held back, delivered twice,
// damaged), decided per link and message from the seed. Each hit message is recorded by its sender as a
// `net_fault` event; the receiver meets the result as it would meet a bad network. Registration and peer
// tables (the run's set-up) are sent without faults. With reliable delivery (core/run/delivery.hpp: faults
// on and retry_ms > 0) each message carries an id and a checksum, the receiver acknowledges it and takes it
// once (receive()), and the sender sends it again until it is acknowledged or its waits reach
// round_deadline_ms (on_resend()). A split step's request (client.cpp ask_edge) takes network_fate() itself.
// Header-only; no maths.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <utility>

#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>

#include <fmt/format.h>

#include "actors/reporting.hpp"
#include "core/run/delivery.hpp"
#include "core/run/net_faults.hpp"

namespace elsa::actors {

/// What one role keeps for the network: its count of messages per receiver (the `seq` of
/// core/run/net_faults.hpp decide()), and for reliable delivery the messages not yet acknowledged and the ids
/// taken from each sender.
struct delivery {
  using key = std::pair<uint8_t, uint32_t>;
  static key key_of(const messages::participant& p) { return {static_cast<uint8_t>(p.role), p.id}; }

  struct unacked {
    delivery_endpoint handle;           // the receiver
    messages::participant from, to;
    uint32_t round = 0;                 // the sender's edge round when it was first sent
    payload bytes;                      // as sent the first time (each send gets its own fate)
    uint64_t sum = 0;                   // their checksum
    std::string kind;                   // the message kind, for events
    uint32_t attempt = 0;               // sends so far - 1
    int64_t waited_ms = 0;              // acknowledgement waits so far
    std::chrono::microseconds base_delay{0};  // a configured straggler or link latency (first send only)
  };

  std::map<key, uint64_t> next_seq;
  uint64_t next_id = 1;
  std::map<uint64_t, unacked> pending;
  std::map<caf::actor_addr, run::seen_ids> taken;  // by the sending actor (not its envelope, unchecked here)

  uint64_t take_seq(const messages::participant& to) { return next_seq[key_of(to)]++; }
};

inline std::string named(const messages::participant& p) {
  return fmt::format("{} {}", messages::to_string(p.role), p.id);
}

/// The network's fate for one message (of kind `kind`, `bytes` long) from `from` to `to` during edge round
/// `round`, recorded as a `net_fault` event when a fault hit it. `rpc`: a request whose reply comes back on
/// the same link (the split steps), which can be lost or damaged but is neither held back nor duplicated
/// (CAF's request cannot be).
template <class Self>
run::net_action network_fate(Self* self, const run_context& ctx, delivery& net, const messages::participant& from,
                             const messages::participant& to, uint32_t round, const std::string& kind,
                             int64_t bytes, bool rpc = false) {
  // Without reliable delivery the coordinator and the cloud share one control link the run cannot do without
  // (re-clustering holds the cloud's aggregation until the coordinator's answer): exempt then.
  const auto control = [](const messages::participant& p) {
    return p.role == messages::tier::coordinator || p.role == messages::tier::cloud;
  };
  if (!run::network_faults_on(ctx.cfg) || (!run::reliable_delivery(ctx.cfg) && control(from) && control(to)))
    return {};
  auto act = run::decide(ctx.cfg, from, to, net.take_seq(to), round);
  if (rpc) {
    act.delay_ms = 0;
    act.faults.erase(std::remove_if(act.faults.begin(), act.faults.end(),
                                    [](run::net_fault f) {
                                      return f == run::net_fault::delay || f == run::net_fault::duplicate;
                                    }),
                     act.faults.end());
  }
  if (act.faults.empty())
    return act;
  run::net_fault_event ev;
  ev.round = round;
  ev.from = named(from);
  ev.to = named(to);
  ev.message = kind;
  for (auto f : act.faults)
    ev.faults.emplace_back(run::to_string(f));
  ev.delay_ms = act.delay_ms;
  ev.bytes = bytes;
  record(self, ctx, ev);
  return act;
}

/// The kind `bytes` say they are ("undecodable" when they say none).
inline std::string kind_named(const run_context& ctx, const payload& bytes) {
  const auto kind = ctx.codec.peek(bytes);
  return kind ? messages::to_string(kind->first) : "undecodable";
}

/// `bytes` as they arrive after `act`: damaged when it says so (a copy), else the same bytes.
inline payload as_delivered(const payload& bytes, const run::net_action& act) {
  for (auto f : {run::net_fault::flip, run::net_fault::truncate})
    if (act.has(f)) {
      const auto damaged = run::damage(bytes.data(), bytes.size(), f, act.damage_seed);
      return payload::copy_of(damaged.data(), damaged.size());
    }
  return bytes;
}

/// One send of the unacknowledged message `id` through the network, and the timer to send it again.
template <class Self>
void send_reliably(Self* self, const run_context& ctx, delivery& net, uint64_t id) {
  auto& m = net.pending.at(id);
  const auto act = network_fate(self, ctx, net, m.from, m.to, m.round, m.kind, static_cast<int64_t>(m.bytes.size()));
  const auto delay = (m.attempt == 0 ? m.base_delay : std::chrono::microseconds{0})
                     + std::chrono::milliseconds(act.delay_ms);
  if (!act.lost) {
    const auto out = as_delivered(m.bytes, act);
    for (int copies = act.has(run::net_fault::duplicate) ? 2 : 1; copies > 0; --copies) {
      if (delay.count() > 0)
        self->delayed_send(m.handle, delay, messages::deliver_atom::value, out, id, m.sum);
      else
        self->send(m.handle, messages::deliver_atom::value, out, id, m.sum);
    }
  }
  // The wait starts when the message leaves (a straggler's upload is held back before it does).
  const auto held = m.attempt == 0 ? m.base_delay : std::chrono::microseconds{0};
  self->delayed_send(self, held + std::chrono::milliseconds(run::ack_wait_ms(ctx.cfg, m.attempt)),
                     messages::resend_atom::value, id);
}

/// Sends `bytes` from `from` to `to` (reached through `handle`) during edge round `round`, after
/// `base_delay` (a configured straggler or link latency; zero: at once), through the faulty network when
/// one is configured, reliably when reliable delivery is on.
template <class Self, class Handle>
void transmit(Self* self, const run_context& ctx, delivery& net, const messages::participant& from,
              const messages::participant& to, const Handle& handle, uint32_t round, const payload& bytes,
              std::chrono::microseconds base_delay = std::chrono::microseconds{0}) {
  auto send = [&](const payload& b, std::chrono::microseconds delay) {
    if (delay.count() > 0)
      self->delayed_send(handle, delay, messages::deliver_atom::value, b);
    else
      self->send(handle, messages::deliver_atom::value, b);
  };
  if (!run::network_faults_on(ctx.cfg)) {
    send(bytes, base_delay);
    return;
  }
  if (run::reliable_delivery(ctx.cfg)) {
    const auto id = net.next_id++;
    delivery::unacked m;
    m.handle = caf::actor_cast<delivery_endpoint>(handle);
    m.from = from;
    m.to = to;
    m.round = round;
    m.bytes = bytes;
    m.sum = run::checksum(bytes.data(), bytes.size());
    m.kind = kind_named(ctx, bytes);
    m.base_delay = base_delay;
    net.pending.emplace(id, std::move(m));
    send_reliably(self, ctx, net, id);
    return;
  }
  const auto act = network_fate(self, ctx, net, from, to, round, kind_named(ctx, bytes),
                                static_cast<int64_t>(bytes.size()));
  if (act.lost)
    return;
  const auto out = as_delivered(bytes, act);
  const auto delay = base_delay + std::chrono::milliseconds(act.delay_ms);
  send(out, delay);
  if (act.has(run::net_fault::duplicate))
    send(out, delay);
}

/// The acknowledgement of `id` came: it need not be sent again. Only the receiver may acknowledge.
template <class Self>
void on_ack(Self* self, delivery& net, uint64_t id) {
  const auto it = net.pending.find(id);
  if (it != net.pending.end()
      && caf::actor_cast<caf::actor_addr>(self->current_sender()) == caf::actor_cast<caf::actor_addr>(it->second.handle))
    net.pending.erase(it);
}

/// The wait for the acknowledgement of `id` is over: sent again (a `resent` event), unless it was
/// acknowledged meanwhile or its waits reached round_deadline_ms (an `undelivered` event).
template <class Self>
void on_resend(Self* self, const run_context& ctx, delivery& net, uint64_t id) {
  const auto it = net.pending.find(id);
  if (it == net.pending.end())
    return;
  auto& m = it->second;
  m.waited_ms += run::ack_wait_ms(ctx.cfg, m.attempt);
  if (!run::may_resend(ctx.cfg, m.waited_ms) || ctx.shutting_down) {
    if (!ctx.shutting_down)
      record(self, ctx, run::undelivered_event{m.round, m.attempt + 1, named(m.from), named(m.to), m.kind});
    net.pending.erase(it);
    return;
  }
  ++m.attempt;
  record(self, ctx, run::resent_event{m.round, m.attempt, named(m.from), named(m.to), m.kind});
  send_reliably(self, ctx, net, id);
}

/// A message that came with an id and a checksum (reliable delivery): refused when its bytes do not match
/// the checksum (damaged on the way: not acknowledged, so its sender sends it again); otherwise acknowledged
/// (the acknowledgement crosses the faulty network too), and handed to `take(bytes)` unless it is a copy of
/// one already taken (a `duplicate` event). `me`, `round`: the receiver and its edge round.
template <class Self, class Take>
void receive(Self* self, const run_context& ctx, delivery& net, const std::string& who,
             const messages::participant& me, uint32_t round, const payload& bytes, uint64_t id, uint64_t sum,
             Take&& take) {
  if (run::checksum(bytes.data(), bytes.size()) != sum) {
    record_error(self, ctx, who, round, run::run_error::malformed_message, "checksum",
                 fmt::format("message {} ({} bytes) does not match its checksum: damaged on the way; not "
                             "acknowledged, so it is sent again",
                             id, bytes.size()));
    return;
  }
  const auto envelope = ctx.codec.peek(bytes);
  if (!envelope) {  // intact but not a message: its sender's fault, refused once (no acknowledgement helps)
    take(bytes);
    return;
  }
  const auto& [kind, from] = *envelope;
  auto to = caf::actor_cast<delivery_endpoint>(self->current_sender());
  if (to) {
    const auto act = network_fate(self, ctx, net, me, from, round, "ack", 8);
    if (!act.lost && !act.has(run::net_fault::flip) && !act.has(run::net_fault::truncate)) {
      if (act.delay_ms > 0)
        self->delayed_send(to, std::chrono::milliseconds(act.delay_ms), messages::ack_atom::value, id);
      else
        self->send(to, messages::ack_atom::value, id);
    }
  }
  if (!net.taken[caf::actor_cast<caf::actor_addr>(self->current_sender())].first(id)) {
    record(self, ctx, run::duplicate_event{round, who, named(from), messages::to_string(kind)});
    return;
  }
  take(bytes);
}

} // namespace elsa::actors
