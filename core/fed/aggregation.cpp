// Aggregation policy (see aggregation.hpp). No torch: values are checked on their wire bytes.
#include "core/fed/aggregation.hpp"

#include <cmath>
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace elsa::fed {

namespace {

// True when every element is finite. f16 and bf16 are checked on their exponent bits (all ones = inf/NaN).
bool all_finite(const messages::tensor_bytes& t) {
  const auto* p = t.data();
  const std::size_t n = t.size_bytes();
  switch (t.type()) {
    case messages::dtype::f32:
      for (std::size_t i = 0; i + 4 <= n; i += 4) {
        float v;
        std::memcpy(&v, p + i, 4);
        if (!std::isfinite(v))
          return false;
      }
      return true;
    case messages::dtype::f16:
    case messages::dtype::bf16: {
      const uint16_t mask = t.type() == messages::dtype::f16 ? 0x7C00u : 0x7F80u;
      for (std::size_t i = 0; i + 2 <= n; i += 2) {
        uint16_t v;
        std::memcpy(&v, p + i, 2);
        if ((v & mask) == mask)
          return false;
      }
      return true;
    }
  }
  return false;
}

rejected_update reject(const client_update& u, rejection why, std::string text) {
  return {u.client, u.round, why, std::move(text)};
}

} // namespace

adapter_layout layout_of(const adapter_set& set) {
  adapter_layout l;
  for (const auto& nt : set) {
    l.names.push_back(nt.name);
    l.shapes.push_back(nt.tensor.shape());
  }
  return l;
}

const char* to_string(rejection why) {
  switch (why) {
    case rejection::excluded:
      return "excluded";
    case rejection::wrong_names:
      return "wrong_names";
    case rejection::wrong_shape:
      return "wrong_shape";
    case rejection::not_finite:
      return "not_finite";
    case rejection::inflated_samples:
      return "inflated_samples";
    case rejection::too_stale:
      return "too_stale";
    case rejection::zero_weight:
      return "zero_weight";
  }
  return "?";
}

std::optional<rejected_update> validate(const client_update& u, const adapter_layout& layout,
                                        uint64_t registered_samples, const char* kind) {
  // LoRA entries must be the cluster's, in order; heads are per task (adapters.hpp): each must have its
  // task's shape where the cluster has that head, and a head the cluster has not seen yet is taken as is.
  std::vector<std::size_t> lora;  // indices into layout
  std::map<std::string, std::size_t> heads;
  for (std::size_t i = 0; i < layout.names.size(); ++i) {
    if (is_head(layout.names[i]))
      heads[layout.names[i]] = i;
    else
      lora.push_back(i);
  }
  std::size_t next = 0;  // the next LoRA entry of the layout
  for (const auto& nt : u.adapters) {
    std::optional<std::size_t> at;
    if (is_head(nt.name)) {
      if (auto h = heads.find(nt.name); h != heads.end())
        at = h->second;
    } else {
      if (next >= lora.size())
        return reject(u, rejection::wrong_names,
                      fmt::format("{} {}: tensor '{}' beyond the cluster's {} adapter tensors", kind, u.client, nt.name,
                                  lora.size()));
      at = lora[next++];
      if (nt.name != layout.names[*at])
        return reject(u, rejection::wrong_names, fmt::format("{} {}: tensor '{}' where the cluster has '{}'", kind,
                                                             u.client, nt.name, layout.names[*at]));
    }
    if (at && nt.tensor.shape() != layout.shapes[*at])
      return reject(u, rejection::wrong_shape,
                    fmt::format("{} {}: '{}' has shape [{}], the cluster's is [{}]", kind, u.client, nt.name,
                                fmt::join(nt.tensor.shape(), ","), fmt::join(layout.shapes[*at], ",")));
    if (nt.tensor.numel() < 0 ||
        static_cast<std::size_t>(nt.tensor.numel()) * messages::dtype_size(nt.tensor.type()) != nt.tensor.size_bytes())
      return reject(u, rejection::wrong_shape,
                    fmt::format("{} {}: '{}' holds {} bytes for shape [{}]", kind, u.client, nt.name,
                                nt.tensor.size_bytes(), fmt::join(nt.tensor.shape(), ",")));
    if (!all_finite(nt.tensor))
      return reject(u, rejection::not_finite, fmt::format("{} {}: '{}' holds NaN or infinity", kind, u.client, nt.name));
  }
  if (next != lora.size())
    return reject(u, rejection::wrong_names,
                  fmt::format("{} {}: {} adapter tensors, the cluster's adapters have {}", kind, u.client, next,
                              lora.size()));
  if (u.samples > registered_samples)
    return reject(u, rejection::inflated_samples,
                  fmt::format("{} {}: claims {} samples, registered {}", kind, u.client, u.samples, registered_samples));
  return std::nullopt;
}

double update_weight(const client_update& u, uint32_t round, const std::map<uint32_t, double>& trust,
                     const aggregation_policy& policy) {
  if (u.round > round)
    return 0.0;
  const auto lag = static_cast<double>(round - u.round);
  double w = static_cast<double>(u.samples)
             * (policy.polynomial_staleness ? 1.0 / std::sqrt(1.0 + lag) : std::pow(policy.staleness_decay, lag));
  if (policy.trust_weighting) {
    auto t = trust.find(u.client);
    if (t != trust.end())
      w *= std::max(0.0, t->second);
  }
  return w;
}

bool quorum_met(std::size_t reported, std::size_t live, double quorum) {
  return reported > 0 && static_cast<double>(reported) >= quorum * static_cast<double>(live);
}

aggregation_result aggregate_updates(const std::vector<client_update>& updates, const aggregation_inputs& in) {
  aggregation_result out;
  const char* kind = in.sender_kind;
  std::map<uint32_t, std::vector<std::pair<const client_update*, double>>> accepted;
  std::map<uint32_t, adapter_layout> layouts = in.layouts;
  using sender = std::pair<uint32_t, uint32_t>;  // (client, cluster): one update each
  std::map<sender, uint32_t> newest;             // -> round of its newest update
  for (const auto& u : updates) {
    auto it = newest.find({u.client, u.cluster});
    if (it == newest.end() || it->second < u.round)
      newest[{u.client, u.cluster}] = u.round;
  }
  std::set<sender> taken;
  for (const auto& u : updates) {
    const uint32_t latest = newest[{u.client, u.cluster}];
    if (u.round < latest || !taken.insert({u.client, u.cluster}).second) {
      out.rejected.push_back(reject(u, rejection::too_stale,
                                    fmt::format("{} {}: round {} update superseded by its round {} one", kind,
                                                u.client, u.round, latest)));
      continue;
    }
    if (in.excluded.count(u.client)) {
      out.rejected.push_back(reject(u, rejection::excluded, fmt::format("{} {} is excluded", kind, u.client)));
      continue;
    }
    if (u.round > in.round || in.round - u.round > in.policy.max_staleness) {
      out.rejected.push_back(reject(u, rejection::too_stale,
                                    fmt::format("{} {}: update of round {} in the aggregation of round {}",
                                                kind, u.client, u.round, in.round)));
      continue;
    }
    auto layout = layouts.find(u.cluster);
    if (layout == layouts.end())
      layout = layouts.emplace(u.cluster, layout_of(u.adapters)).first;
    auto reg = in.registered_samples.find(u.client);
    const uint64_t registered = reg == in.registered_samples.end() ? u.samples : reg->second;
    if (auto bad = validate(u, layout->second, registered, kind)) {
      out.rejected.push_back(std::move(*bad));
      continue;
    }
    // A head the cluster had not seen joins its layout, so later updates of that task are checked against it.
    for (const auto& nt : u.adapters)
      if (is_head(nt.name) && std::find(layout->second.names.begin(), layout->second.names.end(), nt.name)
                                == layout->second.names.end()) {
        layout->second.names.push_back(nt.name);
        layout->second.shapes.push_back(nt.tensor.shape());
      }
    const double w = update_weight(u, in.round, in.trust, in.policy);
    if (!(w > 0)) {
      out.rejected.push_back(reject(u, rejection::zero_weight, fmt::format("{} {}: weight {}", kind, u.client, w)));
      continue;
    }
    accepted[u.cluster].emplace_back(&u, w);
  }
  for (const auto& [cluster, list] : accepted) {
    std::vector<weighted_set> sets;
    double total = 0;
    for (const auto& [u, w] : list) {
      sets.push_back({&u->adapters, w});
      total += w;
    }
    cluster_aggregate agg;
    // Cannot throw: every set passed validate against one layout (heads per name, see adapters.hpp).
    agg.adapters = weighted_average_by_name(sets);
    for (const auto& [u, w] : list) {
      agg.samples += u->samples;
      agg.clients.push_back(u->client);
      if (u->round < in.round)
        agg.stale.push_back(u->client);
      agg.weights[u->client] = w / total;
    }
    out.clusters.emplace(cluster, std::move(agg));
  }
  return out;
}

uint64_t digest(const adapter_set& set) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  };
  for (const auto& nt : set) {
    mix(nt.name.data(), nt.name.size());
    const auto type = static_cast<uint8_t>(nt.tensor.type());
    mix(&type, 1);
    mix(nt.tensor.shape().data(), nt.tensor.shape().size() * sizeof(int64_t));
    mix(nt.tensor.data(), nt.tensor.size_bytes());
  }
  return h;
}

} // namespace elsa::fed
