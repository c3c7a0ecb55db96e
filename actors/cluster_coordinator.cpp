// The cluster-coordinator role's protocol (see cluster_coordinator.hpp).
#include "actors/cluster_coordinator.hpp"

#include <chrono>

#include <fmt/format.h>

#include "actors/peers.hpp"
#include "actors/reporting.hpp"

namespace elsa::actors {

namespace {

using namespace messages;

const participant me{tier::coordinator, 0};


void open_edge_round(coordinator_pointer self, uint32_t round) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  st.round = round;
  st.closed.clear();
  open_round open;
  open.round = round;
  open.local_steps = static_cast<uint32_t>(ctx.cfg.kappa1);
  open.deadline_ms = static_cast<uint64_t>(ctx.cfg.round_deadline_ms);
  open.cloud_round = round == st.last_round;
  open.assignments = st.assignments;
  open.splits = st.splits;
  auto bytes = ctx.codec.encode(me, open);
  if (!bytes) {
    record_error(self, ctx, "coordinator", round, "internal", bytes.error().message);
    return;
  }
  for (auto e : st.live_edges) {
    st.bytes_control += static_cast<int64_t>(bytes->size());
    self->send(ctx.peers.edges.at(e), open_round_atom::value, *bytes);
  }
  // Edges close on their own deadline; this one only guards against an edge that never answers.
  self->delayed_send(self, std::chrono::milliseconds(2 * ctx.cfg.round_deadline_ms + 1000), deadline_atom::value,
                     round);
}

void round_done(coordinator_pointer self) {
  auto& st = self->state;
  record(self, *st.ctx,
         {{"type", "round_closed"}, {"round", st.round}, {"cloud_round", st.round == st.last_round},
          {"edges", st.closed.size()}, {"bytes_control", st.bytes_control},
          // When it closed, on the process's steady clock: the recorder may see events late (one CAF thread).
          {"at_s", std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count()}});
  st.bytes_control = 0;
  if (st.round < st.last_round) {
    open_edge_round(self, st.round + 1);
  } else {
    st.running = false;  // the cloud opens the next cloud round after aggregating
  }
}

void maybe_done(coordinator_pointer self) {
  auto& st = self->state;
  if (!st.running)
    return;
  for (auto e : st.live_edges)
    if (!st.closed.count(e))
      return;
  round_done(self);
}

// First contact (the peers are known only once the run starts): watch the edges, send initial trust.
void setup(coordinator_pointer self) {
  auto& st = self->state;
  st.set_up = true;
  for (uint32_t e = 0; e < st.ctx->peers.edges.size(); ++e) {
    st.live_edges.insert(e);
    self->monitor(st.ctx->peers.edges[e]);
  }
  // Trust starts at 1 on the edges; trust_update messages change it when the trust mechanism (ELSA.md 3.1) or
  // an operator has something to say.
}

void on_cloud_round(coordinator_pointer self, const open_round& open) {
  auto& st = self->state;
  if (!st.set_up)
    setup(self);
  st.running = true;
  st.last_round = open.round + static_cast<uint32_t>(st.ctx->cfg.kappa2) - 1;
  open_edge_round(self, open.round);
}

void on_close(coordinator_pointer self, const received<close_round>& msg) {
  auto& st = self->state;
  if (msg.sender.role != tier::edge || msg.body.round != st.round)
    return;
  st.closed.insert(msg.sender.id);
  maybe_done(self);
}

// An edge died: its clients move to the live edges (round-robin in client order) from the next round on.
void on_edge_down(coordinator_pointer self, uint32_t edge) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  st.live_edges.erase(edge);
  if (st.live_edges.empty()) {
    record_error(self, ctx, "coordinator", st.round, "no_edges", "every edge is down");
    return;
  }
  std::vector<uint32_t> edges(st.live_edges.begin(), st.live_edges.end());
  std::size_t next = 0;
  std::vector<uint32_t> moved;
  for (auto& a : st.assignments)
    if (a.edge_id == edge) {
      a.edge_id = edges[next++ % edges.size()];
      moved.push_back(a.client_id);
    }
  assignment_update up;
  up.round = st.round;
  up.reason = assignment_reason::edge_down;
  up.assignments = st.assignments;
  auto bytes = ctx.codec.encode(me, up);
  if (bytes) {
    for (auto e : st.live_edges) {
      st.bytes_control += static_cast<int64_t>(bytes->size());
      self->send(ctx.peers.edges.at(e), assign_atom::value, *bytes);
    }
    for (auto c : moved) {
      st.bytes_control += static_cast<int64_t>(bytes->size());
      self->send(ctx.peers.clients.at(c), assign_atom::value, *bytes);
    }
  }
  record_error(self, ctx, "coordinator", st.round, "edge_down",
               fmt::format("edge {} is down; {} clients reassigned", edge, moved.size()));
  maybe_done(self);
}

} // namespace

coordinator_actor::behavior_type cluster_coordinator(coordinator_pointer self, context_ptr ctx,
                                                     std::vector<messages::assignment> initial) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.assignments = std::move(initial);
  for (const auto& a : st.assignments)
    st.splits.push_back({a.client_id, static_cast<uint32_t>(st.ctx->cfg.head_blocks),
                         static_cast<uint32_t>(st.ctx->cfg.tail_blocks)});
  self->set_down_handler([self](const caf::down_msg& dm) {
    const auto& edges = self->state.ctx->peers.edges;
    for (uint32_t e = 0; e < edges.size(); ++e)
      if (dm.source == caf::actor_cast<caf::actor_addr>(edges[e]))
        on_edge_down(self, e);
  });
  return {
    // -- round control --
    [self](open_round_atom, const payload& bytes) {
      auto msg = self->state.ctx->codec.decode<open_round>(bytes);
      if (!msg || msg->sender.role != tier::cloud) {
        if (!msg)
          record_rejected(self, *self->state.ctx, "coordinator", self->state.round, msg.error());
        return;
      }
      if (check_sender(self, *self->state.ctx, "coordinator", self->state.round, "open_round", msg->sender))
        on_cloud_round(self, msg->body);
    },
    [self](close_round_atom, const payload& bytes) {
      auto msg = self->state.ctx->codec.decode<close_round>(bytes);
      if (!msg) {
        record_rejected(self, *self->state.ctx, "coordinator", self->state.round, msg.error());
        return;
      }
      if (check_sender(self, *self->state.ctx, "coordinator", self->state.round, "close_round", msg->sender))
        on_close(self, *msg);
    },
    [self](deadline_atom, uint32_t round) {
      auto& st = self->state;
      if (st.running && round == st.round) {
        record_error(self, *st.ctx, "coordinator", round, "deadline_missed",
                     fmt::format("{} of {} edges closed round {}", st.closed.size(), st.live_edges.size(), round));
        round_done(self);
      }
    },
    // -- any kind --
    [self](deliver_atom, const payload& bytes) {
      auto& st = self->state;
      auto msg = st.ctx->codec.decode_any(bytes);
      if (!msg) {
        record_rejected(self, *st.ctx, "coordinator", st.round, msg.error());
        return;
      }
      if (!check_sender(self, *st.ctx, "coordinator", st.round, to_string(static_cast<message_kind>(msg->body.index())),
                        msg->sender))
        return;
      if (auto* open = std::get_if<open_round>(&msg->body); open && msg->sender.role == tier::cloud)
        on_cloud_round(self, *open);
      else if (auto* close = std::get_if<close_round>(&msg->body))
        on_close(self, received<close_round>{msg->sender, *close});
      else
        record_error(self, *st.ctx, "coordinator", st.round, "unexpected_message",
                     std::string("the coordinator does not take this ") + to_string(static_cast<message_kind>(msg->body.index())));
    },
  };
}

} // namespace elsa::actors
