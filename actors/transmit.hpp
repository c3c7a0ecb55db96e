// Every protocol message after registration leaves its actor here: sent as is, or, with [faults] network
// faults configured, as the network of core/run/net_faults.hpp carries it (lost, held back, delivered twice,
// damaged), decided per link and message from the seed. Each hit message is recorded by its sender as a
// `net_fault` event; the receiver meets the result as it would meet a bad network. Registration and peer
// tables (the run's set-up) are sent without faults. A split step's request (client.cpp ask_edge) takes
// network_fate() itself: lost (the request times out) or damaged. Header-only; no maths.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "actors/reporting.hpp"
#include "core/run/net_faults.hpp"

namespace elsa::actors {

/// A sender's count of messages per receiver: the `seq` of core/run/net_faults.hpp decide().
struct link_counters {
  std::map<std::pair<uint8_t, uint32_t>, uint64_t> next;
  uint64_t take(const messages::participant& to) {
    return next[{static_cast<uint8_t>(to.role), to.id}]++;
  }
};

/// The network's fate for one message from `from` to `to` during edge round `round`, recorded as a
/// `net_fault` event when a fault hit it. `rpc`: a request whose reply comes back on the same link (the split
/// steps), which can be lost or damaged but is neither held back nor duplicated (CAF's request cannot be).
template <class Self>
run::net_action network_fate(Self* self, const run_context& ctx, link_counters& links,
                             const messages::participant& from, const messages::participant& to, uint32_t round,
                             const payload& bytes, bool rpc = false) {
  // The coordinator and the cloud share one control link the run cannot do without (re-clustering holds the
  // cloud's aggregation until the coordinator's answer): exempt until messages are resent (reliable delivery).
  const auto control = [](const messages::participant& p) {
    return p.role == messages::tier::coordinator || p.role == messages::tier::cloud;
  };
  if (!run::network_faults_on(ctx.cfg) || (control(from) && control(to)))
    return {};
  auto act = run::decide(ctx.cfg, from, to, links.take(to), round);
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
  ev.from = fmt::format("{} {}", messages::to_string(from.role), from.id);
  ev.to = fmt::format("{} {}", messages::to_string(to.role), to.id);
  const auto kind = ctx.codec.peek(bytes);
  ev.message = kind ? messages::to_string(kind->first) : "undecodable";
  for (auto f : act.faults)
    ev.faults.emplace_back(run::to_string(f));
  ev.delay_ms = act.delay_ms;
  ev.bytes = static_cast<int64_t>(bytes.size());
  record(self, ctx, ev);
  return act;
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

/// Sends `bytes` from `from` to `to` (reached through `handle`) during edge round `round`, after
/// `base_delay` (a configured straggler or link latency; zero: at once), through the faulty network when
/// one is configured.
template <class Self, class Handle>
void transmit(Self* self, const run_context& ctx, link_counters& links, const messages::participant& from,
              const messages::participant& to, const Handle& handle, uint32_t round, const payload& bytes,
              std::chrono::microseconds base_delay = std::chrono::microseconds{0}) {
  auto send = [&](const payload& b, std::chrono::microseconds delay) {
    if (delay.count() > 0)
      self->delayed_send(handle, delay, messages::deliver_atom::value, b);
    else
      self->send(handle, messages::deliver_atom::value, b);
  };
  const auto act = network_fate(self, ctx, links, from, to, round, bytes);
  if (act.faults.empty()) {
    send(bytes, base_delay);
    return;
  }
  if (act.lost)
    return;
  const auto out = as_delivered(bytes, act);
  const auto delay = base_delay + std::chrono::milliseconds(act.delay_ms);
  send(out, delay);
  if (act.has(run::net_fault::duplicate))
    send(out, delay);
}

} // namespace elsa::actors
