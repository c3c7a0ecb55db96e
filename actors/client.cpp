// The client role's protocol (see client.hpp).
#include "actors/client.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "actors/dispatch.hpp"
#include "actors/heartbeat.hpp"
#include "core/errors.hpp"
#include "core/fed/sketched.hpp"
#include "core/fed/sampling.hpp"
#include "core/fed/split_client.hpp"
#include "core/run/sim_usage.hpp"

namespace elsa::actors {

namespace {

using namespace messages;

std::string who(const client_pointer& self) {
  return fmt::format("client {}", self->state.id);
}

participant me(const client_pointer& self) {
  return {tier::client, self->state.id};
}

bool injected(const std::vector<int64_t>& ids, uint32_t id) {
  return std::find(ids.begin(), ids.end(), static_cast<int64_t>(id)) != ids.end();
}

void run_step(client_pointer self);
void start_step(client_pointer self);

// Gives up the round in progress (edge gone, timeout, bad reply): no update is sent for it.
void abandon_round(client_pointer self, run::run_error code, const std::string& why) {
  auto& st = self->state;
  st.core->abandon_step();
  st.in_round = false;
  record_error(self, *st.ctx, who(self), st.round, code, why);
}

// The edge this client is placed on, if its peer table named it.
std::optional<edge_actor> my_edge(const client_pointer& self) {
  auto it = self->state.peers.edges.find(self->state.edge);
  if (it == self->state.peers.edges.end())
    return std::nullopt;
  return it->second;
}

// -- end of round --

void finish_round(client_pointer self) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  st.in_round = false;
  const double seconds = std::chrono::duration<double>(self->clock().now() - st.round_started).count();
  adapter_update up;
  up.round = st.round;
  up.base_round = st.round;
  up.sample_count = st.core->sample_count();
  up.cluster_id = st.cluster;
  auto mine = st.core->adapters();
  if (ctx.cfg.sketched_round(st.round) && !st.received.empty()) {
    // The update (the difference from the adapters the edge last sent) as a count sketch, heads exact.
    try {
      up.form = fed::sketch_update(fed::plan_sketch(ctx.cfg, st.received), mine, st.received);
    } catch (const elsa::error& e) {
      abandon_round(self, run::run_error::internal, std::string("cannot sketch the adapter update: ") + e.what());
      return;
    }
  } else {
    up.form = mine;
  }
  auto bytes = ctx.codec.encode(me(self), up);
  if (!bytes) {
    abandon_round(self, run::run_error::internal, "cannot encode the adapter update: " + bytes.error().message);
    return;
  }
  auto edge = my_edge(self);
  if (!edge) {
    abandon_round(self, run::run_error::step_failed, fmt::format("edge {} is not in this client's peers", st.edge));
    return;
  }
  const auto sent = static_cast<int64_t>(bytes->size());
  // Dense-equivalent: a sketch's table stands for this client's own tensors (its blocks), not the whole layout.
  const auto* sk = std::get_if<count_sketch>(&up.form);
  st.up.add(run::byte_kind::adapters, sent,
            sk ? sent - static_cast<int64_t>(sk->table.size_bytes())
                   + static_cast<int64_t>(fed::data_bytes(fed::lora_only(mine)))
               : sent + dense_f32_extra(up));
  run::client_round_event ev;
  ev.round = st.round;
  ev.client = st.id;
  ev.edge = st.edge;
  ev.task = st.core->task();
  ev.steps = st.steps_done;
  ev.loss = st.steps_done ? st.loss_sum / st.steps_done : 0.0;
  ev.tokens = st.tokens;
  ev.bytes_up = st.up.total();
  ev.up = st.up;
  ev.seconds = seconds;
  ev.head_blocks = static_cast<uint32_t>(st.core->head_blocks());
  ev.tail_blocks = static_cast<uint32_t>(st.core->tail_blocks());
  ev.positions = st.positions;
  ev.max_seq_len = st.max_seq_len;
  ev.bytes_down = st.bytes_down;
  ev.messages = st.messages + 1;  // and this upload
  if (ctx.cfg.enforce_deadline || ctx.cfg.async_edges()) {
    // What the edge judges (enforce_deadline) or orders (async) the upload by: the simulated seconds of this
    // round's own work, counted as the record counts them (core/run/sim_usage.hpp). The field has a fixed
    // size: the encoded size is the same.
    up.sim_seconds = run::upload_sim_seconds(ctx.cfg, ctx.shape, ev);
    bytes = ctx.codec.encode(me(self), up);
    if (!bytes) {
      abandon_round(self, run::run_error::internal, "cannot encode the adapter update: " + bytes.error().message);
      return;
    }
  }
  record(self, ctx, ev);
  if (injected(ctx.cfg.stragglers, st.id) && ctx.cfg.straggler_delay_ms > 0) {
    // Recorded whether or not the delay makes the update late (the edge's round says that).
    record(self, ctx, run::fault_event{st.round, st.id, "delay", ctx.cfg.straggler_delay_ms});
    transmit(self, ctx, st.net, me(self), participant{tier::edge, st.edge}, *edge, st.round, *bytes,
             std::chrono::milliseconds(ctx.cfg.straggler_delay_ms));
  } else {
    transmit(self, ctx, st.net, me(self), participant{tier::edge, st.edge}, *edge, st.round, *bytes);
  }
}

// -- one split-training step, in three hops --

// A split tensor of this client's current step, without its data yet.
split_tensor outgoing(const client_pointer& self, segment from, tensor_role role) {
  const auto& st = self->state;
  split_tensor out;
  out.round = st.round;
  out.step = st.steps_done;
  out.client_id = st.id;
  out.from = from;
  out.role = role;
  return out;
}

// The edge's reply to a step request, if it is a body tensor of `role` for this client; otherwise the round
// is given up (and recorded).
std::optional<split_tensor> edge_reply(client_pointer self, const payload& bytes, tensor_role role) {
  auto& st = self->state;
  auto msg = st.ctx->codec.decode<split_tensor>(bytes);
  if (!msg || msg->body.from != segment::body || msg->body.role != role || msg->body.client_id != st.id) {
    abandon_round(self, run::run_error::malformed_message,
                  msg ? std::string("the edge's reply is not a body ")
                          + (role == tensor_role::activation ? "activation" : "gradient") + " for this client"
                      : msg.error().message);
    return std::nullopt;
  }
  return std::move(msg->body);
}

// Encodes one step request (forward or backward) and sends it to the edge; the reply goes to `next` unless the
// round was given up meanwhile; an encoding failure, a failed or a timed-out request gives the round up.
template <class Atom, class Next>
void ask_edge(client_pointer self, Atom atom, const split_tensor& msg, Next next, uint32_t attempt = 0) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  auto encoded = ctx.codec.encode(me(self), msg);
  if (!encoded) {
    abandon_round(self, run::run_error::internal, encoded.error().message);
    return;
  }
  payload bytes = std::move(*encoded);
  auto edge = my_edge(self);
  if (!edge) {
    abandon_round(self, run::run_error::step_failed, fmt::format("edge {} is not in this client's peers", st.edge));
    return;
  }
  const auto sent = static_cast<int64_t>(bytes.size());
  st.up.add(msg.role == tensor_role::gradient ? run::byte_kind::gradients : run::byte_kind::activations, sent,
            sent + dense_f32_extra(msg));
  const uint32_t round = st.round;
  ++st.messages;
  ++st.requests;
  // [faults] net_*: the request (and its reply) cross the client-edge link. Lost: the edge never sees it; the
  // client sends it again after retry_ms (a fate of its own each time) until step_deadline_ms, or, with
  // retry_ms = 0, the request times out after step_deadline_ms as CAF's would. Damaged: with reliable delivery
  // the request carries its checksum, the edge refuses it as damaged and the client sends it again at once
  // (within the same budget); without, the edge gets the damaged bytes as they are.
  st.attempt = attempt;
  const bool reliable = run::reliable_delivery(ctx.cfg);
  const bool budget_left = ctx.cfg.retry_ms > 0 && (attempt + 2) * ctx.cfg.retry_ms <= ctx.cfg.step_deadline_ms;
  auto send_again = [self, atom, msg, next, attempt] {
    auto& s = self->state;
    record(self, *s.ctx, run::resent_event{s.round, attempt + 1, named(me(self)), named({tier::edge, s.edge}),
                                           messages::to_string(message_kind::split_tensor)});
    ask_edge(self, atom, msg, next, attempt + 1);
  };
  const auto sum = reliable ? run::checksum(bytes.data(), bytes.size()) : 0;
  const auto fate = network_fate(self, ctx, st.net, me(self), participant{tier::edge, st.edge}, round,
                                 messages::to_string(message_kind::split_tensor), sent, true);
  if (fate.lost) {
    st.resend = budget_left ? std::function<void()>(send_again) : std::function<void()>();
    const auto wait = budget_left ? ctx.cfg.retry_ms
                                  : std::max<int64_t>(1, ctx.cfg.step_deadline_ms - attempt * ctx.cfg.retry_ms);
    self->delayed_send(self, std::chrono::milliseconds(wait), deadline_atom::value, st.requests);
    return;
  }
  if (!fate.faults.empty())
    bytes = as_delivered(bytes, fate);
  auto on_reply = [self, round, next](const payload& reply) {
    if (self->state.in_round && round == self->state.round) {
      self->state.bytes_down += static_cast<int64_t>(reply.size());
      ++self->state.messages;
      next(self, reply);
    }
  };
  auto on_error = [self, round, reliable, budget_left, send_again](const caf::error& err) {
    if (!self->state.in_round || round != self->state.round)
      return;
    // Refused as damaged on the way (the checksum did not match): sent again while the budget lasts.
    if (reliable && budget_left && err.category() == messages::error_category
        && err.code() == static_cast<uint8_t>(errc::damaged)) {
      send_again();
      return;
    }
    abandon_round(self, run::run_error::step_failed,
                  std::string(Atom::value == forward_atom::value ? "forward" : "backward")
                    + " at the edge failed: " + self->system().render(err));
  };
  const auto timeout = std::chrono::milliseconds(ctx.cfg.step_deadline_ms);
  if (reliable)
    self->request(*edge, timeout, atom, std::move(bytes), sum).then(on_reply, on_error);
  else
    self->request(*edge, timeout, atom, std::move(bytes)).then(on_reply, on_error);
}

void on_head_gradient(client_pointer self, const payload& bytes) {
  auto& st = self->state;
  auto msg = edge_reply(self, bytes, tensor_role::gradient);
  if (!msg)
    return;
  try {
    st.loss_sum += st.core->finish_step(msg->tensor, msg->loss);  // (a two-part split's edge sent the loss)
  } catch (const elsa::error& e) {
    abandon_round(self, run::run_error::malformed_message, e.what());
    return;
  }
  ++st.steps_done;
  run_step(self);
}

void on_body_output(client_pointer self, const payload& bytes) {
  auto& st = self->state;
  auto msg = edge_reply(self, bytes, tensor_role::activation);
  if (!msg)
    return;
  auto grad = outgoing(self, segment::tail, tensor_role::gradient);
  try {
    grad.tensor = st.core->tail_step(msg->tensor);
  } catch (const elsa::error& e) {
    abandon_round(self, run::run_error::malformed_message, e.what());
    return;
  }
  ask_edge(self, backward_atom::value, grad, on_head_gradient);
}

// -- behaviour fingerprint: the public probes through the split path, then the upload --

void probe_batch(client_pointer self, std::size_t batch);

void on_probe_output(client_pointer self, const payload& bytes) {
  auto& st = self->state;
  auto msg = st.ctx->codec.decode<split_tensor>(bytes);
  if (!msg || !msg->body.probe || msg->body.from != segment::body || msg->body.client_id != st.id) {
    abandon_round(self, run::run_error::malformed_message,
                  msg ? std::string("the edge's reply is not a probe body output for this client")
                      : msg.error().message);
    return;
  }
  try {
    st.core->probe_tail(msg->body.step, msg->body.tensor);
  } catch (const elsa::error& e) {
    abandon_round(self, run::run_error::malformed_message, e.what());
    return;
  }
  if (msg->body.step + 1 < st.core->probe_batches()) {
    probe_batch(self, msg->body.step + 1);
    return;
  }
  const auto& cfg = st.ctx->cfg;
  try {
    auto fp = st.core->fingerprint(st.round, cfg.fingerprint, cfg.shrinkage, cfg.predictive_vocab);
    auto out = st.ctx->codec.encode(me(self), fp);
    if (!out)
      throw elsa::error(elsa::errc::internal, out.error().message);
    st.up.add(run::byte_kind::control, static_cast<int64_t>(out->size()), static_cast<int64_t>(out->size()));
    transmit(self, *st.ctx, st.net, me(self), participant{tier::coordinator, 0}, st.peers.coordinator, st.round,
             *out);
  } catch (const elsa::error& e) {
    record_error(self, *st.ctx, who(self), st.round, run::run_error::internal, e.what());
  }
  finish_round(self);
}

void probe_batch(client_pointer self, std::size_t batch) {
  auto& st = self->state;
  auto req = outgoing(self, segment::head, tensor_role::activation);
  req.probe = true;
  req.step = static_cast<uint32_t>(batch);
  try {
    auto head = st.core->probe_head(batch);
    req.tensor = std::move(head.activation);
    req.seq_lengths = std::move(head.lengths);
  } catch (const elsa::error& e) {
    abandon_round(self, run::run_error::internal, e.what());
    return;
  }
  ask_edge(self, forward_atom::value, req, on_probe_output);
}

// The round's steps are done: an attacker's adapters become its attack, then the fingerprint (in a
// fingerprint round) and the upload.
void steps_done(client_pointer self) {
  auto& st = self->state;
  st.core->end_round();
  if (st.fingerprint && st.core->probe_batches() > 0)
    probe_batch(self, 0);
  else
    finish_round(self);
}

void run_step(client_pointer self) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  if (st.steps_done >= st.steps_target) {
    steps_done(self);
    return;
  }
  const bool silent_one = injected(ctx.cfg.silent_dropouts, st.id);
  // (A resumed run that starts after the dropout round: the client dropped before the checkpoint, and drops again.)
  const auto at = static_cast<uint32_t>(ctx.cfg.dropout_round);
  if ((silent_one || injected(ctx.cfg.dropouts, st.id))
      && (st.resumed_at > at || (st.round == at && st.steps_done == static_cast<uint32_t>(ctx.cfg.dropout_step)))) {
    const bool crash = !silent_one && ctx.cfg.dropouts_mode() == run::dropout_mode::crash;
    record(self, ctx, run::dropout_event{st.round, st.id, crash ? "crash" : "silent"});
    st.core->abandon_step();
    st.in_round = false;
    if (crash)
      self->quit(caf::exit_reason::user_shutdown);
    else
      st.silent = true;
    return;
  }
  if (ctx.cfg.max_concurrent_steps > 0 && !ctx.cfg.whole_model()) {
    // Admission first: until the edge admits the step, this client holds no graph.
    const uint32_t round = st.round;
    auto edge = my_edge(self);
    if (!edge) {
      abandon_round(self, run::run_error::step_failed, fmt::format("edge {} is not in this client's peers", st.edge));
      return;
    }
    ++st.messages;
    self->request(*edge, std::chrono::milliseconds(ctx.cfg.step_deadline_ms), admit_atom::value, st.id)
      .then(
        [self, round](bool admitted) {
          if (!self->state.in_round || round != self->state.round)
            return;
          ++self->state.messages;
          if (admitted)
            start_step(self);
          else
            abandon_round(self, run::run_error::step_failed, "the edge does not admit steps of this client");
        },
        [self, round](const caf::error& err) {
          if (self->state.in_round && round == self->state.round)
            abandon_round(self, run::run_error::step_failed, "no admission from the edge: " + self->system().render(err));
        });
    return;
  }
  start_step(self);
}

// What the step just begun processed.
void count_batch(client_pointer self) {
  auto& st = self->state;
  st.tokens += st.core->last_batch_tokens();
  st.positions += st.core->last_batch_positions();
  if (st.core->last_batch_rows() > 0)
    st.max_seq_len = std::max(st.max_seq_len, st.core->last_batch_positions() / st.core->last_batch_rows());
}

// [split] layout = "whole_model": one whole step here, then the next (each a message of its own, so openings,
// heartbeats and adapters are taken between steps).
void on_local_step(client_pointer self, uint32_t chain) {
  auto& st = self->state;
  if (!check_own_timer(self, *st.ctx, st.peers, who(self), st.round, "local step"))
    return;
  if (!st.in_round || chain != st.local_chain)
    return;  // its round was given up or superseded (another opening started a chain of its own)
  try {
    st.loss_sum += st.core->local_step();
  } catch (const elsa::error& e) {
    abandon_round(self, run::run_error::internal, e.what());
    return;
  }
  count_batch(self);
  ++st.steps_done;
  run_step(self);
}

// The head forward of the next step, and its activation sent to the edge (with the labels on a two-part
// split, whose edge replies with the head gradient at once); on a whole-model client, the local step.
void start_step(client_pointer self) {
  auto& st = self->state;
  if (st.ctx->cfg.whole_model()) {
    self->send(self, forward_atom::value, st.local_chain);
    return;
  }
  auto act = outgoing(self, segment::head, tensor_role::activation);
  try {
    auto head = st.core->begin_step();
    act.tensor = std::move(head.activation);
    act.seq_lengths = std::move(head.lengths);
    act.labels = std::move(head.labels);
  } catch (const elsa::error& e) {
    abandon_round(self, run::run_error::internal, e.what());
    return;
  }
  count_batch(self);
  if (st.ctx->cfg.two_part())
    ask_edge(self, forward_atom::value, act, on_head_gradient);
  else
    ask_edge(self, forward_atom::value, act, on_body_output);
}

// -- round control --

void on_open_round(client_pointer self, const open_round& open, uint32_t from_edge) {
  auto& st = self->state;
  // An older round's opening, or the same opening again from the same edge (delayed or duplicated on the
  // network), is not a new round: ignored, and recorded. (The same round from another edge is a move.)
  if (st.opened && (open.round < st.opened->first || (open.round == st.opened->first && from_edge == st.opened->second))) {
    record_error(self, *st.ctx, who(self), open.round, run::run_error::refused, "stale_opening",
                 fmt::format("an opening of round {} from edge {} after round {}'s from edge {}; ignored", open.round,
                             from_edge, st.opened->first, st.opened->second));
    return;
  }
  st.opened = std::make_pair(open.round, from_edge);
  if (st.in_round)
    abandon_round(self, run::run_error::superseded, fmt::format("round {} opened before round {} finished", open.round, st.round));
  for (const auto& a : open.assignments)
    if (a.client_id == st.id) {
      st.edge = a.edge_id;
      st.cluster = a.cluster_id;
    }
  if (open.sampling && std::find(open.sampled.begin(), open.sampled.end(), st.id) == open.sampled.end())
    return;  // not drawn for this round ([topology] clients_per_round): its last round is over, it sits out
  for (const auto& s : open.splits)
    if (s.client_id == st.id) {
      try {
        // A block that moves here takes the cluster's adapters this client last received (the previous
        // round's aggregate, which the edge holds too), so it moves with its layer.
        st.core->set_split(s.head_blocks, s.tail_blocks, st.received);
      } catch (const elsa::error& e) {
        record_error(self, *st.ctx, who(self), open.round, run::run_error::out_of_range, e.what());
        return;
      }
    }
  st.round = open.round;
  st.in_round = true;
  ++st.local_chain;
  st.fingerprint = open.fingerprint;
  st.core->begin_round();
  st.steps_target = open.local_steps;
  st.steps_done = 0;
  st.loss_sum = 0;
  st.tokens = 0;
  st.up = {};
  st.bytes_down = 0;
  st.messages = 1;  // the opening
  st.positions = 0;
  st.max_seq_len = 0;
  st.round_started = self->clock().now();
  run_step(self);
}

void on_adapters(client_pointer self, const adapter_update& up) {
  auto& st = self->state;
  const auto* dense = std::get_if<std::vector<named_tensor>>(&up.form);
  if (dense == nullptr) {
    // Edges decode sketches: what they send down is the cluster's adapters, dense.
    record_error(self, *st.ctx, who(self), up.round, run::run_error::refused, "sketch",
                 "a count-sketch adapter update from an edge; a client takes its cluster's adapters dense");
    return;
  }
  if (dense->empty())
    return;  // nothing new for this cluster
  if (st.adapters_from && st.adapters_from->first == st.edge && up.round < st.adapters_from->second) {
    record_error(self, *st.ctx, who(self), up.round, run::run_error::refused, "stale_adapters",
                 fmt::format("adapters for round {} from edge {} after those for round {}; ignored", up.round,
                             st.edge, st.adapters_from->second));
    return;
  }
  st.adapters_from = std::make_pair(st.edge, up.round);
  try {
    st.core->load_adapters(*dense);
    st.received = *dense;  // a sketched update is the difference from these
  } catch (const elsa::error& e) {
    record_error(self, *st.ctx, who(self), up.round, run::run_error::malformed_message, e.what());
  }
}

void on_assignment(client_pointer self, const assignment_update& up) {
  auto& st = self->state;
  if (up.reason == assignment_reason::initial && up.round > 0 && st.resumed_at == 0) {
    // A resumed run (the coordinator tags the placement with the edge round it resumes at): on through the
    // data from where the killed run was.
    st.resumed_at = up.round;
    st.core->skip_batches(fed::batches_before(st.ctx->cfg, st.id, up.round));
  }
  for (const auto& a : up.assignments)
    if (a.client_id == st.id) {
      st.edge = a.edge_id;
      st.cluster = a.cluster_id;
    }
}

// An edge's ping: answered after the link's RTT in this process (ctx.latency, by client, edge and ping), so
// the edge measures it on its own clock; in threaded runs the actors' own delay comes on top.
void on_heartbeat(client_pointer self, const incoming& in, const heartbeat& ping) {
  auto& st = self->state;
  if (ping.is_reply)
    return;  // this client pings no one
  auto bytes = st.ctx->codec.encode(me(self), answer(self, ping));
  if (!bytes) {
    record_error(self, *st.ctx, who(self), st.round, run::run_error::internal, bytes.error().message);
    return;
  }
  const auto& model = st.ctx->latency;
  const uint32_t e = in.sender.id;
  if (st.id >= model.base.clients || e >= model.base.edges) {
    record_error(self, *st.ctx, who(self), st.round, run::run_error::refused, "unknown_link",
                 fmt::format("a heartbeat from edge {}, outside the {} x {} latency model; not answered", e,
                             model.base.clients, model.base.edges));
    return;
  }
  const double ms = model.sample(st.id, e, ping.seq);
  transmit(self, *st.ctx, st.net, me(self), participant{tier::edge, e}, st.peers.edges.at(e), st.round, *bytes,
           std::chrono::microseconds(std::llround(ms * 1000.0)), sending::best_effort);  // measures the link
}

// The coordinator's peer table: the edges this client may be placed on.
void on_peer_table(client_pointer self, const incoming& in, const peer_table& table) {
  auto& st = self->state;
  for (std::size_t i = 0; i < table.peers.size(); ++i)
    if (table.peers[i].who.role == tier::edge)
      st.peers.add(table.peers[i].who, (*in.peer_handles)[i]);
  st.peers.complete = true;
}

// One dispatch: every one-way message, decoded once (actors/dispatch.hpp).
// A step request lost on the network ([faults] net_*) times out, if it is still the one the client waits for.
void on_lost_request(client_pointer self, uint32_t request) {
  auto& st = self->state;
  if (!check_own_timer(self, *st.ctx, st.peers, who(self), st.round, "deadline"))
    return;
  if (!st.in_round || request != st.requests)
    return;  // answered, resent or given up meanwhile
  if (st.resend) {
    auto resend = std::move(st.resend);
    st.resend = nullptr;
    resend();
    return;
  }
  abandon_round(self, run::run_error::step_failed,
                fmt::format("a step request timed out after {} ms, {} sends (lost on the network)",
                            st.ctx->cfg.step_deadline_ms, st.attempt + 1));
}

void on_message(client_pointer self, const payload& bytes, const handles* peer_handles) {
  auto& st = self->state;
  if (st.silent)
    return;
  // Openings and adapters come from the edge this client is placed on (the coordinator says which);
  // placements and the peer table from the coordinator.
  auto my_edge_sent = [&](const incoming& in, message_kind kind) {
    return from_role(self, *st.ctx, who(self), st.round, in, kind, tier::edge, st.edge);
  };
  dispatch(self, *st.ctx, st.peers, who(self), st.round, bytes, peer_handles, {false, nullptr, &st.early},
           overloaded{
             [&](const incoming& in, const open_round& m) {
               if (my_edge_sent(in, message_kind::open_round))
                 on_open_round(self, m, in.sender.id);
             },
             [&](const incoming& in, const adapter_update& m) {
               if (my_edge_sent(in, message_kind::adapter_update))
                 on_adapters(self, m);
             },
             [&](const incoming& in, const assignment_update& m) {
               if (from_role(self, *st.ctx, who(self), st.round, in, message_kind::assignment_update,
                             tier::coordinator))
                 on_assignment(self, m);
             },
             [&](const incoming& in, const peer_table& m) {
               if (from_role(self, *st.ctx, who(self), st.round, in, message_kind::peer_table, tier::coordinator))
                 on_peer_table(self, in, m);
             },
             [&](const incoming& in, const heartbeat& m) {
               if (from_role(self, *st.ctx, who(self), st.round, in, message_kind::heartbeat, tier::edge))
                 on_heartbeat(self, in, m);
             },
             [&](const incoming& in, const auto& m) {
               refuse_kind(self, *st.ctx, who(self), st.round, kind_of<std::decay_t<decltype(m)>>, in.sender);
             },
           });
  if (st.peers.complete && !st.early.empty())
    replay_early(self, st.early, [&](const payload& held) { on_message(self, held, nullptr); });
}

} // namespace

client_actor::behavior_type client(client_pointer self, context_ptr ctx, std::shared_ptr<fed::split_client> core,
                                   uint32_t id, uint32_t cluster, coordinator_actor coordinator) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.core = std::move(core);
  st.id = id;
  st.cluster = cluster;
  st.peers.add({tier::coordinator, 0}, caf::actor_cast<caf::actor>(coordinator));
  // Registration: who this client is (the envelope), what it holds and where to reach it (this actor).
  register_with(self, *st.ctx, who(self), me(self), coordinator, registration{st.core->sample_count(), cluster});
  return {
    [self](deliver_atom, const payload& bytes) { on_message(self, bytes, nullptr); },
    [self](deadline_atom, uint32_t request) { on_lost_request(self, request); },
    [self](forward_atom, uint32_t chain) { on_local_step(self, chain); },
    // -- reliable delivery (actors/transmit.hpp) --
    [self](deliver_atom, const payload& bytes, uint64_t id, uint64_t sum) {
      if (self->state.silent)
        return;  // gone silent: acknowledges nothing either
      receive(self, *self->state.ctx, self->state.net, who(self), me(self), self->state.round, bytes, id, sum,
              [self](const payload& b) { on_message(self, b, nullptr); });
    },
    [self](ack_atom, uint64_t id) { on_ack(self, self->state.net, id); },
    [self](resend_atom, uint64_t token) {
      on_resend(self, *self->state.ctx, self->state.net, token, self->state.round, self->state.silent);
    },
    [self](deliver_atom, const payload& bytes, const handles& peer_handles) {
      on_message(self, bytes, &peer_handles);
    },
  };
}

} // namespace elsa::actors
