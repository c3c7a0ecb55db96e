// A client round's usage for the simulated clock (see sim_usage.hpp).
#include "core/run/sim_usage.hpp"

namespace elsa::run {

sim::layout sim_layout(const run_config& cfg) {
  return cfg.whole_model() ? sim::layout::whole_model : cfg.two_part() ? sim::layout::two_part : sim::layout::u_shaped;
}

sim::client_usage client_usage_of(const run_config& cfg, const client_round_event& ev) {
  sim::client_usage u;
  u.client = ev.client;
  u.edge = ev.edge;
  u.at = {ev.head_blocks > 0 ? static_cast<int64_t>(ev.head_blocks) : cfg.head_blocks,
          ev.head_blocks > 0 ? static_cast<int64_t>(ev.tail_blocks) : cfg.client_tail_blocks()};
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

} // namespace elsa::run
