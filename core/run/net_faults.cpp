// Seeded network faults (see net_faults.hpp).
#include "core/run/net_faults.hpp"

#include <algorithm>
#include <random>

#include "core/data/random.hpp"

namespace elsa::run {

namespace {

uint64_t link_key(const messages::participant& from, const messages::participant& to) {
  return (static_cast<uint64_t>(from.role) << 56) ^ (static_cast<uint64_t>(from.id) << 32)
         ^ (static_cast<uint64_t>(to.role) << 24) ^ static_cast<uint64_t>(to.id);
}

// Uniform in [0, 1) from 53 bits (std::uniform_real_distribution is implementation-defined).
double unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

bool listed(const std::vector<int64_t>& ids, uint32_t id) {
  return std::find(ids.begin(), ids.end(), static_cast<int64_t>(id)) != ids.end();
}

} // namespace

const char* to_string(net_fault f) noexcept {
  switch (f) {
    case net_fault::drop:
      return "drop";
    case net_fault::partition:
      return "partition";
    case net_fault::delay:
      return "delay";
    case net_fault::duplicate:
      return "duplicate";
    case net_fault::flip:
      return "flip";
    case net_fault::truncate:
      return "truncate";
  }
  return "unknown";
}

bool net_action::has(net_fault f) const {
  return std::find(faults.begin(), faults.end(), f) != faults.end();
}

bool network_faults_on(const run_config& cfg) {
  return cfg.net_drop > 0 || (cfg.net_delay > 0 && cfg.net_delay_ms > 0) || cfg.net_duplicate > 0
         || cfg.net_corrupt > 0 || (cfg.partition_rounds > 0 && (!cfg.partition_edges.empty() || !cfg.partition_clients.empty()));
}

bool partitioned(const run_config& cfg, const messages::participant& who, uint32_t round) {
  if (cfg.partition_rounds <= 0 || round < cfg.partition_round || round >= cfg.partition_round + cfg.partition_rounds)
    return false;
  return (who.role == messages::tier::edge && listed(cfg.partition_edges, who.id))
         || (who.role == messages::tier::client && listed(cfg.partition_clients, who.id));
}

net_action decide(const run_config& cfg, const messages::participant& from, const messages::participant& to,
                  uint64_t seq, uint32_t round) {
  net_action a;
  if (partitioned(cfg, from, round) || partitioned(cfg, to, round)) {
    a.lost = true;
    a.faults.push_back(net_fault::partition);
    return a;
  }
  // One generator per message; every draw is made whatever the earlier ones gave, so turning one fault on
  // does not move the others.
  std::mt19937_64 rng(data::detail::mix_seed(data::detail::mix_seed(cfg.seed ^ 0x6e65746661756c74ULL, link_key(from, to)), seq));
  const double p_drop = unit(rng), p_delay = unit(rng), delay = unit(rng), p_dup = unit(rng), p_corrupt = unit(rng),
               kind = unit(rng);
  a.damage_seed = rng();
  if (p_drop < cfg.net_drop) {
    a.lost = true;
    a.faults.push_back(net_fault::drop);
    return a;
  }
  if (p_delay < cfg.net_delay && cfg.net_delay_ms > 0) {
    a.delay_ms = std::max<int64_t>(1, static_cast<int64_t>(delay * 2.0 * static_cast<double>(cfg.net_delay_ms)));
    a.faults.push_back(net_fault::delay);
  }
  if (p_dup < cfg.net_duplicate)
    a.faults.push_back(net_fault::duplicate);
  if (p_corrupt < cfg.net_corrupt)
    a.faults.push_back(kind < 0.5 ? net_fault::flip : net_fault::truncate);
  return a;
}

std::vector<std::byte> damage(const std::byte* bytes, std::size_t size, net_fault fault, uint64_t seed) {
  std::vector<std::byte> out(bytes, bytes + size);
  if (size == 0)
    return out;
  std::mt19937_64 rng(seed);
  if (fault == net_fault::flip) {
    const auto flips = 1 + rng() % 8;
    for (uint64_t i = 0; i < flips; ++i) {
      const auto bit = rng() % (static_cast<uint64_t>(size) * 8);
      out[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    }
  } else if (fault == net_fault::truncate) {
    out.resize(static_cast<std::size_t>(rng() % static_cast<uint64_t>(size)));
  }
  return out;
}

} // namespace elsa::run
