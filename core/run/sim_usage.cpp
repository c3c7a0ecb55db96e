// A client round's usage for the simulated clock (see sim_usage.hpp).
#include "core/run/sim_usage.hpp"

namespace elsa::run {

sim::layout sim_layout(const run_config& cfg) {
  return cfg.whole_model() ? sim::layout::whole_model : cfg.two_part() ? sim::layout::two_part : sim::layout::u_shaped;
}

namespace {

// An event's split; 0 head blocks (an event that does not say) is the config's.
sim::split split_of(const run_config& cfg, uint32_t head_blocks, uint32_t tail_blocks) {
  if (head_blocks == 0)
    return {cfg.head_blocks, cfg.client_tail_blocks()};
  return {head_blocks, tail_blocks};
}

} // namespace

sim::client_usage client_usage_of(const run_config& cfg, const client_round_event& ev) {
  sim::client_usage u;
  u.client = ev.client;
  u.edge = ev.edge;
  u.at = split_of(cfg, ev.head_blocks, ev.tail_blocks);
  u.steps = ev.steps;
  u.positions = ev.positions;
  u.max_seq_len = ev.max_seq_len;
  u.batch = cfg.batch_size;
  u.bytes_up = ev.bytes_up;
  u.bytes_down = ev.bytes_down;
  u.messages = ev.messages;
  u.device = cfg.client_device(u.client, ev.round);
  u.where = sim_layout(cfg);
  return u;
}

double upload_sim_seconds(const run_config& cfg, const sim::model_shape& shape, const client_round_event& ev) {
  const auto u = client_usage_of(cfg, ev);
  return sim::until_upload_s(sim::client_round(shape, u, cfg.edge_flops(ev.edge)), u);
}

double served_edge_seconds(const run_config& cfg, const sim::model_shape& shape, uint32_t edge, sim::split at,
                           int64_t steps, int64_t positions) {
  return sim::edge_seconds(shape, at, sim_layout(cfg), cfg.batch_size, steps, positions, cfg.edge_flops(edge));
}

} // namespace elsa::run
