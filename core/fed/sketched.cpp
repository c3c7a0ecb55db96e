// Count-sketched adapter updates (see sketched.hpp).
#include "core/fed/sketched.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::fed {

namespace {

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape)
    n *= d;
  return n;
}

// The f32 values of a tensor (f32 on the wire: adapters and tables are f32 everywhere).
std::vector<float> f32_values(const messages::tensor_bytes& t, const std::string& name) {
  if (t.type() != messages::dtype::f32 || t.numel() < 0
      || static_cast<std::size_t>(t.numel()) * 4 != t.size_bytes())
    throw error(errc::malformed_input, fmt::format("sketched update: '{}' is not a whole f32 tensor", name));
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  if (!out.empty())
    std::memcpy(out.data(), t.data(), out.size() * 4);
  return out;
}

messages::tensor_bytes f32_tensor(std::vector<int64_t> shape, const std::vector<float>& v) {
  return messages::tensor_bytes::copy_of(messages::dtype::f32, std::move(shape), v.data(), v.size() * 4);
}

} // namespace

sketch_plan plan_sketch(const run::run_config& cfg, const adapter_set& cluster_set) {
  sketch_plan p;
  uint64_t dim = 0;
  for (const auto& nt : cluster_set) {
    if (is_head(nt.name) || nt.name == k_table_name)
      continue;
    p.layout.push_back({nt.name, messages::dtype::f32, nt.tensor.shape()});
    dim += static_cast<uint64_t>(numel(nt.tensor.shape()));
  }
  std::sort(p.layout.begin(), p.layout.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  if (dim == 0)
    throw error(errc::invalid_argument, "[compress] adapters = \"sketch\": the cluster's adapters have no LoRA entries");
  p.shape.rows = static_cast<uint32_t>(cfg.sketch_rows);
  p.shape.cols = cfg.sketch_cols > 0
                   ? static_cast<uint32_t>(cfg.sketch_cols)
                   : static_cast<uint32_t>(std::max<double>(
                       1.0, std::ceil(static_cast<double>(dim) / (static_cast<double>(cfg.sketch_rows) * cfg.sketch_ratio))));
  p.shape.dim = dim;
  p.shape.seed = cfg.seed * 0x9E3779B97F4A7C15ull + 0x5EC7;
  p.shape.check();
  p.k = std::min<uint64_t>(dim, cfg.sketch_k > 0 ? static_cast<uint64_t>(cfg.sketch_k)
                                                  : std::max<uint64_t>(1, p.shape.cols / p.shape.rows));
  p.linear = cfg.sketch_decode == "linear";
  p.gain = cfg.sketch_gain;
  return p;
}

std::vector<float> lora_delta(const sketch_plan& plan, const adapter_set& now, const adapter_set& start) {
  std::map<std::string, const messages::named_tensor*> n, s;
  for (const auto& nt : now)
    n[nt.name] = &nt;
  for (const auto& nt : start)
    s[nt.name] = &nt;
  std::vector<float> out(plan.shape.dim, 0.0f);
  std::size_t at = 0;
  for (const auto& spec : plan.layout) {
    const auto len = static_cast<std::size_t>(numel(spec.shape));
    auto a = n.find(spec.name);
    if (a != n.end()) {
      auto b = s.find(spec.name);
      if (b == s.end())
        throw error(errc::invalid_argument, fmt::format("sketched update: '{}' has no start value", spec.name));
      if (a->second->tensor.shape() != spec.shape || b->second->tensor.shape() != spec.shape)
        throw error(errc::invalid_argument,
                    fmt::format("sketched update: '{}' does not have the cluster's shape [{}]", spec.name,
                                fmt::join(spec.shape, ",")));
      const auto x = f32_values(a->second->tensor, spec.name);
      const auto y = f32_values(b->second->tensor, spec.name);
      for (std::size_t i = 0; i < len; ++i)
        out[at + i] = x[i] - y[i];
    }
    at += len;
  }
  return out;
}

adapter_set apply_delta(const sketch_plan& plan, const adapter_set& start, const std::vector<float>& delta) {
  if (delta.size() != plan.shape.dim)
    throw error(errc::invalid_argument, fmt::format("sketched update: a delta of {} values for {} coordinates",
                                                    delta.size(), plan.shape.dim));
  std::map<std::string, std::size_t> offset;
  std::size_t at = 0;
  for (const auto& spec : plan.layout) {
    offset[spec.name] = at;
    at += static_cast<std::size_t>(numel(spec.shape));
  }
  adapter_set out;
  for (const auto& nt : start) {
    auto o = offset.find(nt.name);
    if (o == offset.end()) {
      out.push_back(nt);
      continue;
    }
    auto v = f32_values(nt.tensor, nt.name);
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] += delta[o->second + i];
    out.push_back({nt.name, f32_tensor(nt.tensor.shape(), v)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

messages::count_sketch sketch_update(const sketch_plan& plan, const adapter_set& now, const adapter_set& start) {
  return as_sketch(plan, compress::sketch(plan.shape, lora_delta(plan, now, start)), now);
}

adapter_set aggregable(const sketch_plan& plan, std::vector<float> table, const adapter_set& heads) {
  adapter_set out;
  for (const auto& nt : heads)
    if (is_head(nt.name))
      out.push_back(nt);
  if (table.empty())
    table.assign(plan.shape.table_size(), 0.0f);
  out.push_back({k_table_name, f32_tensor({plan.shape.rows, plan.shape.cols}, table)});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

messages::count_sketch as_sketch(const sketch_plan& plan, const std::vector<float>& table, const adapter_set& heads) {
  messages::count_sketch sk;
  sk.rows = plan.shape.rows;
  sk.cols = plan.shape.cols;
  sk.seed = plan.shape.seed;
  sk.layout = plan.layout;
  sk.table = f32_tensor({plan.shape.rows, plan.shape.cols}, table);
  for (const auto& nt : heads)
    if (is_head(nt.name))
      sk.exact.push_back(nt);
  return sk;
}

adapter_layout sketch_layout(const run::run_config& cfg, const adapter_set& set) {
  return layout_of(aggregable(plan_sketch(cfg, set), {}, set));
}

std::vector<float> table_of(const sketch_plan& plan, const adapter_set& set) {
  for (const auto& nt : set)
    if (nt.name == k_table_name) {
      auto v = f32_values(nt.tensor, nt.name);
      if (v.size() != plan.shape.table_size())
        throw error(errc::invalid_argument, fmt::format("sketched update: a table of {} buckets, the plan's has {}",
                                                        v.size(), plan.shape.table_size()));
      return v;
    }
  throw error(errc::invalid_argument, "sketched update: the set has no table");
}

adapter_set heads_of(const adapter_set& set) {
  adapter_set out;
  for (const auto& nt : set)
    if (nt.name != k_table_name)
      out.push_back(nt);
  return out;
}

std::string plan_mismatch(const sketch_plan& plan, const messages::count_sketch& sk) {
  if (sk.rows != plan.shape.rows || sk.cols != plan.shape.cols)
    return fmt::format("a {} x {} sketch, this cluster's is {} x {}", sk.rows, sk.cols, plan.shape.rows,
                       plan.shape.cols);
  if (sk.seed != plan.shape.seed)
    return fmt::format("a sketch of seed {}, this cluster's is {}", sk.seed, plan.shape.seed);
  if (sk.layout != plan.layout)
    return fmt::format("a sketch over {} tensors that are not this cluster's {} LoRA tensors", sk.layout.size(),
                       plan.layout.size());
  for (const auto& nt : sk.exact)
    if (!is_head(nt.name))
      return fmt::format("'{}' sent exact beside a sketch (only classifier heads are)", nt.name);
  return {};
}

std::vector<float> values(const messages::count_sketch& sk) {
  return f32_values(sk.table, "sketch table");
}

adapter_set client_update_at_edge(const sketch_plan& plan, const messages::adapter_update& from_client,
                                  const adapter_set& body_now, const adapter_set& start) {
  std::vector<float> table;
  adapter_set heads;
  if (const auto* dense = std::get_if<std::vector<messages::named_tensor>>(&from_client.form)) {
    table = compress::sketch(plan.shape, lora_delta(plan, *dense, start));
    heads = *dense;
  } else {
    const auto& sk = std::get<messages::count_sketch>(from_client.form);
    if (auto why = plan_mismatch(plan, sk); !why.empty())
      throw error(errc::invalid_argument, why);
    table = values(sk);
    heads = sk.exact;
  }
  compress::merge(table, compress::sketch(plan.shape, lora_delta(plan, body_now, start)), plan.shape);
  return aggregable(plan, std::move(table), heads);
}

std::vector<float> edge_upload_table(const sketch_plan& plan, std::vector<float> averaged, const adapter_set& current,
                                     const adapter_set& global, const std::vector<float>& error) {
  compress::merge(averaged, compress::sketch(plan.shape, lora_delta(plan, current, global)), plan.shape);
  if (!error.empty())
    compress::merge(averaged, error, plan.shape);
  return averaged;
}

adapter_set decode_update(const sketch_plan& plan, const adapter_set& start, std::vector<float>& error,
                          const adapter_set& averaged, decoder who) {
  const auto delta = decode_with_feedback(plan, error, table_of(plan, averaged), who);
  return overlay(apply_delta(plan, start, delta), heads_of(averaged));
}

std::vector<float> decode_with_feedback(const sketch_plan& plan, std::vector<float>& error,
                                        const std::vector<float>& table, decoder who) {
  std::vector<float> s = table;  // with what earlier decodes left
  if (!error.empty())
    compress::merge(s, error, plan.shape);
  std::vector<float> delta;
  if (plan.linear) {
    delta = compress::linear_decode(plan.shape, table, plan.gain);  // the leftovers are not fed back ...
    if (who == decoder::cloud) {  // ... and the cloud sends nothing up
      error.clear();
      return delta;
    }
  } else {
    delta = compress::unsketch(plan.shape, s, plan.k);
  }
  const auto applied = compress::sketch(plan.shape, delta);
  error = std::move(s);
  for (std::size_t i = 0; i < error.size(); ++i)
    error[i] -= applied[i];
  return delta;
}

} // namespace elsa::fed
