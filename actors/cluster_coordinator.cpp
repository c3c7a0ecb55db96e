// The cluster-coordinator role's protocol (see cluster_coordinator.hpp).
#include "actors/cluster_coordinator.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>

#include <fmt/format.h>

#include "actors/dispatch.hpp"
#include "actors/heartbeat.hpp"
#include "actors/transmit.hpp"
#include "core/errors.hpp"
#include "core/fed/aggregation.hpp"
#include "core/fed/behaviour.hpp"
#include "core/fed/placement.hpp"
#include "core/fed/sampling.hpp"
#include "core/fed/split_plan.hpp"

namespace elsa::actors {

namespace {

using namespace messages;

const participant me{tier::coordinator, 0};
const std::string who = "coordinator";
// The deadline timer's "round" for the registration deadline.
constexpr uint32_t registration_timer = std::numeric_limits<uint32_t>::max();

// Ids in 0..n-1 missing from `have`, as "0, 3, 5" (at most 10 named).
template <class Map>
std::string missing_ids(const Map& have, int64_t n) {
  std::string out;
  int named = 0, left = 0;
  for (int64_t i = 0; i < n; ++i)
    if (!have.count(static_cast<uint32_t>(i))) {
      if (named < 10)
        out += (named++ ? ", " : "") + std::to_string(i);
      else
        ++left;
    }
  if (left > 0)
    out += fmt::format(" and {} more", left);
  return out.empty() ? "none" : out;
}

// Sends `bytes` to participant `to` through `handle` (actors/transmit.hpp), counted in `counter`; `round`
// (default: the current edge round) is the round the message belongs to, for [faults] partition windows.
template <class Handle>
void send_counted(coordinator_pointer self, const participant& to, const Handle& handle, const payload& bytes,
                  int64_t& counter, std::optional<uint32_t> round = std::nullopt) {
  counter += static_cast<int64_t>(bytes.size());
  transmit(self, *self->state.ctx, self->state.net, me, to, handle, round.value_or(self->state.round),
           bytes);
}

// Sends `table` with the handles of its entries.
template <class Handle>
void send_table(coordinator_pointer self, const Handle& to, const peer_table& table) {
  auto& st = self->state;
  auto bytes = st.ctx->codec.encode(me, table);
  if (!bytes) {
    record_error(self, *st.ctx, who, 0, run::run_error::internal, bytes.error().message);
    return;
  }
  handles hs;
  for (const auto& e : table.peers) {
    switch (e.who.role) {
      case tier::client:
        hs.push_back(caf::actor_cast<caf::actor>(st.peers.clients.at(e.who.id)));
        break;
      case tier::edge:
        hs.push_back(caf::actor_cast<caf::actor>(st.peers.edges.at(e.who.id)));
        break;
      case tier::coordinator:
        hs.push_back(caf::actor_cast<caf::actor>(self));
        break;
      case tier::cloud:
        hs.push_back(caf::actor_cast<caf::actor>(st.peers.cloud));
        break;
    }
  }
  st.bytes_registration += static_cast<int64_t>(bytes->size());
  self->send(to, deliver_atom::value, std::move(*bytes), std::move(hs));
}

// Trust to every live edge (exclusions only when trust weighting is on: off, trust is recorded, not used);
// its bytes are added to `bytes`.
void send_trust(coordinator_pointer self, uint32_t round, const std::set<uint32_t>& excluded, int64_t* bytes = nullptr) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  trust_update tu;
  tu.round = round;
  for (const auto& [c, t] : st.trust)
    tu.scores.push_back({c, t, ctx.cfg.trust_weighting && excluded.count(c) > 0});
  auto enc = ctx.codec.encode(me, tu);
  if (!enc) {
    record_error(self, ctx, who, round, run::run_error::internal, enc.error().message);
    return;
  }
  int64_t sent = 0;
  for (auto e : st.live_edges)
    send_counted(self, participant{tier::edge, e}, st.peers.edges.at(e), *enc, sent);
  if (bytes != nullptr)
    *bytes += sent;
  else
    st.bytes_control += sent;
}

// A resumed run: clusters, trust, placement and split points as the checkpoint kept them (a client whose edge
// did not come back keeps the placement registration gave it).
void restore(coordinator_pointer self, const run::coordinator_checkpoint& c) {
  auto& st = self->state;
  for (const auto& [client, k] : c.cluster_of)
    if (st.cluster_of.count(client) && k < st.ctx->clusters)
      st.cluster_of[client] = k;
  st.trust = c.trust;
  st.last_fingerprints = c.last_fingerprints;
  st.reclustered_round = c.reclustered_round;
  for (auto& a : st.assignments) {
    const auto it = std::find_if(c.assignments.begin(), c.assignments.end(),
                                 [&a](const assignment& x) { return x.client_id == a.client_id; });
    if (it != c.assignments.end() && st.peers.edges.count(it->edge_id))
      a.edge_id = it->edge_id;
    a.cluster_id = st.cluster_of.at(a.client_id);
  }
  for (auto& sp : st.splits) {
    const auto it = std::find_if(c.splits.begin(), c.splits.end(),
                                 [&sp](const split_point& x) { return x.client_id == sp.client_id; });
    if (it != c.splits.end())
      sp = *it;
  }
  st.rtt.ms = c.rtt_ms;
  st.placed = c.placed;
}

// The end of a cloud round (the cloud's opening of the next): the coordinator's part of the checkpoint, to the
// cloud, which persists it beside its own (core/run/checkpoint.hpp).
void send_checkpoint(coordinator_pointer self, uint32_t cloud_rounds) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  if (st.resume && st.resume->cloud_rounds == cloud_rounds)
    return;  // the one this run resumed from
  run::coordinator_checkpoint c;
  c.cloud_rounds = cloud_rounds;
  c.cluster_of = st.cluster_of;
  c.trust = st.trust;
  c.last_fingerprints = st.last_fingerprints;
  c.reclustered_round = st.reclustered_round;
  c.assignments = st.assignments;
  c.splits = st.splits;
  c.rtt_ms = st.rtt.ms;
  c.placed = st.placed;
  const auto bytes = run::checkpoint_bytes(c, ctx.cfg);
  self->send(st.peers.cloud, checkpoint_atom::value,
             payload::copy_of(bytes.data(), bytes.size()));
}

void complete_registration(coordinator_pointer self);

// Every client and edge registered and the cloud answered: registration is complete.
void maybe_complete_registration(coordinator_pointer self) {
  auto& st = self->state;
  if (!st.peers.complete && st.cloud_answered && static_cast<int64_t>(st.peers.clients.size()) == st.ctx->cfg.clients
      && static_cast<int64_t>(st.peers.edges.size()) == st.ctx->cfg.edges)
    complete_registration(self);
}

// The cloud's answer to the registration: the checkpoint a resumed run starts from, or nothing.
void on_resume_answer(coordinator_pointer self, const payload& bytes) {
  auto& st = self->state;
  if (caf::actor_cast<caf::actor_addr>(self->current_sender()) != st.peers.cloud.address() || st.cloud_answered) {
    record_error(self, *st.ctx, who, 0, run::run_error::refused, "forged_sender",
                 "a checkpoint from another actor than the cloud, or a second one");
    return;
  }
  st.cloud_answered = true;
  if (!bytes.empty()) {
    try {
      st.resume = run::coordinator_checkpoint_from_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                                         "from the cloud", st.ctx->cfg);
    } catch (const elsa::error& e) {
      // The cloud restored its part already: going on as a fresh run would pair its adapters with the wrong
      // clusters. The run ends with this line.
      record_error(self, *st.ctx, who, 0, run::run_error::not_registered, "checkpoint",
                   std::string("the coordinator cannot take the cloud's checkpoint: ") + e.what());
      return;
    }
  }
  maybe_complete_registration(self);
}

// Everyone registered: place the clients (core/fed/placement), give every participant its peer table and
// watch the edges.
void complete_registration(coordinator_pointer self) {
  auto& st = self->state;
  const auto& cfg = st.ctx->cfg;
  st.peers.complete = true;
  // A client registers the task of its head; under clustering = "task" that is its cluster, otherwise every
  // client starts in cluster 0 (behaviour clustering moves them after the first fingerprinting).
  for (const auto& [c, entry] : st.peers.registered)
    st.cluster_of[c] = fed::starting_cluster(cfg, entry.cluster_id);
  st.assignments = fed::initial_placement(st.cluster_of, static_cast<uint32_t>(cfg.edges));
  st.rtt.clients = static_cast<uint32_t>(cfg.clients);
  st.rtt.edges = static_cast<uint32_t>(cfg.edges);
  st.rtt.ms.assign(static_cast<std::size_t>(cfg.clients * cfg.edges), NAN);
  for (const auto& a : st.assignments)
    st.splits.push_back(
      {a.client_id, static_cast<uint32_t>(cfg.head_blocks), static_cast<uint32_t>(cfg.client_tail_blocks())});
  // (Under [split] mode = "dynamic" every edge round's opening re-plans them.)
  const bool resumed = st.resume.has_value();
  if (resumed)
    restore(self, *st.resume);
  peer_table edge_list, for_edges, for_cloud;
  for (const auto& [e, handle] : st.peers.edges)
    edge_list.peers.push_back({{tier::edge, e}, 0, 0});
  // The cloud gets the clients too, with the task of each one's head: it scores each task with the cluster
  // most of that task's clients are in.
  for_cloud = edge_list;
  for (const auto& [c, entry] : st.peers.registered)
    for_cloud.peers.push_back(entry);
  for_edges.peers.push_back({{tier::cloud, 0}, 0, 0});
  for (const auto& [c, entry] : st.peers.registered)
    for_edges.peers.push_back(entry);
  run::registered_event ev;
  ev.clients = st.peers.clients.size();
  ev.edges = st.peers.edges.size();
  ev.bytes_control = st.bytes_registration;
  record(self, *st.ctx, ev);
  // Edges and clients first, the cloud last: the cloud begins (and broadcasts to the edges) once it has its
  // table, and an edge must know the cloud by then. (Across processes that order does not hold on arrival:
  // an edge or client holds what overtakes its table; actors/dispatch.hpp.)
  for (const auto& [e, handle] : st.peers.edges) {
    send_table(self, handle, for_edges);
    st.live_edges.insert(e);
    self->monitor(handle);
  }
  if (resumed) {
    // The trust the checkpoint kept, before any round opens (under tau_min: left out, as after a clustering).
    std::set<uint32_t> excluded;
    for (const auto& [c, t] : st.trust)
      if (t < cfg.tau_min)
        excluded.insert(c);
    send_trust(self, 0, excluded);
  }
  for (const auto& [c, handle] : st.peers.clients) {
    send_table(self, handle, edge_list);
    // Its placement from the start, so it takes openings and adapters from that edge only; in a resumed run
    // tagged with the edge round the run resumes at (the client goes on through its data from there).
    const auto from = resumed ? st.resume->cloud_rounds * static_cast<uint32_t>(cfg.kappa2) : 0u;
    assignment_update initial{from, assignment_reason::initial, {st.assignments.at(c)}};
    if (auto bytes = st.ctx->codec.encode(me, initial)) {  // set-up: sent as it is, like the peer table
      st.bytes_registration += static_cast<int64_t>(bytes->size());
      self->send(handle, deliver_atom::value, *bytes);
    }
  }
  send_table(self, st.peers.cloud, for_cloud);
}

void on_registration(coordinator_pointer self, const incoming& in, const registration& reg) {
  auto& st = self->state;
  const auto& p = in.sender;
  const auto from = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto refuse = [&](const char* detail, const std::string& text) {
    record_error(self, *st.ctx, who, 0, run::run_error::refused, detail, text);
  };
  if (p.role != tier::client && p.role != tier::edge) {
    refuse("wrong_sender", fmt::format("a registration from the {}: only clients and edges register here",
                                       to_string(p.role)));
    return;
  }
  if (!from) {
    refuse("forged_sender", fmt::format("an anonymous registration as {} {}", to_string(p.role), p.id));
    return;
  }
  if (auto known = st.peers.who(from)) {
    if (!(*known == p))
      refuse("forged_sender", fmt::format("{} {} registered again as {} {}", to_string(known->role), known->id,
                                          to_string(p.role), p.id));
    return;  // a repeated registration changes nothing
  }
  const bool taken = p.role == tier::client ? st.peers.clients.count(p.id) > 0 : st.peers.edges.count(p.id) > 0;
  if (taken || st.peers.complete) {
    refuse("registration_closed",
           fmt::format("{} {} registered {}", to_string(p.role), p.id,
                       taken ? "from a second actor" : "after registration was complete"));
    return;
  }
  st.bytes_registration += static_cast<int64_t>(in.bytes.size());
  st.peers.add(p, caf::actor_cast<caf::actor>(self->current_sender()));
  if (p.role == tier::client)
    st.peers.registered[p.id] = peer_entry{p, reg.samples, reg.cluster_id};
  maybe_complete_registration(self);
}

void open_edge_round(coordinator_pointer self, uint32_t round) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  st.round = round;
  st.closed.clear();
  st.fingerprints.clear();  // a fingerprint round counts its own fingerprints only
  // [topology] clients_per_round: a seeded draw among the clients of the live edges (core/fed/sampling).
  st.sampled.reset();
  if (ctx.cfg.sampled_per_round() > 0) {
    std::vector<uint32_t> candidates;
    for (const auto& a : st.assignments)
      if (st.live_edges.count(a.edge_id))
        candidates.push_back(a.client_id);
    const auto drawn = fed::sample_clients(std::move(candidates), ctx.cfg.sampled_per_round(), ctx.cfg.seed, round);
    st.sampled = std::set<uint32_t>(drawn.begin(), drawn.end());
  }
  if (ctx.cfg.dynamic_split()) {
    // Re-planned every edge round, so a profile change or a move to another edge takes effect at once.
    try {
      // With sampling, planned for the clients that take part (the others' split points stay as they were).
      std::vector<assignment> taking_part;
      for (const auto& a : st.assignments)
        if (!st.sampled || st.sampled->count(a.client_id))
          taking_part.push_back(a);
      for (const auto& p : fed::plan_splits(ctx.cfg, ctx.shape, taking_part, round))
        st.splits.at(p.client_id) = p;  // st.splits is by client id
    } catch (const elsa::error& e) {
      record_error(self, ctx, who, round, run::run_error::internal, e.what());  // the last plan stays
    }
  }
  // One opening per edge, with that edge's clients only: the opening bytes grow with the clients, not
  // with their square.
  for (auto e : st.live_edges) {
    open_round open;
    open.round = round;
    open.local_steps = static_cast<uint32_t>(ctx.cfg.kappa1);
    open.deadline_ms = static_cast<uint64_t>(ctx.cfg.round_deadline_ms);
    open.cloud_round = round == st.last_round;
    open.fingerprint = ctx.cfg.fingerprint_round(round);
    for (const auto& a : st.assignments)
      if (a.edge_id == e) {
        open.assignments.push_back(a);
        open.splits.push_back(st.splits.at(a.client_id));
        if (st.sampled && st.sampled->count(a.client_id))
          open.sampled.push_back(a.client_id);
      }
    open.sampling = st.sampled.has_value();
    auto bytes = ctx.codec.encode(me, open);
    if (!bytes) {
      record_error(self, ctx, who, round, run::run_error::internal, bytes.error().message);
      continue;
    }
    send_counted(self, participant{tier::edge, e}, st.peers.edges.at(e), *bytes, st.bytes_control);
  }
  // Edges close on their own deadline; this one only guards against an edge that never answers.
  self->delayed_send(self, std::chrono::milliseconds(2 * ctx.cfg.round_deadline_ms + 1000), deadline_atom::value,
                     round);
}

// Records that edge round st.round is closed (with the edges that closed it).
void record_closed(coordinator_pointer self) {
  auto& st = self->state;
  run::round_closed_event ev;
  ev.round = st.round;
  ev.cloud_round = st.round == st.last_round;
  ev.edges = st.closed.size();
  ev.bytes_control = st.bytes_control;
  if (st.sampled)
    ev.sampled = std::vector<uint32_t>(st.sampled->begin(), st.sampled->end());
  // When it closed, on the process's steady clock: the recorder may see events late (one CAF thread).
  ev.at_s = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  timespec cpu{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  ev.cpu_s = static_cast<double>(cpu.tv_sec) + 1e-9 * static_cast<double>(cpu.tv_nsec);
  record(self, *st.ctx, ev);
  st.bytes_control = 0;
}

// The fingerprint round closed: re-cluster and update trust (core/fed/behaviour), then tell the edges (trust,
// then their clients' placements) and the cloud (every placement; it waits for them before the next cloud
// round). Sent even when nothing changed, so the cloud never waits in vain.
void recluster_clients(coordinator_pointer self, bool after_close) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  st.reclustered_round = st.round;
  const auto started = std::chrono::steady_clock::now();
  fed::reclustering out;
  try {
    out = fed::recluster(st.fingerprints, st.last_fingerprints, st.cluster_of, st.trust, ctx.cfg, ctx.clusters);
  } catch (const std::exception& e) {
    record_error(self, ctx, who, st.round, run::run_error::internal, std::string("re-clustering: ") + e.what());
    out = fed::reclustering{};
    out.clusters = st.cluster_of;
    out.trust = st.trust;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const auto& text : out.rejected)
    record_error(self, ctx, who, st.round, run::run_error::malformed_message, "fingerprint", text);
  run::clustering_event ev;
  ev.round = st.round;
  ev.fingerprints = st.fingerprints.size();
  for (auto& [c, fp] : st.fingerprints)
    st.last_fingerprints[c] = std::move(fp);
  st.fingerprints.clear();
  st.cluster_of = out.clusters;
  st.trust = out.trust;
  for (auto& a : st.assignments)
    a.cluster_id = st.cluster_of.at(a.client_id);

  int64_t bytes = 0;
  send_trust(self, st.round, out.excluded, &bytes);
  auto encoded = [&](const auto& msg) {
    auto enc = ctx.codec.encode(me, msg);
    if (!enc)
      record_error(self, ctx, who, st.round, run::run_error::internal, enc.error().message);
    return enc;
  };
  for (auto e : st.live_edges) {
    assignment_update mine{st.round, assignment_reason::recluster, {}, after_close};
    for (const auto& a : st.assignments)
      if (a.edge_id == e)
        mine.assignments.push_back(a);
    if (auto enc = encoded(mine))
      send_counted(self, participant{tier::edge, e}, st.peers.edges.at(e), *enc, bytes);
  }
  // The cloud waits for this before its next cloud round: sent even if encoding the others failed.
  assignment_update all{st.round, assignment_reason::recluster, st.assignments, after_close};
  if (auto enc = encoded(all))
    send_counted(self, participant{tier::cloud, 0}, st.peers.cloud, *enc, bytes);

  ev.k = out.k;
  ev.silhouette = out.silhouette;
  ev.clusters = st.cluster_of;
  ev.medoids = out.medoids;
  ev.consistency = out.consistency;
  ev.trust = st.trust;
  ev.excluded.assign(out.excluded.begin(), out.excluded.end());
  ev.bytes_control = bytes;
  ev.seconds = seconds;
  st.bytes_control += bytes;
  record(self, ctx, ev);
}

void round_done(coordinator_pointer self) {
  auto& st = self->state;
  if (st.ctx->cfg.fingerprint_round(st.round) && st.reclustered_round != static_cast<int64_t>(st.round))
    recluster_clients(self, true);  // some fingerprints never came: cluster on those that did
  record_closed(self);
  if (st.round < st.last_round)
    open_edge_round(self, st.round + 1);
  else
    st.running = false;  // the cloud opens the next cloud round after aggregating
}

// The live edges not in `have` (the edges that closed the round, or that replied to a measurement).
std::set<uint32_t> live_edges_missing(const coordinator_state& st, const std::set<uint32_t>& have) {
  std::set<uint32_t> out;
  for (auto e : st.live_edges)
    if (!have.count(e))
      out.insert(e);
  return out;
}

bool all_live_edges_in(const coordinator_state& st, const std::set<uint32_t>& have) {
  return live_edges_missing(st, have).empty();
}

void maybe_done(coordinator_pointer self) {
  auto& st = self->state;
  if (st.running && all_live_edges_in(st, st.closed))
    round_done(self);
}

// -- latency-aware placement --

// Every live edge has replied to the measurement (or its guard fired): place the clients on what was
// measured (core/fed/placement), tell each moved client, record the placement, open the held cloud round.
void finish_measurement(coordinator_pointer self) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  const auto& cfg = ctx.cfg;
  if (!st.held)
    return;
  const auto open = std::move(*st.held);
  st.held.reset();
  const auto capacity = fed::edge_capacities(cfg.edge_capacity, st.rtt.clients, st.rtt.edges, st.live_edges);
  run::placement_event ev;
  ev.round = open.round;
  ev.policy = cfg.assignment;
  ev.reason = st.placed ? "stragglers" : "measured";
  auto placed = fed::place_measured(st.assignments, st.rtt, capacity, cfg.assignment, st.placed, cfg.rtt_deadline_ms);
  if (!placed.problem.empty())
    record_error(self, ctx, who, open.round, run::run_error::internal, "placement: " + placed.problem);
  st.assignments = std::move(placed.placement);
  st.placed = placed.placed;
  for (const auto& a : st.assignments)
    ev.assignment[a.client_id] = a.edge_id;
  ev.moved = placed.moved;
  for (auto c : placed.moved) {
    // Its edge learns it from the round's opening; the client now, before that opening reaches it.
    assignment_update mine{open.round, assignment_reason::latency, {st.assignments.at(c)}};
    if (auto bytes = ctx.codec.encode(me, mine))
      send_counted(self, participant{tier::client, c}, st.peers.clients.at(c), *bytes, ev.bytes_control, open.round);
  }
  for (uint32_t c = 0; c < st.rtt.clients; ++c)
    for (uint32_t e = 0; e < st.rtt.edges; ++e)
      ev.rtt_ms[c].push_back(st.rtt(c, e));
  ev.latency_total_ms = placed.latency.total_ms;
  ev.latency_max_ms = placed.latency.max_ms;
  ev.unmeasured = placed.latency.unmeasured;
  ev.reports = st.measured.size();
  st.bytes_control += ev.bytes_control;
  record(self, ctx, ev);
  st.running = true;
  open_edge_round(self, open.round);
}

void maybe_measured(coordinator_pointer self) {
  auto& st = self->state;
  if (st.held && all_live_edges_in(st, st.measured))
    finish_measurement(self);
}

// Asks every live edge to measure its RTT to every client (a ping; the edge replies with its links); the
// cloud's opening `open` waits for the replies.
void measure_then_open(coordinator_pointer self, const open_round& open) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  st.held = open;
  st.measured.clear();
  ++st.heartbeat_seq;
  heartbeat ping;
  ping.seq = st.heartbeat_seq;
  ping.sent_ns = clock_ns(self);
  auto bytes = ctx.codec.encode(me, ping);
  if (!bytes) {
    record_error(self, ctx, who, open.round, run::run_error::internal, bytes.error().message);
    finish_measurement(self);
    return;
  }
  for (auto e : st.live_edges)
    send_counted(self, participant{tier::edge, e}, st.peers.edges.at(e), *bytes, st.bytes_control, open.round);
  // An edge replies by its own timeout at the latest; this guards against one that never does.
  self->delayed_send(self, std::chrono::milliseconds(measurement_guard_ms(ctx.cfg)), deadline_atom::value,
                     heartbeat_timer(st.heartbeat_seq));
}

// An edge's reply: its RTT to every client that answered (the others are unmeasured now).
void on_heartbeat(coordinator_pointer self, const incoming& in, const heartbeat& m) {
  auto& st = self->state;
  if (in.sender.role != tier::edge || !m.is_reply) {
    refuse_kind(self, *st.ctx, who, st.round, message_kind::heartbeat, in.sender);
    return;
  }
  const uint32_t e = in.sender.id;
  if (!st.held || m.seq != st.heartbeat_seq)
    return;  // a reply to an earlier measurement
  if (e >= st.rtt.edges) {
    record_error(self, *st.ctx, who, st.round, run::run_error::refused, "unknown_edge",
                 fmt::format("a heartbeat reply from edge {}, but the run has {} edges", e, st.rtt.edges));
    return;
  }
  for (uint32_t c = 0; c < st.rtt.clients; ++c)
    st.rtt(c, e) = NAN;
  for (const auto& l : m.links) {
    if (l.client_id < st.rtt.clients)
      st.rtt(l.client_id, e) = l.rtt_ms;
    else
      record_error(self, *st.ctx, who, st.round, run::run_error::refused, "unknown_client",
                   fmt::format("edge {} reported the RTT of client {}, but the run has {} clients", e, l.client_id,
                               st.rtt.clients));
  }
  st.measured.insert(e);
  maybe_measured(self);
}

void on_cloud_round(coordinator_pointer self, const open_round& open) {
  auto& st = self->state;
  if (!st.peers.complete) {
    record_error(self, *st.ctx, who, open.round, run::run_error::refused, "not_registered",
                 "the cloud opened a round before registration was complete");
    return;
  }
  if (st.cloud_opened && open.round <= *st.cloud_opened) {
    // Delayed or duplicated on the network: that cloud round is already under way or over.
    record_error(self, *st.ctx, who, open.round, run::run_error::refused, "stale_opening",
                 fmt::format("a cloud opening of round {} after round {}'s; ignored", open.round, *st.cloud_opened));
    return;
  }
  st.cloud_opened = open.round;
  if (st.running) {
    // The cloud gave up waiting (its own deadline) before this round closed: close it as it stands, so the
    // record gets every round, then follow the cloud.
    record_error(self, *st.ctx, who, st.round, run::run_error::deadline_missed,
                 fmt::format("cloud round opening at round {} came before {} of {} edges closed round {}",
                             open.round, st.live_edges.size() - st.closed.size(), st.live_edges.size(), st.round));
    record_closed(self);
    st.running = false;
  }
  if (st.held) {
    // The cloud gave up on the round it opened before while its link measurement was still out: place the
    // clients on what was measured so far and record that round as it stands, then measure for this one.
    record_error(self, *st.ctx, who, st.held->round, run::run_error::deadline_missed,
                 fmt::format("cloud round opening at round {} came while the link measurement for round {} was "
                             "still out ({} of {} edges had replied)", open.round, st.held->round, st.measured.size(),
                             st.live_edges.size()));
    finish_measurement(self);
    record_closed(self);
    st.running = false;
  }
  const auto kappa2 = static_cast<uint32_t>(st.ctx->cfg.kappa2);
  if (open.round > 0 && open.round % kappa2 == 0)
    send_checkpoint(self, open.round / kappa2);
  st.last_round = open.round + kappa2 - 1;
  measure_then_open(self, open);
}

void on_close(coordinator_pointer self, const incoming& in, const close_round& close) {
  auto& st = self->state;
  if (in.sender.role != tier::edge || close.round != st.round)
    return;
  st.closed.insert(in.sender.id);
  maybe_done(self);
}

// A client's fingerprint of the fingerprint round in progress (kept until the round closes).
void on_fingerprint(coordinator_pointer self, const incoming& in, const fingerprint& fp) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  if (in.sender.role != tier::client || in.sender.id != fp.client_id) {
    record_error(self, ctx, who, st.round, run::run_error::refused, "forged_sender",
                 fmt::format("a fingerprint of client {} from {} {}", fp.client_id, to_string(in.sender.role),
                             in.sender.id));
    return;
  }
  if (!st.running || fp.round != st.round || !ctx.cfg.fingerprint_round(st.round)
      || st.reclustered_round == static_cast<int64_t>(st.round)) {
    record_error(self, ctx, who, st.round, run::run_error::refused, "not_fingerprint_round",
                 fmt::format("client {}'s fingerprint of round {} came outside a fingerprint round or after its "
                             "clustering (now round {})", fp.client_id, fp.round, st.round));
    return;
  }
  st.fingerprints[fp.client_id] = fp;
  // Every client on a live edge has sent one: cluster now, so the edges aggregate this round by the new
  // clusters (they wait for it). Otherwise the round's close does it with what came.
  std::size_t expected = 0;
  for (const auto& a : st.assignments)
    expected += st.live_edges.count(a.edge_id) > 0 && (!st.sampled || st.sampled->count(a.client_id) > 0);
  if (st.fingerprints.size() >= expected)
    recluster_clients(self, false);
}

// An edge died: its clients move to the live edges (core/fed/placement) from the next round on; each live
// edge and each moved client is told.
void on_edge_down(coordinator_pointer self, uint32_t edge) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  st.live_edges.erase(edge);
  if (st.live_edges.empty()) {
    record_error(self, ctx, who, st.round, run::run_error::no_edges, "every edge is down");
    return;
  }
  assignment_update moved;
  moved.round = st.round;
  moved.reason = assignment_reason::edge_down;
  try {
    const auto capacity = fed::edge_capacities(ctx.cfg.edge_capacity, st.rtt.clients, st.rtt.edges, st.live_edges);
    moved.assignments = fed::reassign_dead_edge(st.assignments, edge, st.live_edges, st.rtt, capacity,
                                                ctx.cfg.assignment);
  } catch (const std::exception& e) {
    record_error(self, ctx, who, st.round, run::run_error::internal,
                 fmt::format("edge {} is down and its clients do not fit the live edges by latency ({}); they are "
                             "spread over the live edges in turn", edge, e.what()));
    moved.assignments = fed::reassign(st.assignments, edge, st.live_edges);
  }
  if (auto bytes = ctx.codec.encode(me, moved)) {
    for (auto e : st.live_edges)
      send_counted(self, participant{tier::edge, e}, st.peers.edges.at(e), *bytes, st.bytes_control);
  }
  for (const auto& a : moved.assignments) {
    assignment_update mine{moved.round, moved.reason, {a}};
    if (auto bytes = ctx.codec.encode(me, mine))
      send_counted(self, participant{tier::client, a.client_id}, st.peers.clients.at(a.client_id), *bytes, st.bytes_control);
  }
  record_error(self, ctx, who, st.round, run::run_error::edge_down,
               fmt::format("edge {} is down; {} clients reassigned", edge, moved.assignments.size()));
  maybe_done(self);
  maybe_measured(self);
}

// One dispatch: every one-way message, decoded once (actors/dispatch.hpp).
void on_message(coordinator_pointer self, const payload& bytes) {
  auto& st = self->state;
  dispatch(self, *st.ctx, st.peers, who, st.round, bytes, nullptr, {true},
           overloaded{
             [&](const incoming& in, const registration& m) { on_registration(self, in, m); },
             [&](const incoming& in, const open_round& m) {
               if (in.sender.role == tier::cloud)
                 on_cloud_round(self, m);
               else
                 refuse_kind(self, *st.ctx, who, st.round, message_kind::open_round, in.sender);
             },
             [&](const incoming& in, const close_round& m) { on_close(self, in, m); },
             [&](const incoming& in, const fingerprint& m) { on_fingerprint(self, in, m); },
             [&](const incoming& in, const heartbeat& m) { on_heartbeat(self, in, m); },
             [&](const incoming& in, const auto& m) {
               refuse_kind(self, *st.ctx, who, st.round, kind_of<std::decay_t<decltype(m)>>, in.sender);
             },
           });
}

} // namespace

coordinator_actor::behavior_type cluster_coordinator(coordinator_pointer self, context_ptr ctx, cloud_actor cloud) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.peers.add({tier::cloud, 0}, caf::actor_cast<caf::actor>(cloud));
  st.bytes_registration += register_with(self, *st.ctx, who, me, cloud, registration{});
  // Registration has a deadline too: a participant that never registers ends the run with its name.
  self->delayed_send(self, std::chrono::milliseconds(st.ctx->cfg.round_deadline_ms), deadline_atom::value,
                     registration_timer);
  self->set_down_handler([self](const caf::down_msg& dm) {
    const auto gone = self->state.peers.who(dm.source);
    if (gone && gone->role == tier::edge && !self->state.ctx->shutting_down)
      on_edge_down(self, gone->id);
  });
  return {
    [self](deliver_atom, const payload& bytes) { on_message(self, bytes); },
    // -- reliable delivery (actors/transmit.hpp) --
    [self](deliver_atom, const payload& bytes, uint64_t id, uint64_t sum) {
      receive(self, *self->state.ctx, self->state.net, who, me, self->state.round, bytes, id, sum,
              [self](const payload& b) { on_message(self, b); });
    },
    [self](ack_atom, uint64_t id) { on_ack(self, self->state.net, id); },
    [self](resend_atom, uint64_t token) {
      on_resend(self, *self->state.ctx, self->state.net, token, self->state.round);
    },
    [self](checkpoint_atom, const payload& bytes) { on_resume_answer(self, bytes); },
    [self](deadline_atom, uint32_t round) {
      auto& st = self->state;
      if (!check_own_timer(self, *st.ctx, st.peers, who, round, "deadline"))
        return;
      if (is_heartbeat_timer(round)) {
        if (st.held && heartbeat_timer_of(round, st.heartbeat_seq)) {
          record_error(self, *st.ctx, who, st.held->round, run::run_error::deadline_missed,
                       fmt::format("edges {} did not reply to heartbeat {} within {} ms; placing on what the "
                                   "others measured", fmt::join(live_edges_missing(st, st.measured), ", "),
                                   st.heartbeat_seq, measurement_guard_ms(st.ctx->cfg)));
          finish_measurement(self);
        }
        return;
      }
      if (round == registration_timer) {
        const auto& cfg = st.ctx->cfg;
        // Enough clients and every edge: start without the rest ([faults] start_quorum; core/fed/aggregation).
        if (!st.peers.complete && cfg.start_quorum < 1.0 && st.cloud_answered
            && static_cast<int64_t>(st.peers.edges.size()) == cfg.edges
            && fed::quorum_met(st.peers.clients.size(), static_cast<std::size_t>(cfg.clients), cfg.start_quorum)) {
          record_error(self, *st.ctx, who, 0, run::run_error::absent_at_start,
                       fmt::format("registration closed after {} ms ([faults] round_deadline_ms) with {} of {} "
                                   "clients ([faults] start_quorum = {}); starting without clients {}",
                                   cfg.round_deadline_ms, st.peers.clients.size(), cfg.clients, cfg.start_quorum,
                                   missing_ids(st.peers.clients, cfg.clients)));
          complete_registration(self);
          return;
        }
        if (!st.peers.complete)
          record_error(self, *st.ctx, who, 0, run::run_error::not_registered, std::string{},
                       fmt::format("registration incomplete after {} ms ([faults] round_deadline_ms): clients "
                                   "missing: {}; edges missing: {}{}",
                                   st.ctx->cfg.round_deadline_ms, missing_ids(st.peers.clients, st.ctx->cfg.clients),
                                   missing_ids(st.peers.edges, st.ctx->cfg.edges),
                                   st.cloud_answered ? "" : "; the cloud never answered the coordinator's registration"));
        return;
      }
      if (st.running && round == st.round) {
        record_error(self, *st.ctx, who, round, run::run_error::deadline_missed,
                     fmt::format("{} of {} edges closed round {}", st.closed.size(), st.live_edges.size(), round));
        round_done(self);
      }
    },
  };
}

} // namespace elsa::actors
