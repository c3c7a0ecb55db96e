// The edge-server role's protocol (see edge_server.hpp).
#include "actors/edge_server.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "actors/dispatch.hpp"
#include "actors/heartbeat.hpp"
#include "core/attack/capture.hpp"
#include "core/errors.hpp"
#include "core/fed/edge_body.hpp"
#include "core/fed/sketched.hpp"
#include "core/run/sim_usage.hpp"
#include "core/sim/clock.hpp"

namespace elsa::actors {

namespace {

using namespace messages;

std::string who(const edge_pointer& self) {
  return fmt::format("edge {}", self->state.id);
}

participant me(const edge_pointer& self) {
  return {tier::edge, self->state.id};
}

uint32_t current_round(const edge_pointer& self) {
  return self->state.current ? self->state.current->round : 0;
}

void start_round(edge_pointer self, const open_round& open);

void readmit(edge_pointer self, uint32_t client);

// Round r may start once every cluster holds the global adapters of the cloud round it belongs to.
bool ready_for(const edge_pointer& self, uint32_t round) {
  const auto& st = self->state;
  const auto kappa2 = static_cast<uint32_t>(st.ctx->cfg.kappa2);
  const uint32_t needed = kappa2 * (round / kappa2);
  for (uint32_t k = 0; k < st.ctx->clusters; ++k) {
    auto it = st.global_round.find(k);
    if (it == st.global_round.end() || it->second < needed)
      return false;
  }
  return true;
}

// Loads a cluster's adapters into one client's body slot; a set that does not fit is recorded, not thrown.
bool load_into_slot(edge_pointer self, uint32_t client, const fed::adapter_set& set) {
  auto& st = self->state;
  try {
    st.body->load_adapters(client, set);
    return true;
  } catch (const elsa::error& e) {
    record_error(self, *st.ctx, who(self), current_round(self), run::run_error::malformed_message, e.what());
    return false;
  }
}

// True when client sampling is on: adapters go to the clients drawn for a round, when it opens.
bool lazy_adapters(const edge_pointer& self) {
  return self->state.ctx->cfg.sampled_per_round() > 0;
}

// A client left this edge, or came (back) to a new slot: what it and its slot held is not known any more.
void forget_lazy(edge_state& st, uint32_t client) {
  st.lazy.client_has.erase(client);
  st.lazy.slot_has.erase(client);
}

// Loads a cluster's adapters (st.cluster_adapters[cluster], just set) into its clients' body slots; with client
// sampling, only a new version is noted: a slot gets it when its client is drawn (send_adapters_to_drawn).
void load_into_slots(edge_pointer self, uint32_t cluster, const fed::adapter_set& set) {
  auto& st = self->state;
  if (lazy_adapters(self)) {
    ++st.lazy.version[cluster];
    return;
  }
  for (const auto& [c, a] : st.clients)
    if (a.cluster_id == cluster && st.body->has_client(c))
      load_into_slot(self, c, set);
}

// -- step admission --

// Lets waiting clients in while fewer than max_concurrent_steps are admitted.
void admit_waiting(edge_pointer self) {
  auto& st = self->state;
  const auto cap = static_cast<std::size_t>(st.ctx->cfg.max_concurrent_steps);
  while (!st.admission_queue.empty() && st.admitted.size() < cap) {
    auto [c, promise] = std::move(st.admission_queue.front());
    st.admission_queue.pop_front();
    const bool live = st.clients.count(c) && !st.down.count(c);
    if (live) {
      st.admitted.insert(c);
      st.peak_admitted = std::max(st.peak_admitted, st.admitted.size());
    }
    promise.deliver(live);
  }
}

// Client c's step is over (it asks for its next one, its round ended, or it went away).
void release(edge_pointer self, uint32_t c) {
  if (self->state.admitted.erase(c))
    admit_waiting(self);
}

// A new round: steps of the old one no longer count, and whoever still waits for one is told no.
void reset_admission(edge_pointer self) {
  auto& st = self->state;
  st.admitted.clear();
  for (auto& [c, promise] : st.admission_queue)
    promise.deliver(false);
  st.admission_queue.clear();
}

caf::result<bool> on_admit(edge_pointer self, uint32_t c) {
  auto& st = self->state;
  const participant claimed{tier::client, c};
  if (!check_sender(self, *st.ctx, st.peers, who(self), current_round(self), "admit", claimed))
    return false;
  release(self, c);  // asking again means its previous step is done
  if (!st.clients.count(c))
    return false;
  readmit(self, c);
  if (st.admitted.size() < static_cast<std::size_t>(st.ctx->cfg.max_concurrent_steps)) {
    st.admitted.insert(c);
    st.peak_admitted = std::max(st.peak_admitted, st.admitted.size());
    return true;
  }
  auto promise = self->make_response_promise<bool>();
  st.admission_queue.emplace_back(c, promise);
  return promise;
}

// A client marked down because it went silent is waited for again once it speaks.
void readmit(edge_pointer self, uint32_t client) {
  auto& st = self->state;
  st.missed[client] = 0;
  if (st.silent_down.erase(client))
    st.down.erase(client);
}

// Sends `bytes` (a message of `kind`, `extra` bytes short of its dense f32 form) to client c, counted in the
// round's bytes down; a client missing from the peer table is recorded (it cannot happen once registration
// is complete).
void send_to_client(edge_pointer self, uint32_t c, const payload& bytes, run::byte_kind kind, int64_t extra) {
  auto& st = self->state;
  auto it = st.peers.clients.find(c);
  if (it == st.peers.clients.end()) {
    record_error(self, *st.ctx, who(self), current_round(self), run::run_error::internal,
                 fmt::format("client {} is not in this edge's peers", c));
    return;
  }
  st.sent_down.add(kind, static_cast<int64_t>(bytes.size()), static_cast<int64_t>(bytes.size()) + extra);
  transmit(self, *st.ctx, st.net, me(self), participant{tier::client, c}, it->second, current_round(self), bytes);
}

// Sends an encoded adapter_update (`extra`: dense_f32_extra of it) to every live client of `cluster`.
void push_to_clients(edge_pointer self, uint32_t cluster, const payload& bytes, int64_t extra) {
  auto& st = self->state;
  if (lazy_adapters(self)) {  // kept for the clients drawn next (send_adapters_to_drawn)
    st.lazy.message[cluster] = {bytes, extra, st.lazy.version[cluster]};
    return;
  }
  for (const auto& [c, a] : st.clients)
    if (a.cluster_id == cluster && !st.down.count(c))
      send_to_client(self, c, bytes, run::byte_kind::adapters, extra);
}

// Client sampling: brings each client drawn for the round opening now, and its body slot, up to its cluster's
// newest adapters, before its opening goes out (one message and one slot load per drawn client, none for the
// rest).
void send_adapters_to_drawn(edge_pointer self) {
  auto& st = self->state;
  for (auto c : st.expected) {
    const uint32_t k = st.clients.at(c).cluster_id;
    const auto v = st.lazy.version.find(k);
    if (v != st.lazy.version.end() && st.body->has_client(c) && st.lazy.slot_has[c] != std::make_pair(k, v->second)) {
      auto set = st.cluster_adapters.find(k);
      if (set != st.cluster_adapters.end() && load_into_slot(self, c, set->second))
        st.lazy.slot_has[c] = {k, v->second};
    }
    const auto m = st.lazy.message.find(k);
    if (m != st.lazy.message.end() && st.lazy.client_has[c] != std::make_pair(k, m->second.version)) {
      send_to_client(self, c, m->second.bytes, run::byte_kind::adapters, m->second.extra);
      st.lazy.client_has[c] = {k, m->second.version};
    }
  }
}

// The split client `c` runs at here: the coordinator's, or the config's before any.
std::pair<int64_t, int64_t> split_of(const edge_state& st, uint32_t c) {
  const auto sp = st.splits.find(c);
  if (sp == st.splits.end())
    return {st.ctx->cfg.head_blocks, st.ctx->cfg.client_tail_blocks()};
  return {sp->second.head_blocks, sp->second.tail_blocks};
}

// -- aggregation and closing --

void close_current(edge_pointer self, close_reason reason) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  const auto& open = *st.current;
  st.open = false;
  std::vector<uint32_t> missing;
  std::vector<uint32_t> late;
  for (auto c : st.expected)
    if (!st.updates.count(c)) {
      missing.push_back(c);
      if (!st.down.count(c)) {
        late.push_back(c);
        if (++st.missed[c] >= ctx.cfg.down_after_missed) {
          st.down.insert(c);  // a silent client: it stops being waited for (until it speaks again)
          st.silent_down.insert(c);
        }
      }
    }
  st.unfinished = late;
  for (const auto& [c, u] : st.updates)
    st.missed[c] = 0;

  // The uploads taken here this round on the simulated clock, with the body work served for each (the record's
  // clock sums the edge's work over the same clients: those whose round ended with an upload).
  const auto upload_times = [&] {
    std::map<uint32_t, sim::upload_time> uploads;
    for (const auto& [c, u] : st.updates) {
      const auto& done = st.served[c];
      const auto [head, tail] = split_of(st, c);
      uploads[c] = {st.upload_sim_s[c], run::served_edge_seconds(ctx.cfg, ctx.shape, st.id, {head, tail},
                                                                 static_cast<int64_t>(done.steps.size()),
                                                                 done.positions)};
    }
    return uploads;
  };
  // [topology] mode = "async": this round's uploads join those waiting; the buffer_size earliest on the
  // simulated clock are this round's aggregate, the rest wait (core/fed/async_buffer).
  std::optional<fed::async_buffer::flush_result> flush;
  if (ctx.cfg.async_edges() && reason != close_reason::aborted) {
    std::map<uint32_t, fed::async_buffer::upload> wave;
    for (auto& [c, t] : upload_times())
      wave[c] = {st.updates.at(c), t};  // (a copy: the record digests what came in)
    flush = st.buffered.flush(open.round, std::move(wave), ctx.cfg.async_buffer(st.clients.size()));
    for (auto c : flush->not_rebased)
      record_error(self, ctx, who(self), open.round, run::run_error::internal,
                   fmt::format("client {}'s waiting upload is aggregated without the adapters its round started "
                               "from (not moved onto this round's)", c));
  }
  // [profiles] enforce_deadline: an upload that came in time here but missed deadline_s on the simulated
  // clock is late: out of this round's aggregate, kept for the next one under the staleness policy.
  std::vector<uint32_t> sim_late;
  std::vector<fed::client_update> deferred;
  if (ctx.cfg.enforce_deadline && reason != close_reason::aborted) {
    sim_late = sim::late_uploads(upload_times(), ctx.cfg.deadline_s);
    if (ctx.cfg.stragglers_policy() == run::straggler_policy::staleness && !ctx.cfg.sketching())
      for (auto c : sim_late)
        deferred.push_back(st.updates.at(c));
  }
  const auto is_sim_late = [&sim_late](uint32_t c) {
    return std::find(sim_late.begin(), sim_late.end(), c) != sim_late.end();
  };
  st.served.clear();
  st.upload_sim_s.clear();

  // Per cluster: validated, weighted average of the whole adapter sets (core/fed/aggregation).
  fed::aggregation_result agg;
  std::map<uint32_t, std::string> left_out;  // client -> why the coordinator's decisions left it out
  if (reason != close_reason::aborted) {
    std::vector<fed::client_update> all;
    if (flush)
      all = std::move(flush->take);
    else
      for (const auto& [c, u] : st.updates)
        if (!is_sim_late(c))
          all.push_back(u);
    // A late update of a client whose own update of this round is taken is superseded by it: not an error.
    for (const auto& u : st.stale)
      if (!st.updates.count(u.client) || is_sim_late(u.client))
        all.push_back(u);
    // An update counts for the client's cluster as it is now: a re-clustering of this round (behaviour
    // clustering) may have moved it after its upload arrived.
    for (auto& u : all) {
      auto a = st.clients.find(u.client);
      if (a != st.clients.end())
        u.cluster = a->second.cluster_id;
    }
    fed::aggregation_inputs in;
    in.round = open.round;
    for (const auto& [k, set] : st.cluster_adapters)
      if (!set.empty())
        in.layouts[k] = ctx.cfg.sketched_round(open.round) ? fed::sketch_layout(ctx.cfg, set) : fed::layout_of(set);
    in.registered_samples = st.registered_samples;
    in.trust = st.trust;
    in.excluded = st.excluded;
    in.policy.trust_weighting = ctx.cfg.trust_weighting;
    in.policy.staleness_decay = ctx.cfg.staleness_decay;
    in.policy.max_staleness = static_cast<uint32_t>(ctx.cfg.max_staleness);
    if (flush)
      in.policy = fed::fedbuff_policy(in.policy);
    agg = fed::aggregate_updates(all, in);
    for (const auto& r : agg.rejected) {
      // Exclusion and zero trust are the coordinator's decisions, shown in the round's `left_out`; the
      // rest are bad or late updates, recorded as errors.
      if (r.why == fed::rejection::excluded || r.why == fed::rejection::zero_weight)
        left_out[r.client] = fed::to_string(r.why);
      else
        record_error(self, ctx, who(self), open.round, run::run_error::rejected_update, fed::to_string(r.why),
                     r.text);
    }
  }
  std::vector<uint32_t> aggregated_clients;
  int64_t stale_used = 0;
  for (const auto& [k, a] : agg.clusters) {
    aggregated_clients.insert(aggregated_clients.end(), a.clients.begin(), a.clients.end());
    stale_used += static_cast<int64_t>(a.stale.size());
  }
  // A deadline close counts its quorum on this round's updates that passed validation, not on those that
  // arrived. A round whose uploads the simulated deadline left out ([profiles] enforce_deadline) is a deadline
  // close on the simulated clock: as on_deadline does, it counts the uploads that arrived in time.
  // (Async: the flush is the round's decision, made on arrivals as on_deadline counted them; aborting after it
  // would lose the waiting uploads it took.)
  if ((reason == close_reason::quorum || !sim_late.empty()) && !flush) {
    std::size_t live = 0, accepted = 0;
    for (auto c : st.expected)
      live += st.down.count(c) ? 0 : 1;
    if (reason == close_reason::quorum) {
      for (auto c : aggregated_clients)
        accepted += st.updates.count(c) && !is_sim_late(c) ? 1 : 0;
    } else {
      accepted = st.updates.size() - sim_late.size();
    }
    if (!fed::quorum_met(accepted, live, ctx.cfg.quorum)) {
      reason = close_reason::aborted;
      agg.clusters.clear();
      aggregated_clients.clear();
      stale_used = 0;
      deferred.clear();  // an aborted round keeps none of its uploads, late or not
    }
  }
  st.stale = std::move(deferred);

  std::vector<payload> uploads;  // to the cloud, sent after the round's event and close (see below)
  if (open.cloud_round) {
    // One update per cluster, empty when this edge has nothing for it, so the cloud knows when it has all.
    for (uint32_t k = 0; k < ctx.clusters; ++k) {
      adapter_update up;
      up.round = open.round;
      up.base_round = open.round;
      up.cluster_id = k;
      auto it = agg.clusters.find(k);
      if (it != agg.clusters.end() && ctx.cfg.sketched_round(open.round)) {
        // Up goes the cluster's whole update since the cloud's adapters: what this edge's rounds applied,
        // what their decodes left, and this round's averaged table.
        up.sample_count = it->second.samples;
        try {
          const auto& start = st.cluster_adapters[k];
          const auto plan = fed::plan_sketch(ctx.cfg, start);
          const auto table = fed::edge_upload_table(plan, fed::table_of(plan, it->second.adapters), start,
                                                    st.global_adapters[k], st.sketch_error[k]);
          it->second.adapters = fed::aggregable(plan, table, it->second.adapters);
          up.form = fed::as_sketch(plan, table, it->second.adapters);
        } catch (const elsa::error& e) {
          record_error(self, ctx, who(self), open.round, run::run_error::internal, e.what());
          up.sample_count = 0;
          up.form = std::vector<named_tensor>{};  // the cloud still counts this edge's upload of the cluster
        }
      } else if (it != agg.clusters.end()) {
        up.sample_count = it->second.samples;  // exactly the updates averaged
        up.form = it->second.adapters;
      } else if (ctx.cfg.sampled_per_round() > 0 && !ctx.cfg.sketching() && st.period_samples[k] > 0) {
        // Client sampling drew none of this edge's clients of the cluster in this last round: what its earlier
        // rounds of the period aggregated goes up, weighted by the samples behind the latest of them.
        up.sample_count = st.period_samples[k];
        up.form = st.cluster_adapters[k];
      } else {
        up.form = std::vector<named_tensor>{};
      }
      st.period_samples.erase(k);
      // The cloud's next adapters replace what this period's edge rounds applied: their leftovers go with them.
      st.sketch_error.erase(k);
      auto bytes = ctx.codec.encode(me(self), up);
      if (!bytes) {
        record_error(self, ctx, who(self), open.round, run::run_error::internal, bytes.error().message);
        continue;
      }
      st.sent_cloud.add(run::byte_kind::adapters, static_cast<int64_t>(bytes->size()),
                   static_cast<int64_t>(bytes->size()) + dense_f32_extra(up));
      uploads.push_back(std::move(*bytes));
    }
  } else {
    for (auto& [k, a] : agg.clusters) {
      if (ctx.cfg.sketched_round(open.round)) {
        // Decoded here ([compress] sketch_decode; what it leaves goes up with the cloud upload): the clients
        // go on from dense adapters.
        try {
          const auto& start = st.cluster_adapters[k];
          a.adapters = fed::decode_update(fed::plan_sketch(ctx.cfg, start), start, st.sketch_error[k], a.adapters,
                                          fed::decoder::edge);
        } catch (const elsa::error& e) {
          record_error(self, ctx, who(self), open.round, run::run_error::internal, e.what());
          continue;
        }
      }
      // Heads of tasks none of this round's updates held stay as they were (heads per task, adapters.hpp).
      a.adapters = fed::overlay(st.cluster_adapters[k], a.adapters);
      st.cluster_adapters[k] = a.adapters;
      if (a.samples > 0)
        st.period_samples[k] = a.samples;
      load_into_slots(self, k, a.adapters);
      adapter_update up;
      up.round = open.round + 1;  // as the cloud's: the first edge round that uses them
      up.base_round = open.round;
      up.cluster_id = k;
      up.sample_count = a.samples;
      up.form = a.adapters;
      auto bytes = ctx.codec.encode(me(self), up);
      if (bytes)
        push_to_clients(self, k, *bytes, dense_f32_extra(up));
      else
        record_error(self, ctx, who(self), open.round, run::run_error::internal, bytes.error().message);
    }
  }

  static const char* reasons[] = {"complete", "quorum", "deadline", "aborted"};
  messages::close_round msg;
  msg.round = open.round;
  msg.reason = reason;
  msg.reported = static_cast<uint32_t>(st.updates.size());
  msg.expected = static_cast<uint32_t>(st.expected.size());
  auto bytes = ctx.codec.encode(me(self), msg);
  if (bytes)
    st.bytes_control += static_cast<int64_t>(bytes->size());
  else
    record_error(self, ctx, who(self), open.round, run::run_error::internal, bytes.error().message);
  run::edge_round_event ev;
  ev.round = open.round;
  ev.edge = st.id;
  ev.reason = reasons[static_cast<int>(reason)];
  ev.reported = st.updates.size();
  ev.expected = st.expected.size();
  ev.late = late;
  ev.missing = missing;
  ev.down.assign(st.down.begin(), st.down.end());
  ev.late_arrivals = st.late_arrivals;
  ev.sim_late = sim_late;
  if (flush) {
    ev.sim_flush_s = flush->plan.seconds;
    ev.waiting = st.buffered.waiting();
    for (auto c : aggregated_clients)  // (an upload the aggregation refused has no lag to show)
      if (flush->staleness.count(c))
        ev.staleness[c] = flush->staleness.at(c);
  }
  ev.aggregated = aggregated_clients;
  ev.stale_aggregated = stale_used;
  ev.bytes_down = st.sent_down.total();
  ev.bytes_cloud = st.sent_cloud.total();
  ev.to_clients = st.sent_down;
  ev.to_cloud = st.sent_cloud;
  ev.bytes_control = st.bytes_control;
  ev.trust = st.trust;
  // Digests of what came in and what came out, so a test or a reader can tell which updates an aggregate is.
  for (const auto& [c, u] : st.updates)
    ev.update_digests[c] = fmt::format("{:016x}", fed::digest(u.adapters));
  for (const auto& [k, a] : agg.clusters)
    ev.aggregate_digests[k] = fmt::format("{:016x}", fed::digest(a.adapters));
  ev.left_out = left_out;
  ev.peak_admitted = st.peak_admitted;
  // The event first, then the close, then the uploads: the recorder must see this edge's round before the
  // coordinator's close of it, and the coordinator this close before the cloud's next opening.
  record(self, ctx, ev);
  if (bytes)
    transmit(self, ctx, st.net, me(self), participant{tier::coordinator, 0}, st.peers.coordinator, open.round, *bytes);
  for (auto& up : uploads)
    transmit(self, ctx, st.net, me(self), participant{tier::cloud, 0}, st.peers.cloud, open.round, up);
  st.peak_admitted = 0;
  st.bytes_control = 0;
  st.updates.clear();
  st.late_arrivals.clear();
  st.sent_down = {};
  st.sent_cloud = {};
}

// Closes the round when every live expected client has reported.
void maybe_complete(edge_pointer self) {
  auto& st = self->state;
  if (!st.open)
    return;
  if (st.current->fingerprint && st.reclustered_round != static_cast<int64_t>(st.current->round))
    return;  // the coordinator's re-clustering of this round first (or the deadline)
  for (auto c : st.expected)
    if (!st.updates.count(c) && !st.down.count(c))
      return;
  close_current(self, close_reason::complete);
}

void on_deadline(edge_pointer self, uint32_t round) {
  auto& st = self->state;
  if (!st.open || round != current_round(self))
    return;
  std::size_t live = 0;
  for (auto c : st.expected)
    live += st.down.count(c) ? 0 : 1;
  const bool quorum = fed::quorum_met(st.updates.size(), live, st.ctx->cfg.quorum);
  close_current(self, quorum ? close_reason::quorum : close_reason::aborted);
}

// -- round control --

// Applies a placement: with `whole` (a round opening) `assignments` is this edge's whole client list and
// clients not in it leave; otherwise (an assignment update) it lists moved clients only.
void apply_placement(edge_pointer self, const std::vector<assignment>& assignments,
                     const std::vector<split_point>& splits, bool whole) {
  // (cluster, round tag) -> its adapters for newcomers (and moved clients), encoded once, and their dense_f32_extra
  std::map<std::pair<uint32_t, uint32_t>, std::pair<payload, int64_t>> encoded;
  auto& st = self->state;
  for (const auto& s : splits)
    st.splits[s.client_id] = s;
  if (whole) {
    std::set<uint32_t> listed;
    for (const auto& a : assignments)
      if (a.edge_id == st.id)
        listed.insert(a.client_id);
    for (auto it = st.clients.begin(); it != st.clients.end();)
      if (!listed.count(it->first)) {
        st.body->remove_client(it->first);
        forget_lazy(st, it->first);
        st.served.erase(it->first);
        it = st.clients.erase(it);
      } else {
        ++it;
      }
  }
  for (const auto& a : assignments) {
    if (a.edge_id != st.id) {
      if (st.clients.erase(a.client_id)) {
        st.body->remove_client(a.client_id);
        forget_lazy(st, a.client_id);
        st.served.erase(a.client_id);
      }
      continue;
    }
    const bool fresh = !st.clients.count(a.client_id);
    // A client re-clustered on this edge after the cloud's broadcast of the next round reached it (the usual
    // order, re-clustering first, has the broadcast bring it its new cluster's adapters): with sketched uploads
    // it must hold its new cluster's, the reference its next sketch is taken against here. Tagged like the
    // broadcast, so the client takes them over the old cluster's it got from it.
    const auto broadcast = st.global_round.find(a.cluster_id);
    const bool moved = !fresh && st.ctx->cfg.sketching() && st.clients[a.client_id].cluster_id != a.cluster_id
                       && broadcast != st.global_round.end() && broadcast->second > current_round(self);
    if (fresh)
      forget_lazy(st, a.client_id);  // a new slot holds nothing yet, whatever it held when last here
    st.clients[a.client_id] = a;
    const auto [head, tail] = split_of(st, a.client_id);
    try {
      // A re-split ([split] mode = "dynamic"): a block that moves into the slot takes the cluster's adapters,
      // which the client holds too, so it moves with its layer. A newcomer gets the whole set below.
      static const fed::adapter_set none;
      auto it = st.cluster_adapters.find(a.cluster_id);
      st.body->add_client(a.client_id, head, tail, !fresh && it != st.cluster_adapters.end() ? it->second : none);
    } catch (const elsa::error& e) {
      record_error(self, *st.ctx, who(self), current_round(self), run::run_error::out_of_range, e.what());
      continue;
    }
    if (fresh || moved) {
      auto handle = st.peers.clients.find(a.client_id);
      if (fresh && !st.monitored.count(a.client_id) && handle != st.peers.clients.end()) {
        self->monitor(handle->second);
        st.monitored.insert(a.client_id);
      }
      // A newcomer's slot (and the client itself) starts from this edge's adapters of its cluster: one
      // encoded message per cluster, shared by all its newcomers (not one copy each).
      // (With client sampling a newcomer gets them when it is drawn: send_adapters_to_drawn.)
      auto it = st.cluster_adapters.find(a.cluster_id);
      if (!lazy_adapters(self) && it != st.cluster_adapters.end() && !it->second.empty()
          && load_into_slot(self, a.client_id, it->second)) {
        const uint32_t tag = moved ? broadcast->second : current_round(self);
        auto enc = encoded.find({a.cluster_id, tag});
        if (enc == encoded.end()) {
          adapter_update up;
          up.round = tag;
          up.cluster_id = a.cluster_id;
          up.form = it->second;
          auto bytes = st.ctx->codec.encode(me(self), up);
          if (!bytes) {
            record_error(self, *st.ctx, who(self), current_round(self), run::run_error::internal,
                         bytes.error().message);
            continue;
          }
          enc = encoded.emplace(std::make_pair(a.cluster_id, tag), std::make_pair(std::move(*bytes), dense_f32_extra(up)))
                  .first;
        }
        send_to_client(self, a.client_id, enc->second.first, run::byte_kind::adapters, enc->second.second);
      }
    }
  }
}

void start_round(edge_pointer self, const open_round& open) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  const auto& failing = ctx.cfg.edge_failures;
  if (std::find(failing.begin(), failing.end(), static_cast<int64_t>(st.id)) != failing.end()
      && open.round == static_cast<uint32_t>(ctx.cfg.edge_failure_round)) {
    record_error(self, ctx, who(self), open.round, run::run_error::injected_fault,
                 "edge fails at the start of the round");
    self->quit(caf::exit_reason::user_shutdown);
    return;
  }
  if (st.open)
    close_current(self, close_reason::aborted);
  st.current = open;
  st.open = true;
  reset_admission(self);
  apply_placement(self, open.assignments, open.splits, true);
  st.expected.clear();
  for (const auto& [c, a] : st.clients)
    if (!st.down.count(c)
        && (!open.sampling || std::find(open.sampled.begin(), open.sampled.end(), c) != open.sampled.end())
        && !st.buffered.holds(c))
      st.expected.insert(c);  // (sampling: the others sit this round out, with no opening; async: so do those
                              // whose uploads wait for a flush)
  if (ctx.cfg.async_edges())
    st.buffered.opened(open.round, st.cluster_adapters);
  if (lazy_adapters(self))
    send_adapters_to_drawn(self);
  // Each client gets its own placement and split, not the whole edge's (bytes stay linear in clients).
  for (auto c : st.expected) {
    open_round mine = open;
    mine.assignments = {st.clients.at(c)};
    if (mine.sampling)
      mine.sampled = {c};
    mine.splits.clear();
    auto sp = st.splits.find(c);
    if (sp != st.splits.end())
      mine.splits.push_back(sp->second);
    auto bytes = ctx.codec.encode(me(self), mine);
    if (bytes)
      send_to_client(self, c, *bytes, run::byte_kind::control, 0);
    else
      record_error(self, ctx, who(self), open.round, run::run_error::internal, bytes.error().message);
  }
  if (open.sampling) {
    // A straggler of the last round that was not drawn for this one gets no opening of its own, so nothing would
    // stop its unfinished steps: it is told to sit this round out (its round ends; it takes no steps).
    for (auto c : st.unfinished) {
      if (st.expected.count(c) || !st.clients.count(c))
        continue;
      open_round off = open;
      off.assignments = {st.clients.at(c)};
      off.splits.clear();
      off.sampled.clear();
      if (auto bytes = ctx.codec.encode(me(self), off))
        send_to_client(self, c, *bytes, run::byte_kind::control, 0);
    }
  }
  self->delayed_send(self, std::chrono::milliseconds(open.deadline_ms), deadline_atom::value, open.round);
  maybe_complete(self);
}

void on_open_round(edge_pointer self, const open_round& open) {
  auto& st = self->state;
  // An opening of a round older than this edge's, or of the round it has open (delayed or duplicated on the
  // network): not a new round; ignored and recorded.
  const bool stale = st.current && (open.round < st.current->round || (st.open && open.round == st.current->round));
  const bool stashed = std::any_of(st.stashed.begin(), st.stashed.end(),
                                   [&open](const open_round& o) { return o.round >= open.round; });
  if (stale || stashed) {
    record_error(self, *st.ctx, who(self), open.round, run::run_error::refused, "stale_opening",
                 fmt::format("an opening of round {} after round {}'s; ignored", open.round,
                             stale ? st.current->round : open.round));
    return;
  }
  if (!ready_for(self, open.round)) {
    self->state.stashed.push_back(open);
    return;
  }
  start_round(self, open);
}

void run_stashed(edge_pointer self) {
  auto& st = self->state;
  while (!st.stashed.empty()) {
    if (!ready_for(self, st.stashed.front().round))
      return;
    auto open = std::move(st.stashed.front());
    st.stashed.erase(st.stashed.begin());
    // Only the newest of the openings that became ready runs: the older ones' rounds are over (their
    // adapters came late, or were lost on the network).
    if (!st.stashed.empty() && ready_for(self, st.stashed.front().round))
      continue;
    start_round(self, open);
  }
}

// -- adapters: from clients (updates) and from the cloud (global) --

void on_adapters(edge_pointer self, const incoming& msg, const adapter_update& up) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  const auto* dense = std::get_if<std::vector<named_tensor>>(&up.form);
  if (msg.sender.role == tier::cloud) {
    if (dense == nullptr) {
      record_error(self, ctx, who(self), up.round, run::run_error::refused, "sketch",
                   "a count-sketch update from the cloud; the global adapters come dense");
      return;
    }
    if (up.cluster_id >= ctx.clusters)
      return;
    const auto held = st.global_round.find(up.cluster_id);
    if (held != st.global_round.end() && up.round < held->second) {
      record_error(self, ctx, who(self), up.round, run::run_error::refused, "stale_adapters",
                   fmt::format("the cloud's adapters of cluster {} for round {} after those for round {}; ignored",
                               up.cluster_id, up.round, held->second));
      return;
    }
    if (!dense->empty()) {
      st.cluster_adapters[up.cluster_id] = *dense;
      st.global_adapters[up.cluster_id] = *dense;  // a sketched upload is the difference from these
      load_into_slots(self, up.cluster_id, *dense);
      // Passed on under this edge's envelope: a client takes adapters from its own edge only.
      auto mine = ctx.codec.encode(me(self), up);
      if (mine)
        push_to_clients(self, up.cluster_id, *mine, dense_f32_extra(up));
      else
        record_error(self, ctx, who(self), up.round, run::run_error::internal, mine.error().message);
    }
    st.global_round[up.cluster_id] = up.round;
    run_stashed(self);
    return;
  }
  if (msg.sender.role != tier::client) {
    record_error(self, ctx, who(self), up.round, run::run_error::refused, "wrong_sender",
                 std::string("adapter update from a ") + to_string(msg.sender.role));
    return;
  }
  const uint32_t c = msg.sender.id;
  release(self, c);  // its round is over
  if (!st.clients.count(c)) {
    record_error(self, ctx, who(self), up.round, run::run_error::refused, "not_assigned",
                 fmt::format("adapter update from client {}, which is not assigned to this edge", c));
    return;
  }
  const bool on_time = st.open && up.round == current_round(self) && st.expected.count(c);
  if (!on_time) {
    // A straggler: its round closed before its update arrived. It is alive, so it is waited for again.
    st.late_arrivals.push_back(c);
    readmit(self, c);
    if (ctx.cfg.stragglers_policy() != run::straggler_policy::staleness || up.round > current_round(self))
      return;  // recorded as late, not aggregated
  }
  // The whole set of round r: the client's head/tail part and its body slot as the round's last step left it
  // (a whole-model client's upload is the whole set; its slot holds nothing).
  static const fed::adapter_set nothing;
  auto& snaps = st.body_at_round_end[c];
  auto snap = snaps.find(up.round);
  if (!ctx.cfg.whole_model() && snap == snaps.end()) {
    record_error(self, ctx, who(self), up.round, run::run_error::rejected_update, "no_body_state",
                 fmt::format("client {}'s update of round {} has no body state of that round here", c, up.round));
    readmit(self, c);
    return;
  }
  fed::client_update cu{c, up.round, st.clients[c].cluster_id, up.sample_count, {}};
  if (ctx.cfg.sketching() && !on_time) {
    // A late update of a sketching run is not taken, dense or not: it started from older adapters than those
    // sketches of the round it would join are taken against (that would need the adapters of its round kept
    // per client).
    record_error(self, ctx, who(self), up.round, run::run_error::rejected_update, "too_stale",
                 fmt::format("client {}'s update of round {} is late; with sketched uploads an update is only "
                             "aggregated in its own round", c, up.round));
    return;
  }
  if (!ctx.cfg.sketched_round(up.round)) {
    if (dense == nullptr) {
      record_error(self, ctx, who(self), up.round, run::run_error::rejected_update, "sketch",
                   fmt::format("client {} sent a sketch; this round's uploads are dense ([compress] adapters, or "
                               "a fingerprint round)", c));
      return;
    }
    try {
      cu.adapters = fed::merge_disjoint(*dense, ctx.cfg.whole_model() ? nothing : snap->second);
    } catch (const elsa::error& e) {
      record_error(self, ctx, who(self), up.round, run::run_error::rejected_update, "wrong_names", e.what());
      return;
    }
  } else {
    // The client's update as a sketch with the body slot's part in the same table (sketches add), so it
    // aggregates as {heads, table} without being decoded (core/fed/sketched.hpp). Its reference is the
    // cluster's adapters as this edge last sent them.
    const auto& start = st.cluster_adapters[cu.cluster];
    try {
      if (start.empty())
        throw elsa::error(errc::invalid_argument, "this edge has no adapters of the cluster to sketch against");
      if (snap == snaps.end())  // (only a whole-model run has none, and it cannot sketch: run_config refuses it)
        throw elsa::error(errc::invalid_argument, "no body state of the round to add to the sketch");
      cu.adapters = fed::client_update_at_edge(fed::plan_sketch(ctx.cfg, start), up, snap->second, start);
    } catch (const elsa::error& e) {
      record_error(self, ctx, who(self), up.round, run::run_error::rejected_update, "sketch_mismatch",
                   fmt::format("client {}'s sketched update: {}", c, e.what()));
      return;
    }
  }
  if (on_time) {
    st.upload_sim_s[c] = up.sim_seconds;
    st.updates[c] = std::move(cu);
    maybe_complete(self);
  } else {
    st.stale.push_back(std::move(cu));
  }
}

// -- split forward / backward --

// [privacy] capture: an honest-but-curious edge keeps the first N training activations of the run's last
// edge round exactly as they arrived (core/attack/capture), for `elsa attack invert`. A capture that cannot
// be written is recorded once and capturing stops; training goes on.
void capture(edge_pointer self, const split_tensor& in) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  if (st.captured >= ctx.cfg.capture || static_cast<int64_t>(in.round) + 1 != ctx.cfg.rounds)
    return;
  attack::captured_batch b;
  b.edge = st.id;
  b.client = in.client_id;
  b.round = in.round;
  b.step = in.step;
  auto sp = st.splits.find(in.client_id);
  b.head_blocks = sp != st.splits.end() ? sp->second.head_blocks : ctx.cfg.head_blocks;
  b.wire_dtype = messages::to_string(in.tensor.type());
  b.activation = in.tensor;
  b.lengths = in.seq_lengths;
  try {
    attack::write_capture(attack::capture_dir(ctx.cfg.out_dir), b);
    ++st.captured;
  } catch (const elsa::error& e) {
    record_error(self, ctx, who(self), in.round, run::run_error::internal, e.what());
    st.captured = ctx.cfg.capture;
  }
}

caf::result<payload> serve_step(edge_pointer self, const payload& bytes, bool forward) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  auto msg = ctx.codec.decode<split_tensor>(bytes);
  if (!msg) {
    record_rejected(self, ctx, who(self), current_round(self), msg.error());
    return make_caf_error(msg.error());
  }
  const auto& in = msg->body;
  // The envelope must name the client the request is for, and the request must come from that client.
  const participant requester{tier::client, in.client_id};
  if (!(msg->sender == requester)) {
    record_error(self, ctx, who(self), in.round, run::run_error::refused, "forged_sender",
                 fmt::format("a step request for client {} in an envelope of {} {}", in.client_id,
                             to_string(msg->sender.role), msg->sender.id));
    return make_caf_error(errc::invalid_argument, "the request's sender is not the client it names");
  }
  if (!check_sender(self, ctx, st.peers, who(self), in.round, forward ? "forward" : "backward", requester))
    return make_caf_error(errc::invalid_argument, "the request's sender is not the client it names");
  if (st.clients.count(in.client_id))
    readmit(self, in.client_id);  // a silent client that asks for a step is alive
  // A two-part split's step is one forward request with the labels; the U-shape's never carries labels.
  const bool two_part = ctx.cfg.two_part();
  const bool shape_ok = forward ? (in.from == segment::head && in.role == tensor_role::activation
                                   && (in.probe || in.labels.empty() != two_part))
                                : (in.from == segment::tail && in.role == tensor_role::gradient && !in.probe && !two_part);
  if (!shape_ok || !st.clients.count(in.client_id) || st.down.count(in.client_id)) {
    const auto text = fmt::format("{} request from client {} is not a {} (or the client is not served here)",
                                  forward ? "forward" : "backward", in.client_id,
                                  forward ? "head activation" : "tail gradient");
    record_error(self, ctx, who(self), in.round, run::run_error::refused, "not_served", text);
    return make_caf_error(errc::invalid_argument, text);
  }
  split_tensor out;
  out.round = in.round;
  out.step = in.step;
  out.client_id = in.client_id;
  out.from = segment::body;
  out.role = forward && !two_part ? tensor_role::activation : tensor_role::gradient;
  out.probe = in.probe;
  try {
    // A probe batch (a fingerprint) runs the body without gradients and leaves the client's step alone.
    if (two_part && !in.probe) {
      auto step = st.body->train_step(in.client_id, in.tensor, in.seq_lengths, in.labels);
      out.tensor = std::move(step.head_grad);
      out.loss = static_cast<float>(step.loss);
    } else {
      out.tensor = in.probe ? st.body->probe_forward(in.client_id, in.tensor, in.seq_lengths)
                   : forward ? st.body->forward(in.client_id, in.tensor, in.seq_lengths)
                             : st.body->backward(in.client_id, in.tensor);
    }
  } catch (const elsa::error& e) {
    record_error(self, ctx, who(self), in.round, run::run_error::malformed_message, e.what());
    return make_caf_error(e.code(), e.what());
  }
  if (forward && !in.probe)
    capture(self, in);
  // A training step of the current round ends here (a backward; a two-part split's one forward).
  const bool step_of_round = (!forward || two_part) && !in.probe && st.current && in.round == st.current->round;
  if (step_of_round && st.open && in.tensor.shape().size() >= 2) {
    auto& done = st.served[in.client_id];  // its body work on the simulated clock
    if (done.steps.insert(in.step).second)
      done.positions += in.tensor.shape()[0] * in.tensor.shape()[1];
  }
  // The round's last step: keep the body as it is now for this client's update of the round.
  if (step_of_round && in.step + 1 == st.current->local_steps) {
    auto& snaps = st.body_at_round_end[in.client_id];
    snaps[in.round] = st.body->adapters(in.client_id);
    // A late update is aggregated only under the staleness policy, [faults] max_staleness rounds late at most.
    const std::size_t keep = ctx.cfg.stragglers_policy() == run::straggler_policy::staleness
                               ? static_cast<std::size_t>(ctx.cfg.max_staleness) + 1 : 1;
    while (snaps.size() > keep)
      snaps.erase(snaps.begin());
  }
  auto reply = ctx.codec.encode(me(self), out);
  if (!reply) {
    // (e.g. a two-part step whose loss diverged: the codec takes finite losses only)
    record_error(self, ctx, who(self), in.round, run::run_error::internal, reply.error().message);
    return make_caf_error(reply.error());
  }
  st.sent_down.add(out.role == tensor_role::activation ? run::byte_kind::activations : run::byte_kind::gradients, static_cast<int64_t>(reply->size()),
              static_cast<int64_t>(reply->size()) + dense_f32_extra(out));
  return std::move(*reply);
}

// A step request that came with its checksum (reliable delivery): refused as damaged on the way
// (errc::damaged: the client sends it again) when its bytes do not match, otherwise served.
caf::result<payload> serve_checked_step(edge_pointer self, const payload& bytes, uint64_t sum, bool forward) {
  if (run::checksum(bytes.data(), bytes.size()) != sum) {
    const auto text = fmt::format("a {} request ({} bytes) does not match its checksum: damaged on the way",
                                  forward ? "forward" : "backward", bytes.size());
    record_error(self, *self->state.ctx, who(self), current_round(self), run::run_error::malformed_message,
                 "checksum", text);
    return make_caf_error(errc::damaged, text);
  }
  return serve_step(self, bytes, forward);
}

// -- coordination --

void on_trust(edge_pointer self, const trust_update& up) {
  auto& st = self->state;
  for (const auto& s : up.scores) {
    st.trust[s.client_id] = s.score;
    if (s.excluded)
      st.excluded.insert(s.client_id);
    else
      st.excluded.erase(s.client_id);
  }
}

void on_assignment(edge_pointer self, const assignment_update& up) {
  apply_placement(self, up.assignments, {}, false);
  if (up.reason == assignment_reason::recluster) {
    auto& st = self->state;
    st.reclustered_round = up.round;
    maybe_complete(self);
  }
}

// The coordinator's peer table: the cloud, and every client with what it registered.
void on_peer_table(edge_pointer self, const incoming& in, const peer_table& table) {
  auto& st = self->state;
  for (std::size_t i = 0; i < table.peers.size(); ++i) {
    const auto& p = table.peers[i];
    if (p.who.role == tier::coordinator)
      continue;  // known from the wiring; the table does not move it
    st.peers.add(p.who, (*in.peer_handles)[i]);
    if (p.who.role == tier::client)
      st.registered_samples[p.who.id] = p.samples;
  }
  st.peers.complete = true;
}

// -- heartbeats --

// The measurement is over (every client answered, or its timeout): the reply to the coordinator's ping
// carries the RTT of every client that answered.
void reply_links(edge_pointer self) {
  auto& st = self->state;
  if (!st.measuring)
    return;
  st.measuring = false;
  auto reply = answer(self, st.asked, static_cast<uint32_t>(st.admission_queue.size()));
  reply.links = std::move(st.links);
  st.links.clear();
  st.ping_pending.clear();
  auto bytes = st.ctx->codec.encode(me(self), reply);
  if (!bytes) {
    record_error(self, *st.ctx, who(self), current_round(self), run::run_error::internal, bytes.error().message);
    return;
  }
  transmit(self, *st.ctx, st.net, me(self), participant{tier::coordinator, 0}, st.peers.coordinator,
           current_round(self), *bytes);
}

// The coordinator's ping: ping every client (this edge's and the others', so the coordinator can place them),
// answer once all have answered or after [elsa] heartbeat_timeout_ms.
void on_coordinator_ping(edge_pointer self, const heartbeat& ping) {
  auto& st = self->state;
  st.measuring = true;
  st.asked = ping;
  st.links.clear();
  st.ping_pending.clear();
  heartbeat mine;
  mine.seq = ping.seq;
  mine.sent_ns = clock_ns(self);
  mine.queue_length = static_cast<uint32_t>(st.admission_queue.size());
  auto bytes = st.ctx->codec.encode(me(self), mine);
  if (!bytes) {
    record_error(self, *st.ctx, who(self), current_round(self), run::run_error::internal, bytes.error().message);
    reply_links(self);
    return;
  }
  for (const auto& [c, handle] : st.peers.clients)
    if (!st.down.count(c)) {
      st.ping_pending.insert(c);
      transmit(self, *st.ctx, st.net, me(self), participant{tier::client, c}, handle, current_round(self), *bytes,
               std::chrono::microseconds{0}, sending::best_effort);  // a resend would measure the wait
    }
  if (st.ping_pending.empty()) {
    reply_links(self);
    return;
  }
  self->delayed_send(self, std::chrono::milliseconds(st.ctx->cfg.heartbeat_timeout_ms), deadline_atom::value,
                     heartbeat_timer(ping.seq));
}

void on_heartbeat(edge_pointer self, const incoming& in, const heartbeat& m) {
  auto& st = self->state;
  if (in.sender.role == tier::coordinator && !m.is_reply) {
    on_coordinator_ping(self, m);
    return;
  }
  if (in.sender.role != tier::client || !m.is_reply) {
    refuse_kind(self, *st.ctx, who(self), current_round(self), message_kind::heartbeat, in.sender);
    return;
  }
  // A client's answer: late ones (after the timeout, or to an earlier ping) are not this measurement's.
  if (!st.measuring || m.seq != st.asked.seq || !st.ping_pending.erase(in.sender.id))
    return;
  st.links.push_back({in.sender.id, std::max(0.0, rtt_ms(self, m))});
  if (st.ping_pending.empty())
    reply_links(self);
}

// One dispatch: every one-way message, decoded once (actors/dispatch.hpp).
void on_message(edge_pointer self, const payload& bytes, const handles* peer_handles) {
  auto& st = self->state;
  // Rounds, trust and placements are the coordinator's to send (the codec would let the cloud send them).
  auto from_coordinator = [&](const incoming& in, message_kind kind) {
    return from_role(self, *st.ctx, who(self), current_round(self), in, kind, tier::coordinator);
  };
  dispatch(self, *st.ctx, st.peers, who(self), current_round(self), bytes, peer_handles, {false, nullptr, &st.early},
           overloaded{
             [&](const incoming& in, const open_round& m) {
               if (from_coordinator(in, message_kind::open_round))
                 on_open_round(self, m);
             },
             [&](const incoming& in, const adapter_update& m) { on_adapters(self, in, m); },
             [&](const incoming& in, const trust_update& m) {
               if (from_coordinator(in, message_kind::trust_update))
                 on_trust(self, m);
             },
             [&](const incoming& in, const assignment_update& m) {
               if (from_coordinator(in, message_kind::assignment_update))
                 on_assignment(self, m);
             },
             [&](const incoming& in, const peer_table& m) { on_peer_table(self, in, m); },
             [&](const incoming& in, const heartbeat& m) { on_heartbeat(self, in, m); },
             [&](const incoming& in, const auto& m) {
               refuse_kind(self, *st.ctx, who(self), current_round(self), kind_of<std::decay_t<decltype(m)>>,
                           in.sender);
             },
           });
  if (st.peers.complete && !st.early.empty())
    replay_early(self, st.early, [&](const payload& held) { on_message(self, held, nullptr); });
}

} // namespace

edge_actor::behavior_type edge_server(edge_pointer self, context_ptr ctx, std::shared_ptr<fed::edge_body> body,
                                      uint32_t id, coordinator_actor coordinator) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.body = std::move(body);
  st.id = id;
  st.peers.add({tier::coordinator, 0}, caf::actor_cast<caf::actor>(coordinator));
  register_with(self, *st.ctx, who(self), me(self), coordinator, registration{});
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& st = self->state;
    const auto gone = st.peers.who(dm.source);
    if (!gone || gone->role != tier::client || !st.clients.count(gone->id) || st.ctx->shutting_down)
      return;
    const uint32_t c = gone->id;
    st.down.insert(c);
    st.body->abandon_step(c);
    release(self, c);
    maybe_complete(self);
  });
  return {
    // -- requests: split forward / backward, step admission --
    [self](forward_atom, const payload& bytes) -> caf::result<payload> { return serve_step(self, bytes, true); },
    [self](backward_atom, const payload& bytes) -> caf::result<payload> { return serve_step(self, bytes, false); },
    [self](forward_atom, const payload& bytes, uint64_t sum) -> caf::result<payload> {
      return serve_checked_step(self, bytes, sum, true);
    },
    [self](backward_atom, const payload& bytes, uint64_t sum) -> caf::result<payload> {
      return serve_checked_step(self, bytes, sum, false);
    },
    [self](admit_atom, uint32_t client) -> caf::result<bool> { return on_admit(self, client); },
    // -- every one-way message --
    [self](deliver_atom, const payload& bytes) { on_message(self, bytes, nullptr); },
    [self](deliver_atom, const payload& bytes, const handles& peer_handles) { on_message(self, bytes, &peer_handles); },
    // -- reliable delivery (actors/transmit.hpp) --
    [self](deliver_atom, const payload& bytes, uint64_t id, uint64_t sum) {
      receive(self, *self->state.ctx, self->state.net, who(self), me(self), current_round(self), bytes, id, sum,
              [self](const payload& b) { on_message(self, b, nullptr); });
    },
    [self](ack_atom, uint64_t id) { on_ack(self, self->state.net, id); },
    [self](resend_atom, uint64_t token) {
      on_resend(self, *self->state.ctx, self->state.net, token, current_round(self));
    },
    // -- its own timer --
    [self](deadline_atom, uint32_t round) {
      auto& st = self->state;
      if (!check_own_timer(self, *st.ctx, st.peers, who(self), round, "deadline"))
        return;
      if (is_heartbeat_timer(round)) {
        if (st.measuring && heartbeat_timer_of(round, st.asked.seq))
          reply_links(self);
      } else {
        on_deadline(self, round);
      }
    },
  };
}

} // namespace elsa::actors
