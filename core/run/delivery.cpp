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

bool may_resend(const run_config& cfg, uint32_t attempt, int64_t waited_ms) {
  return attempt + 1 < max_sends && waited_ms + ack_wait_ms(cfg, attempt + 1) <= cfg.round_deadline_ms;
}

bool seen_ids::first(uint64_t id) {
  if (id <= through_ || !above_.insert(id).second)
    return false;
  while (true) {
    if (!above_.empty() && *above_.begin() == through_ + 1) {
      ++through_;
      above_.erase(above_.begin());
    } else if (above_.size() > window) {
      through_ = *above_.begin();  // the gap below it will not be filled now
      above_.erase(above_.begin());
    } else {
      return true;
    }
  }
}

} // namespace elsa::run
