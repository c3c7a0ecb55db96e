#include "core/run/delivery.hpp"

#include <algorithm>
#include <string_view>

#include "core/data/ngram.hpp"
#include "core/run/net_faults.hpp"

namespace elsa::run {

bool reliable_delivery(const run_config& cfg) {
  return network_faults_on(cfg) && cfg.retry_ms > 0;
}

uint64_t checksum(const std::byte* data, std::size_t size) {
  const auto h = data::fnv1a(std::string_view(reinterpret_cast<const char*>(data), size));
  return h == 0 ? 1 : h;
}

int64_t ack_wait_ms(const run_config& cfg, uint32_t attempt) {
  return cfg.retry_ms << std::min<uint32_t>(attempt, 3);
}

bool may_resend(const run_config& cfg, int64_t waited_ms) {
  return waited_ms < cfg.round_deadline_ms;
}

bool seen_ids::first(uint64_t id) {
  if (id < forgotten_below_ || !ids_.insert(id).second)
    return false;
  while (ids_.size() > window) {
    forgotten_below_ = *ids_.begin() + 1;
    ids_.erase(ids_.begin());
  }
  return true;
}

} // namespace elsa::run
