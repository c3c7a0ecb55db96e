// The cloud-aggregator role's protocol (see cloud_aggregator.hpp).
#include "actors/cloud_aggregator.hpp"

#include <chrono>

#include <fmt/format.h>

#include "actors/peers.hpp"
#include "actors/reporting.hpp"
#include "core/errors.hpp"
#include "core/fed/aggregation.hpp"
#include "core/fed/evaluator.hpp"

namespace elsa::actors {

namespace {

using namespace messages;

const participant me{tier::cloud, 0};

uint32_t first_edge_round(const cloud_pointer& self) {
  return self->state.cloud_round * static_cast<uint32_t>(self->state.ctx->cfg.kappa2);
}

uint32_t last_edge_round(const cloud_pointer& self) {
  return first_edge_round(self) + static_cast<uint32_t>(self->state.ctx->cfg.kappa2) - 1;
}

// Sends every cluster's global adapters to the live edges, tagged with the first edge round that uses them.
int64_t broadcast(cloud_pointer self, uint32_t round) {
  auto& st = self->state;
  int64_t bytes_sent = 0;
  for (uint32_t k = 0; k < st.global.size(); ++k) {
    adapter_update up;
    up.round = round;
    up.base_round = round;
    up.cluster_id = k;
    up.form = st.global[k];
    auto bytes = st.ctx->codec.encode(me, up);
    if (!bytes) {
      record_error(self, *st.ctx, "cloud", round, "internal", bytes.error().message);
      continue;
    }
    for (auto e : st.live_edges) {
      bytes_sent += static_cast<int64_t>(bytes->size());
      self->send(st.ctx->peers.edges.at(e), adapter_atom::value, *bytes);
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
    record_error(self, ctx, "cloud", open.round, "internal", bytes.error().message);
    return;
  }
  self->send(ctx.peers.coordinator, open_round_atom::value, std::move(*bytes));
  // Every edge round may take its deadline; beyond that (plus slack) the cloud aggregates what it has.
  self->delayed_send(self, std::chrono::milliseconds(ctx.cfg.kappa2 * (2 * ctx.cfg.round_deadline_ms + 1000)),
                     deadline_atom::value, st.cloud_round);
}

void finish(cloud_pointer self) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  nlohmann::json test = nlohmann::json::object();
  for (uint32_t k = 0; k < st.global.size(); ++k) {
    try {
      const auto s = st.evaluator->evaluate(k, st.global[k], fed::held_out::test);
      test[ctx.task_names.at(k)] = {{"accuracy", s.accuracy}, {"macro_f1", s.macro_f1}, {"loss", s.loss},
                                    {"count", s.count}};
      if (ctx.cfg.save_adapters)
        fed::save_adapter_set(ctx.cfg.out_dir / "adapters" / ctx.task_names.at(k), ctx.cfg, st.num_labels.at(k),
                              st.global[k]);
    } catch (const elsa::error& e) {
      record_error(self, ctx, "cloud", last_edge_round(self), "internal", e.what());
    }
  }
  record(self, ctx, {{"type", "final"}, {"test", test}, {"cloud_received", st.received}});
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
  for (uint32_t k = 0; k < st.global.size(); ++k)
    in.layouts[k] = fed::layout_of(st.global[k]);
  in.policy.trust_weighting = false;
  in.policy.max_staleness = 0;
  in.sender_kind = "edge";
  const auto agg = quorum ? fed::aggregate_updates(updates, in) : fed::aggregation_result{};
  for (const auto& r : agg.rejected)
    record_error(self, ctx, "cloud", round, std::string("rejected_update/") + fed::to_string(r.why), r.text);
  nlohmann::json accuracy = nlohmann::json::object(), loss = nlohmann::json::object();
  for (uint32_t k = 0; k < st.global.size(); ++k) {
    auto it = agg.clusters.find(k);
    if (it != agg.clusters.end())
      st.global[k] = it->second.adapters;
    try {
      const auto s = st.evaluator->evaluate(k, st.global[k], fed::held_out::validation);
      accuracy[ctx.task_names.at(k)] = s.accuracy;
      loss[ctx.task_names.at(k)] = s.loss;
    } catch (const elsa::error& e) {
      record_error(self, ctx, "cloud", round, "internal", e.what());
    }
  }
  if (!quorum)
    record_error(self, ctx, "cloud", round, "no_quorum",
                 fmt::format("{} of {} edges reported; the global adapters stay as they were", reported,
                             st.live_edges.size()));
  ++st.cloud_round;
  const bool more = static_cast<int64_t>(st.cloud_round) < ctx.cfg.cloud_rounds();
  const int64_t bytes_down = st.bytes_down_pending + (more ? broadcast(self, first_edge_round(self)) : 0);
  st.bytes_down_pending = 0;
  record(self, ctx,
         {{"type", "cloud_round"}, {"round", round}, {"edges_reported", reported}, {"bytes_down", bytes_down},
          {"accuracy", accuracy}, {"loss", loss}});
  if (more)
    open_cloud_round(self);
  else
    finish(self);
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

void on_adapters(cloud_pointer self, const received<adapter_update>& msg) {
  auto& st = self->state;
  const auto& up = msg.body;
  if (msg.sender.role != tier::edge) {
    record_error(self, *st.ctx, "cloud", up.round, "unexpected_message",
                 std::string("adapter update from a ") + to_string(msg.sender.role) + "; the cloud takes edges' only");
    return;
  }
  const auto* dense = std::get_if<std::vector<named_tensor>>(&up.form);
  if (dense == nullptr) {
    record_error(self, *st.ctx, "cloud", up.round, "unexpected_message",
                 "count-sketch adapter updates are not decoded by the cloud yet");
    return;
  }
  if (!st.waiting || up.round != last_edge_round(self) || up.cluster_id >= st.global.size()) {
    record_error(self, *st.ctx, "cloud", up.round, "late_update",
                 fmt::format("edge {}'s update for round {} arrived outside its cloud round", msg.sender.id, up.round));
    return;
  }
  st.received_sets[msg.sender.id][up.cluster_id] = {*dense, up.sample_count};
  maybe_aggregate(self);
}

void on_payload(cloud_pointer self, const payload& bytes) {
  auto& st = self->state;
  auto msg = st.ctx->codec.decode_any(bytes);
  if (!msg) {
    st.received["undecodable"] += 1;
    record_rejected(self, *st.ctx, "cloud", last_edge_round(self), msg.error());
    return;
  }
  const auto kind = static_cast<message_kind>(msg->body.index());
  st.received[to_string(kind)] += 1;
  if (!check_sender(self, *st.ctx, "cloud", last_edge_round(self), to_string(kind), msg->sender))
    return;
  if (auto* up = std::get_if<adapter_update>(&msg->body))
    on_adapters(self, received<adapter_update>{msg->sender, std::move(*up)});
  else
    record_error(self, *st.ctx, "cloud", last_edge_round(self), "unexpected_message",
                 std::string("the cloud only takes adapter updates, not ") + to_string(kind));
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
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& st = self->state;
    for (uint32_t e = 0; e < st.ctx->peers.edges.size(); ++e)
      if (dm.source == caf::actor_cast<caf::actor_addr>(st.ctx->peers.edges[e])) {
        st.live_edges.erase(e);
        maybe_aggregate(self);
      }
  });
  return {
    // -- round control --
    [self](start_atom) {
      auto& st = self->state;
      for (uint32_t e = 0; e < st.ctx->peers.edges.size(); ++e) {
        st.live_edges.insert(e);
        self->monitor(st.ctx->peers.edges[e]);
      }
      st.bytes_down_pending = broadcast(self, 0);
      open_cloud_round(self);
    },
    [self](deadline_atom, uint32_t cloud_round) {
      auto& st = self->state;
      if (st.waiting && cloud_round == st.cloud_round)
        aggregate(self);
    },
    // -- adapters (and anything else, which is counted and refused) --
    [self](adapter_atom, const payload& bytes) { on_payload(self, bytes); },
    [self](deliver_atom, const payload& bytes) { on_payload(self, bytes); },
  };
}

} // namespace elsa::actors
