// FedBuff at an edge on the simulated clock (see async_buffer.hpp).
#include "core/fed/async_buffer.hpp"

#include <algorithm>
#include <limits>

namespace elsa::fed {

aggregation_policy fedbuff_policy(aggregation_policy base) {
  base.polynomial_staleness = true;
  base.max_staleness = std::numeric_limits<uint32_t>::max();
  return base;
}

void async_buffer::opened(uint32_t round, const std::map<uint32_t, adapter_set>& adapters) {
  start_[round] = adapters;
  // Only the rounds a held upload started in (and this one) are needed again.
  for (auto it = start_.begin(); it != start_.end();) {
    const bool needed = it->first == round || std::any_of(held_.begin(), held_.end(), [&it](const auto& h) {
                          return h.second.round == it->first;
                        });
    it = needed ? std::next(it) : start_.erase(it);
  }
}

async_buffer::flush_result async_buffer::flush(uint32_t round, std::map<uint32_t, upload> wave, std::size_t buffer) {
  std::map<uint32_t, sim::upload_time> times;
  for (const auto& [c, u] : wave)
    times[c] = u.time;
  flush_result out;
  out.plan = sim::fedbuff_flush(times, round, waiting_, buffer);
  const auto& now = start_[round];
  for (const auto& t : out.plan.taken) {
    out.staleness[t.client] = static_cast<int64_t>(round) - static_cast<int64_t>(t.round);
    if (t.round == round) {
      out.take.push_back(std::move(wave.at(t.client).update));
      continue;
    }
    auto u = std::move(held_.at(t.client));
    held_.erase(t.client);
    const auto from = start_.find(u.round);
    const auto to = now.find(u.cluster);
    const adapter_set* base = nullptr;
    if (from != start_.end()) {
      const auto k = from->second.find(u.cluster);
      base = k == from->second.end() ? nullptr : &k->second;
    }
    if (base != nullptr && to != now.end())
      u.adapters = rebase(u.adapters, *base, to->second);
    else
      out.not_rebased.push_back(u.client);
    out.take.push_back(std::move(u));
  }
  for (const auto& w : out.plan.waiting)
    if (w.round == round)
      held_[w.client] = std::move(wave.at(w.client).update);
  waiting_ = out.plan.waiting;
  return out;
}

std::vector<uint32_t> async_buffer::waiting() const {
  std::vector<uint32_t> out;
  for (const auto& w : waiting_)
    out.push_back(w.client);
  return out;
}

} // namespace elsa::fed
