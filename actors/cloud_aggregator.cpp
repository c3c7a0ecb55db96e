// The cloud-aggregator role's protocol (see cloud_aggregator.hpp).
#include "actors/cloud_aggregator.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include <caf/event_based_actor.hpp>

#include <fmt/format.h>

#include "actors/dispatch.hpp"
#include "actors/heartbeat.hpp"
#include "core/errors.hpp"
#include "core/fed/aggregation.hpp"
#include "core/fed/behaviour.hpp"
#include "core/fed/evaluator.hpp"
#include "core/fed/sketched.hpp"

namespace elsa::actors {

namespace {

using namespace messages;

const participant me{tier::cloud, 0};
const std::string who = "cloud";

uint32_t first_edge_round(const cloud_pointer& self) {
  return self->state.cloud_round * static_cast<uint32_t>(self->state.ctx->cfg.kappa2);
}

uint32_t last_edge_round(const cloud_pointer& self) {
  return first_edge_round(self) + static_cast<uint32_t>(self->state.ctx->cfg.kappa2) - 1;
}

// The cluster that stands for task t (core/fed/behaviour): most of its clients are in it.
uint32_t cluster_of_task(const cloud_pointer& self, uint32_t t) {
  const auto& st = self->state;
  const auto k = fed::cluster_for_task(t, st.cluster_of, st.task_of);
  return k && *k < st.global.size() ? *k : 0;
}

// Sends every cluster's global adapters to the live edges, tagged with the first edge round that uses them.
run::kind_bytes broadcast(cloud_pointer self, uint32_t round) {
  auto& st = self->state;
  run::kind_bytes bytes_sent;
  // Only the clusters some client is in carry their adapters (behaviour clustering keeps max_clusters slots,
  // most of them empty); the others go as an empty update, which tells an edge the round's set is complete.
  std::set<uint32_t> in_use;
  for (const auto& [c, k] : st.cluster_of)
    in_use.insert(k);
  for (uint32_t k = 0; k < st.global.size(); ++k) {
    adapter_update up;
    up.round = round;
    up.base_round = round;
    up.cluster_id = k;
    if (in_use.count(k) || in_use.empty())
      up.form = st.global[k];
    else
      up.form = std::vector<named_tensor>{};
    auto bytes = st.ctx->codec.encode(me, up);
    if (!bytes) {
      record_error(self, *st.ctx, who, round, run::run_error::internal, bytes.error().message);
      continue;
    }
    for (auto e : st.live_edges) {
      bytes_sent.add(run::byte_kind::adapters, static_cast<int64_t>(bytes->size()),
                     static_cast<int64_t>(bytes->size()) + dense_f32_extra(up));
      transmit(self, *st.ctx, st.net, me, participant{tier::edge, e}, st.peers.edges.at(e), round, *bytes);
    }
  }
  return bytes_sent;
}

void open_cloud_round(cloud_pointer self) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  st.waiting = true;
  st.received_sets.clear();
  open_round open;
  open.round = first_edge_round(self);
  open.local_steps = static_cast<uint32_t>(ctx.cfg.kappa1);
  open.deadline_ms = static_cast<uint64_t>(ctx.cfg.round_deadline_ms);
  open.cloud_round = true;
  auto bytes = ctx.codec.encode(me, open);
  if (!bytes) {
    record_error(self, ctx, who, open.round, run::run_error::internal, bytes.error().message);
    return;
  }
  st.bytes_control += static_cast<int64_t>(bytes->size());
  transmit(self, ctx, st.net, me, participant{tier::coordinator, 0}, st.peers.coordinator, open.round, *bytes);
  // Every edge round may take its deadline, and the coordinator's link measurement before the first its
  // guard; beyond that (plus slack) the cloud aggregates what it has.
  self->delayed_send(self,
                     std::chrono::milliseconds(ctx.cfg.kappa2 * (2 * ctx.cfg.round_deadline_ms + 1000)
                                               + measurement_guard_ms(ctx.cfg)),
                     deadline_atom::value, st.cloud_round);
}

// A stopped run: the global adapters as the last completed cloud aggregation left them, written like a
// finished run's (nothing when no cloud round completed). Returns how many cloud rounds are behind them.
uint32_t save_now(cloud_pointer self) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  if (!ctx.cfg.save_adapters || st.cloud_round == 0)
    return st.cloud_round;
  for (uint32_t t = 0; t < ctx.task_names.size(); ++t) {
    try {
      const auto& name = ctx.task_names[t];
      fed::save_adapter_set(ctx.cfg.out_dir / "adapters" / name, ctx.cfg, st.num_labels.at(t),
                            fed::for_task(st.global[cluster_of_task(self, t)], name));
    } catch (const elsa::error& e) {
      record_error(self, ctx, who, last_edge_round(self), run::run_error::internal, e.what());
    }
  }
  return st.cloud_round;
}

void finish(cloud_pointer self) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  run::final_event ev;
  for (uint32_t t = 0; t < ctx.task_names.size(); ++t) {
    try {
      const auto& name = ctx.task_names[t];
      const auto& set = st.global[cluster_of_task(self, t)];
      const auto s = st.evaluator->evaluate(t, set, fed::held_out::test);
      ev.test[name] = {s.accuracy, s.macro_f1, s.loss, static_cast<int64_t>(s.count)};
      if (ctx.cfg.save_adapters)
        fed::save_adapter_set(ctx.cfg.out_dir / "adapters" / name, ctx.cfg, st.num_labels.at(t),
                              fed::for_task(set, name));
    } catch (const elsa::error& e) {
      record_error(self, ctx, who, last_edge_round(self), run::run_error::internal, e.what());
    }
  }
  ev.cloud_received = st.received;
  record(self, ctx, ev);
}

void next_cloud_round(cloud_pointer self);

// Starts a scorer on the oldest cloud round waiting for validation, unless one is at work (the evaluator scores
// one set at a time). The scorer is an actor of its own so the next round need not wait: threaded, on a thread
// of its own; on the deterministic scheduler, one more actor of the simulated schedule (its clock: 0 s). It
// sends the scores to the recorder, then tells the cloud (validated).
void start_validation(cloud_pointer self) {
  auto& st = self->state;
  if (st.scorer || st.to_validate.empty())
    return;
  auto body = [job = std::move(st.to_validate.front()), ctx = st.ctx, evaluator = st.evaluator,
               cloud = caf::actor_cast<cloud_actor>(self)](caf::event_based_actor* scorer) {
    // Threaded, the scoring is background work: its thread yields the cores to the training threads (Linux
    // nice, per thread), so it fills the time they leave idle rather than slowing the round.
    if (!ctx->cfg.deterministic)
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
    run::validation_event ev;
    ev.round = job.round;
    const auto start = scorer->clock().now();
    for (uint32_t t = 0; t < ctx->task_names.size(); ++t) {
      // Any failure (LibTorch's too) is recorded and the task left unscored: the scorer always reports, or
      // the cloud would wait for it forever.
      try {
        const auto s = evaluator->evaluate(t, job.global.at(job.cluster_of_task.at(t)), fed::held_out::validation);
        ev.accuracy[ctx->task_names[t]] = s.accuracy;
        ev.loss[ctx->task_names[t]] = s.loss;
      } catch (const std::exception& e) {
        record_error(scorer, *ctx, who, job.round, run::run_error::internal,
                     std::string("validation scoring failed: ") + e.what());
      } catch (...) {
        record_error(scorer, *ctx, who, job.round, run::run_error::internal, "validation scoring failed");
      }
    }
    ev.eval_seconds = std::chrono::duration<double>(scorer->clock().now() - start).count();
    record(scorer, *ctx, ev);
    scorer->send(cloud, validated_atom::value, job.round);
    scorer->quit();
  };
  st.scoring_round = st.to_validate.front().round;
  st.to_validate.pop_front();
  const auto scorer = st.ctx->cfg.deterministic ? self->spawn(std::move(body))
                                                : self->spawn<caf::detached>(std::move(body));
  st.scorer = scorer.address();
  self->monitor(scorer);  // a scorer that dies without reporting must not hold the run (the down handler)
}

// The test scores and the saved adapters, once the last cloud round's validation is in (the scorer and the
// end share the evaluator).
void maybe_finish(cloud_pointer self) {
  auto& st = self->state;
  if (st.finishing && !st.scorer && st.to_validate.empty()) {
    st.finishing = false;
    finish(self);
  }
}

// The next cloud round opens once at most one earlier round waits for its scores (in the queue or with the
// scorer): the scorer can fall at most one round behind, so a checkpoint's rounds reach metrics.jsonl before
// the next but one is written (a resumed run needs both) and no backlog of adapter copies builds up.
void maybe_open(cloud_pointer self) {
  auto& st = self->state;
  const auto waiting = st.to_validate.size() + (st.scorer ? 1 : 0);
  if (st.open_held && waiting <= 1) {
    st.open_held = false;
    open_cloud_round(self);
  }
}

void scorer_done(cloud_pointer self);

// The scorer is done with `round`: the next waiting round's, a held opening, or the end.
void on_validated(cloud_pointer self, uint32_t round) {
  auto& st = self->state;
  if (!st.scorer || caf::actor_cast<caf::actor_addr>(self->current_sender()) != st.scorer) {
    record_error(self, *st.ctx, who, round, run::run_error::refused, "forged_sender",
                 "a validation result from another actor than the cloud's scorer");
    return;
  }
  scorer_done(self);
}

// The scorer went down before it reported (an exception outside the scoring, memory): the round's line is
// written without scores, and the run goes on.
void on_scorer_down(cloud_pointer self, const caf::error& reason) {
  auto& st = self->state;
  record_error(self, *st.ctx, who, st.scoring_round, run::run_error::internal,
               "the validation scorer stopped before it reported: " + self->system().render(reason));
  run::validation_event ev;
  ev.round = st.scoring_round;
  record(self, *st.ctx, ev);
  scorer_done(self);
}

void scorer_done(cloud_pointer self) {
  auto& st = self->state;
  st.scorer = caf::actor_addr{};
  start_validation(self);
  maybe_open(self);
  maybe_finish(self);
}

// The end of a cloud round that is not the last: what a resumed run starts from (core/run/checkpoint.hpp).
// A checkpoint that cannot be written is an error in the record; the run goes on.
void write_checkpoint(cloud_pointer self) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  if (ctx.checkpoint_dir.empty())
    return;
  run::cloud_checkpoint c;
  c.cloud_rounds = st.cloud_round;
  c.global = st.global;
  c.cluster_of = st.cluster_of;
  c.sketch_error = st.sketch_error;
  try {
    run::write_checkpoint(ctx.checkpoint_dir, c, ctx.cfg);
  } catch (const elsa::error& e) {
    record_error(self, ctx, who, first_edge_round(self), run::run_error::internal, e.what());
  }
}

void aggregate(cloud_pointer self) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  st.waiting = false;
  const uint32_t round = last_edge_round(self);
  const auto reported = static_cast<int64_t>(st.received_sets.size());
  const bool quorum = fed::quorum_met(st.received_sets.size(), st.live_edges.size(), ctx.cfg.quorum);
  // Each edge's per-cluster aggregate counts as one update, weighted by the samples behind it and checked
  // against the cluster's global layout, so one bad edge update is rejected alone.
  std::vector<fed::client_update> updates;
  for (const auto& [edge, clusters] : st.received_sets)
    for (const auto& [k, set_samples] : clusters)
      if (set_samples.second > 0 && !set_samples.first.empty())
        updates.push_back({edge, round, k, set_samples.second, set_samples.first});
  fed::aggregation_inputs in;
  in.round = round;
  // A fingerprint round's uploads are dense (run_config::sketched_round), and the re-clustering after it gives
  // cluster ids other members: what earlier decodes left belongs to no cluster any more.
  const bool sketching = ctx.cfg.sketched_round(round);
  if (ctx.cfg.sketching() && !sketching)
    st.sketch_error.clear();
  for (uint32_t k = 0; k < st.global.size(); ++k)
    in.layouts[k] = sketching ? fed::sketch_layout(ctx.cfg, st.global[k]) : fed::layout_of(st.global[k]);
  in.policy.trust_weighting = false;
  in.policy.max_staleness = 0;
  in.sender_kind = "edge";
  const auto agg = quorum ? fed::aggregate_updates(updates, in) : fed::aggregation_result{};
  for (const auto& r : agg.rejected)
    record_error(self, ctx, who, round, run::run_error::rejected_update, fed::to_string(r.why), r.text);
  run::cloud_round_event ev;
  for (uint32_t k = 0; k < st.global.size(); ++k) {
    auto it = agg.clusters.find(k);
    if (it == agg.clusters.end())
      continue;
    if (sketching) {
      // Decoded here ([compress] sketch_decode; under top_k with what earlier decodes left, error feedback).
      try {
        st.global[k] = fed::decode_update(fed::plan_sketch(ctx.cfg, st.global[k]), st.global[k], st.sketch_error[k],
                                          it->second.adapters, fed::decoder::cloud);
      } catch (const elsa::error& e) {
        record_error(self, ctx, who, round, run::run_error::internal, e.what());
      }
    } else {
      st.global[k] = fed::overlay(st.global[k], it->second.adapters);  // heads no edge sent stay
    }
  }
  if (!quorum)
    record_error(self, ctx, who, round, run::run_error::no_quorum,
                 fmt::format("{} of {} edges reported; the global adapters stay as they were", reported,
                             st.live_edges.size()));
  ev.round = round;
  ev.edges_reported = reported;
  st.held = ev;
  if (ctx.cfg.fingerprint_round(round) && !(st.reclustered && st.reclustered->round == round))
    return;  // the coordinator's re-clustering of this round comes first (on_reclustered)
  next_cloud_round(self);
}

// Applies a re-clustering that arrived for the round just aggregated, then broadcasts and opens the next cloud
// round (or finishes).
void next_cloud_round(cloud_pointer self) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  auto ev = std::move(*st.held);
  st.held.reset();
  st.reclustered.reset();
  // The round's adapters are scored beside the next round, each task with the cluster most of its clients
  // are in now that a re-clustering of this round applied.
  cloud_state::validation_job job;
  job.round = ev.round;
  job.global = st.global;
  for (uint32_t t = 0; t < ctx.task_names.size(); ++t)
    job.cluster_of_task.push_back(cluster_of_task(self, t));
  st.to_validate.push_back(std::move(job));
  start_validation(self);
  ++st.cloud_round;
  const bool more = static_cast<int64_t>(st.cloud_round) < ctx.cfg.cloud_rounds();
  run::kind_bytes down = st.bytes_down_pending;
  if (more) {
    write_checkpoint(self);
    down += broadcast(self, first_edge_round(self));
  }
  st.bytes_down_pending = {};
  ev.bytes_down = down.total();
  ev.down = down;
  ev.bytes_control = st.bytes_control;
  st.bytes_control = 0;
  record(self, ctx, ev);
  if (more) {
    st.open_held = true;
    maybe_open(self);
  } else {
    st.finishing = true;
    maybe_finish(self);
  }
}

// The coordinator re-clustered the clients in a fingerprint round. Before the edges closed it (the usual case)
// their uploads already follow the new clusters: only the placement changes. After (`after_close`: some
// fingerprints never came), the aggregates followed the old clusters: each new cluster starts from the old
// ones its members come from (core/fed/behaviour's reseed_clusters). Then the next cloud round begins.
void on_reclustered(cloud_pointer self, const assignment_update& up) {
  auto& st = self->state;
  if (up.reason != assignment_reason::recluster)
    return;  // edge moves do not concern the cloud
  std::map<uint32_t, uint32_t> after = st.cluster_of;
  for (const auto& a : up.assignments)
    after[a.client_id] = a.cluster_id;
  // The coordinator says which path it took (a flag, not arrival order: an edge's close and its uploads
  // travel on different links).
  if (up.after_close)
    st.global = fed::reseed_clusters(st.global, st.cluster_of, after, st.task_of, st.ctx->task_names);
  st.cluster_of = std::move(after);
  st.reclustered = up;
  if (st.held && st.held->round == up.round)
    next_cloud_round(self);
}

void maybe_aggregate(cloud_pointer self) {
  auto& st = self->state;
  if (!st.waiting)
    return;
  for (auto e : st.live_edges) {
    auto it = st.received_sets.find(e);
    if (it == st.received_sets.end() || it->second.size() < st.global.size())
      return;
  }
  aggregate(self);
}

void on_adapters(cloud_pointer self, const incoming& msg, const adapter_update& up) {
  auto& st = self->state;
  if (msg.sender.role != tier::edge) {
    record_error(self, *st.ctx, who, up.round, run::run_error::refused, "wrong_sender",
                 std::string("adapter update from a ") + to_string(msg.sender.role) + "; the cloud takes edges' only");
    return;
  }
  if (!st.waiting || up.round != last_edge_round(self) || up.cluster_id >= st.global.size()) {
    record_error(self, *st.ctx, who, up.round, run::run_error::late_update,
                 fmt::format("edge {}'s update for round {} arrived outside its cloud round", msg.sender.id, up.round));
    return;
  }
  if (const auto* dense = std::get_if<std::vector<named_tensor>>(&up.form)) {
    st.received_sets[msg.sender.id][up.cluster_id] = {*dense, up.sample_count};
  } else {
    // An edge's sketched update of the cluster (the difference from the global adapters): kept as {heads,
    // table}, averaged with the other edges' without decoding (core/fed/sketched.hpp).
    const auto& sk = std::get<count_sketch>(up.form);
    const auto plan = fed::plan_sketch(st.ctx->cfg, st.global[up.cluster_id]);
    if (auto why = fed::plan_mismatch(plan, sk); !why.empty()) {
      record_error(self, *st.ctx, who, up.round, run::run_error::rejected_update, "sketch_mismatch",
                   fmt::format("edge {}'s sketched update of cluster {}: {}", msg.sender.id, up.cluster_id, why));
      st.received_sets[msg.sender.id][up.cluster_id] = {{}, 0};  // counted as received, aggregated as nothing
    } else {
      st.received_sets[msg.sender.id][up.cluster_id] = {fed::aggregable(plan, fed::values(sk), sk.exact),
                                                        up.sample_count};
    }
  }
  maybe_aggregate(self);
}

// The run begins once the edges are known and `start` arrived: the initial broadcast, the first opening.
void maybe_begin(cloud_pointer self) {
  auto& st = self->state;
  if (st.started || !st.start_asked || !st.peers.complete)
    return;
  st.started = true;
  st.bytes_down_pending = broadcast(self, first_edge_round(self));  // round 0, or where a resumed run starts
  open_cloud_round(self);
}

// The coordinator registers with the cloud: from then on it is the cloud's coordinator.
void on_registration(cloud_pointer self, const incoming& in) {
  auto& st = self->state;
  const auto from = self->current_sender();
  const char* why = in.sender.role != tier::coordinator ? "wrong_sender"
                    : !from                              ? "forged_sender"
                    : st.peers.coordinator               ? "registration_closed"
                                                         : nullptr;
  if (why != nullptr) {
    record_error(self, *st.ctx, who, 0, run::run_error::refused, why,
                 fmt::format("a registration from {} {}{}: the cloud takes one, from the coordinator",
                             to_string(in.sender.role), in.sender.id, from ? "" : " (anonymous)"));
    return;
  }
  st.peers.add(in.sender, caf::actor_cast<caf::actor>(from));
  // The answer the coordinator completes its registration after: where a resumed run starts, or nothing.
  payload answer;
  if (st.ctx->resume && st.ctx->resume->coordinator) {
    const auto bytes = run::checkpoint_bytes(*st.ctx->resume->coordinator, st.ctx->cfg);
    answer = payload::copy_of(bytes.data(), bytes.size());
  }
  self->send(st.peers.coordinator, checkpoint_atom::value, std::move(answer));
}

// The coordinator's part of the checkpoint of `cloud_rounds` (core/run/checkpoint.hpp): checked, then written
// beside the cloud's own. Taken from the coordinator only.
void on_coordinator_checkpoint(cloud_pointer self, const payload& bytes) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  if (!st.peers.coordinator
      || caf::actor_cast<caf::actor_addr>(self->current_sender()) != st.peers.coordinator.address()) {
    record_error(self, ctx, who, first_edge_round(self), run::run_error::refused, "forged_sender",
                 "a coordinator checkpoint from another actor than the coordinator");
    return;
  }
  if (ctx.checkpoint_dir.empty())
    return;
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  try {
    const auto c = run::coordinator_checkpoint_from_bytes(data, bytes.size(), "from the coordinator", ctx.cfg);
    if (c.cloud_rounds != st.cloud_round) {  // only the part of the checkpoint the cloud just wrote
      record_error(self, ctx, who, first_edge_round(self), run::run_error::refused, "checkpoint",
                   fmt::format("the coordinator's checkpoint of cloud round {} came in cloud round {}", c.cloud_rounds,
                               st.cloud_round));
      return;
    }
    run::write_checkpoint_bytes(ctx.checkpoint_dir, "coordinator", c.cloud_rounds, data, bytes.size());
  } catch (const elsa::error& e) {
    record_error(self, ctx, who, first_edge_round(self), run::run_error::internal, e.what());
  }
}

// The coordinator's peer table: the edges.
void on_peer_table(cloud_pointer self, const incoming& in, const peer_table& table) {
  auto& st = self->state;
  if (st.peers.complete) {
    record_error(self, *st.ctx, who, last_edge_round(self), run::run_error::refused, "registration_closed",
                 "a second peer table; the cloud keeps its first (edges that died stay gone)");
    return;
  }
  for (std::size_t i = 0; i < table.peers.size(); ++i) {
    const auto& p = table.peers[i];
    if (p.who.role == tier::edge) {
      st.peers.add(p.who, (*in.peer_handles)[i]);
      st.live_edges.insert(p.who.id);
      self->monitor((*in.peer_handles)[i]);
    } else if (p.who.role == tier::client) {
      // Only what the client registered: the cloud never talks to clients.
      st.task_of[p.who.id] = p.cluster_id;
      st.cluster_of[p.who.id] = fed::starting_cluster(st.ctx->cfg, p.cluster_id);
    }
  }
  if (st.ctx->resume && st.ctx->resume->cloud)
    for (const auto& [c, k] : st.ctx->resume->cloud->cluster_of)
      if (st.cluster_of.count(c))
        st.cluster_of[c] = k;  // where the checkpoint left them
  st.peers.complete = true;
  maybe_begin(self);
}

// One dispatch: every one-way message, decoded once and counted by kind (actors/dispatch.hpp).
void on_message(cloud_pointer self, const payload& bytes, const handles* peer_handles) {
  auto& st = self->state;
  dispatch(self, *st.ctx, st.peers, who, last_edge_round(self), bytes, peer_handles, {true, &st.received},
           overloaded{
             [&](const incoming& in, const adapter_update& m) { on_adapters(self, in, m); },
             [&](const incoming& in, const registration&) { on_registration(self, in); },
             [&](const incoming& in, const peer_table& m) { on_peer_table(self, in, m); },
             [&](const incoming& in, const assignment_update& m) {
               if (from_role(self, *st.ctx, who, last_edge_round(self), in, message_kind::assignment_update,
                             tier::coordinator))
                 on_reclustered(self, m);
             },
             [&](const incoming& in, const auto& m) {
               refuse_kind(self, *st.ctx, who, last_edge_round(self), kind_of<std::decay_t<decltype(m)>>,
                           in.sender);
             },
           });
}

} // namespace

cloud_actor::behavior_type cloud_aggregator(cloud_pointer self, context_ptr ctx,
                                            std::shared_ptr<fed::evaluator> evaluator,
                                            std::vector<fed::adapter_set> initial, std::vector<int64_t> num_labels) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.evaluator = std::move(evaluator);
  st.global = std::move(initial);
  st.num_labels = std::move(num_labels);
  if (st.ctx->resume && st.ctx->resume->cloud) {
    // A resumed run: the global adapters and error feedback of its checkpoint (checked against `initial`
    // by the wiring), and the cloud round after it.
    const auto& c = *st.ctx->resume->cloud;
    st.cloud_round = c.cloud_rounds;
    st.global = c.global;
    st.sketch_error = c.sketch_error;
  }
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& st = self->state;
    if (st.scorer && dm.source == st.scorer) {
      on_scorer_down(self, dm.reason);  // (a scorer that reported is no longer st.scorer when its down comes)
      return;
    }
    const auto gone = st.peers.who(dm.source);
    if (gone && gone->role == tier::edge && !st.ctx->shutting_down) {
      st.live_edges.erase(gone->id);
      maybe_aggregate(self);
    }
  });
  return {
    [self](start_atom) {
      self->state.start_asked = true;
      maybe_begin(self);
    },
    // Process control from the wiring (like start): a stopped run keeps what the cloud has.
    [self](save_atom) -> uint32_t { return save_now(self); },
    [self](checkpoint_atom, const payload& bytes) { on_coordinator_checkpoint(self, bytes); },
    [self](deliver_atom, const payload& bytes) { on_message(self, bytes, nullptr); },
    [self](deliver_atom, const payload& bytes, const handles& peer_handles) { on_message(self, bytes, &peer_handles); },
    // -- reliable delivery (actors/transmit.hpp) --
    [self](deliver_atom, const payload& bytes, uint64_t id, uint64_t sum) {
      receive(self, *self->state.ctx, self->state.net, who, me, first_edge_round(self), bytes, id, sum,
              [self](const payload& b) { on_message(self, b, nullptr); });
    },
    [self](ack_atom, uint64_t id) { on_ack(self, self->state.net, id); },
    [self](resend_atom, uint64_t token) {
      on_resend(self, *self->state.ctx, self->state.net, token, first_edge_round(self));
    },
    [self](validated_atom, uint32_t round) { on_validated(self, round); },
    [self](deadline_atom, uint32_t cloud_round) {
      auto& st = self->state;
      if (!check_own_timer(self, *st.ctx, st.peers, who, cloud_round, "deadline"))
        return;
      if (st.waiting && cloud_round == st.cloud_round)
        aggregate(self);
    },
  };
}

} // namespace elsa::actors
