// Every one-way protocol message after registration leaves its actor here: sent as is, or, with [faults]
// network faults configured, as the network of core/run/net_faults.hpp carries it (lost, held back, delivered
// twice, damaged), decided per link and message from the seed. Each hit message is recorded by its sender as
// a `net_fault` event; the receiver meets the result as it would meet a bad network. Registration and peer
// tables (the run's set-up) are sent without faults. With reliable delivery (core/run/delivery.hpp: faults on
// and retry_ms > 0) each message (but heartbeats between edges and clients) carries an id and a checksum, the
// receiver acknowledges it and takes it once (receive()), and the sender sends it again until it is
// acknowledged or gives it up (on_resend()). A split step's request (client.cpp ask_edge) takes
// network_fate() itself. Header-only; no maths.
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

/// How a message is sent when reliable delivery is on: reliably (an id, a checksum, resent until acknowledged),
/// or best effort (heartbeats between edges and clients: a resend would measure the wait, not the link).
enum class sending { reliable, best_effort };

/// What one role keeps for the network: its count of messages per receiver (the `seq` of
/// core/run/net_faults.hpp decide()), and for reliable delivery the messages not yet acknowledged and the ids
/// taken on each link.
struct delivery {
  using key = std::pair<uint8_t, uint32_t>;
  static key key_of(const messages::participant& p) { return {static_cast<uint8_t>(p.role), p.id}; }

  struct unacked {
    delivery_endpoint handle;           // the receiver
    uint64_t id = 0;                    // on the link to it
    messages::participant from, to;
    uint32_t round = 0;                 // the sender's edge round when it was first sent (for events)
    payload bytes;                      // as sent the first time (each send gets its own fate)
    uint64_t sum = 0;                   // their checksum
    std::string kind;                   // the message kind, for events
    uint32_t attempt = 0;               // sends so far - 1
    int64_t waited_ms = 0;              // acknowledgement waits and network holds so far (the resend budget)
    std::chrono::microseconds base_delay{0};  // a configured straggler or link latency (first send only)
  };

  std::map<key, uint64_t> next_seq;   // messages per receiver, for decide()
  std::map<key, uint64_t> next_id;    // reliable messages per receiver: each link's ids count from 1
  uint64_t next_token = 1;            // names an unacknowledged message in this role's own timers
  std::map<uint64_t, unacked> pending;                            // by token
  std::map<std::pair<caf::actor_addr, uint64_t>, uint64_t> token_of;  // (receiver, id) -> token
  std::map<caf::actor_addr, run::seen_ids> taken;  // by the sending actor (not its envelope, unchecked here)

  uint64_t take_seq(const messages::participant& to) { return next_seq[key_of(to)]++; }

  void forget(std::map<uint64_t, unacked>::iterator it) {
    token_of.erase({caf::actor_cast<caf::actor_addr>(it->second.handle), it->second.id});
    pending.erase(it);
  }
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

/// One send of the unacknowledged message `token` through the network (its fate decided on the sender's
/// edge round `round` now), and the timer to send it again.
template <class Self>
void send_reliably(Self* self, const run_context& ctx, delivery& net, uint64_t token, uint32_t round) {
  auto& m = net.pending.at(token);
  const auto act = network_fate(self, ctx, net, m.from, m.to, round, m.kind, static_cast<int64_t>(m.bytes.size()));
  // The wait starts when the message leaves: after a straggler's hold (first send only) and the network's.
  const auto delay = (m.attempt == 0 ? m.base_delay : std::chrono::microseconds{0})
                     + std::chrono::milliseconds(act.delay_ms);
  m.waited_ms += std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();  // counts toward the budget
  if (!act.lost) {
    const auto out = as_delivered(m.bytes, act);
    for (int copies = act.has(run::net_fault::duplicate) ? 2 : 1; copies > 0; --copies) {
      if (delay.count() > 0)
        self->delayed_send(m.handle, delay, messages::deliver_atom::value, out, m.id, m.sum);
      else
        self->send(m.handle, messages::deliver_atom::value, out, m.id, m.sum);
    }
  }
  self->delayed_send(self, delay + std::chrono::milliseconds(run::ack_wait_ms(ctx.cfg, m.attempt)),
                     messages::resend_atom::value, token);
}

/// Sends `bytes` from `from` to `to` (reached through `handle`) during edge round `round`, after
/// `base_delay` (a configured straggler or link latency; zero: at once), through the faulty network when
/// one is configured, reliably when reliable delivery is on (unless `how` is best effort).
template <class Self, class Handle>
void transmit(Self* self, const run_context& ctx, delivery& net, const messages::participant& from,
              const messages::participant& to, const Handle& handle, uint32_t round, const payload& bytes,
              std::chrono::microseconds base_delay = std::chrono::microseconds{0},
              sending how = sending::reliable) {
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
  if (run::reliable_delivery(ctx.cfg) && how == sending::reliable) {
    const auto token = net.next_token++;
    delivery::unacked m;
    m.handle = caf::actor_cast<delivery_endpoint>(handle);
    m.id = ++net.next_id[delivery::key_of(to)];
    m.from = from;
    m.to = to;
    m.round = round;
    m.bytes = bytes;
    m.sum = run::checksum(bytes.data(), bytes.size());
    m.kind = kind_named(ctx, bytes);
    m.base_delay = base_delay;
    net.token_of[{caf::actor_cast<caf::actor_addr>(m.handle), m.id}] = token;
    net.pending.emplace(token, std::move(m));
    send_reliably(self, ctx, net, token, round);
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

/// The acknowledgement of message `id` came from its receiver: it need not be sent again.
template <class Self>
void on_ack(Self* self, delivery& net, uint64_t id) {
  const auto it = net.token_of.find({caf::actor_cast<caf::actor_addr>(self->current_sender()), id});
  if (it != net.token_of.end())
    net.forget(net.pending.find(it->second));
}

/// The wait for the acknowledgement of message `token` is over: sent again (a `resent` event; its fate decided
/// on the sender's edge round now, `round`), unless it was acknowledged meanwhile, or it was sent max_sends
/// times or the next wait would end past round_deadline_ms (an `undelivered` event). `gone`: the sender went
/// silent, so it sends nothing more.
template <class Self>
void on_resend(Self* self, const run_context& ctx, delivery& net, uint64_t token, uint32_t round, bool gone = false) {
  const auto it = net.pending.find(token);
  if (it == net.pending.end())
    return;
  auto& m = it->second;
  m.waited_ms += run::ack_wait_ms(ctx.cfg, m.attempt);
  if (gone || ctx.shutting_down || !run::may_resend(ctx.cfg, m.attempt, m.waited_ms)) {
    if (!gone && !ctx.shutting_down)
      record(self, ctx, run::undelivered_event{m.round, m.attempt + 1, named(m.from), named(m.to), m.kind});
    net.forget(it);
    return;
  }
  ++m.attempt;
  record(self, ctx, run::resent_event{round, m.attempt, named(m.from), named(m.to), m.kind});
  send_reliably(self, ctx, net, token, round);
}

/// A message that came with an id and a checksum (reliable delivery): refused when its bytes do not match
/// the checksum (damaged on the way: not acknowledged, so its sender sends it again); otherwise acknowledged
/// (the acknowledgement crosses the faulty network too, on the receiver's edge round `round`), and handed to
/// `take(bytes)` unless it is a copy of one already taken (a `duplicate` event). `me`: the receiver.
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
  auto sender = caf::actor_cast<delivery_endpoint>(self->current_sender());
  const auto envelope = ctx.codec.peek(bytes);
  // The acknowledgement: intact bytes that are no message (the sender's fault, not the network's) are
  // acknowledged too, straight back, so they are refused once, not once per resend.
  const auto act = envelope ? network_fate(self, ctx, net, me, envelope->second, round, "ack", 8) : run::net_action{};
  if (sender && !act.lost && !act.has(run::net_fault::flip) && !act.has(run::net_fault::truncate)) {
    if (act.delay_ms > 0)
      self->delayed_send(sender, std::chrono::milliseconds(act.delay_ms), messages::ack_atom::value, id);
    else
      self->send(sender, messages::ack_atom::value, id);
  }
  if (!net.taken[caf::actor_cast<caf::actor_addr>(self->current_sender())].first(id)) {
    record(self, ctx, run::duplicate_event{round, who, envelope ? named(envelope->second) : "unknown",
                                           envelope ? messages::to_string(envelope->first) : "undecodable"});
    return;
  }
  take(bytes);
}

} // namespace elsa::actors
