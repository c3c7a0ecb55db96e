// Adapter-set arithmetic and files (see adapters.hpp).
#include "core/fed/adapters.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/fed/lora_model.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "core/model/model_dir.hpp"

namespace elsa::fed {

adapter_set weighted_average(const std::vector<weighted_set>& sets) {
  if (sets.empty())
    throw error(errc::invalid_argument, "weighted_average: no adapter sets");
  double total = 0;
  for (const auto& s : sets) {
    if (s.set == nullptr || !(s.weight >= 0))
      throw error(errc::invalid_argument, fmt::format("weighted_average: weight {} is not >= 0", s.weight));
    total += s.weight;
  }
  if (!(total > 0))
    throw error(errc::invalid_argument, "weighted_average: the weights sum to 0");
  const auto& first = *sets.front().set;
  adapter_set out;
  out.reserve(first.size());
  for (std::size_t k = 0; k < first.size(); ++k) {
    const auto& ref = first[k];
    std::vector<float> acc(static_cast<std::size_t>(std::max<int64_t>(ref.tensor.numel(), 0)), 0.0f);
    for (const auto& s : sets) {
      if (s.set->size() != first.size())
        throw error(errc::invalid_argument, fmt::format("weighted_average: sets hold {} and {} tensors",
                                                        first.size(), s.set->size()));
      const auto& nt = (*s.set)[k];
      if (nt.name != ref.name || nt.tensor.shape() != ref.tensor.shape())
        throw error(errc::invalid_argument,
                    fmt::format("weighted_average: tensor '{}' [{}] does not match '{}' [{}]", nt.name,
                                fmt::join(nt.tensor.shape(), ","), ref.name, fmt::join(ref.tensor.shape(), ",")));
      const auto w = static_cast<float>(s.weight / total);
      if (nt.tensor.type() == messages::dtype::f32) {
        const float* x = reinterpret_cast<const float*>(nt.tensor.data());
        for (std::size_t i = 0; i < acc.size(); ++i)
          acc[i] += w * x[i];
      } else {
        auto t = from_wire(nt.tensor).contiguous();
        const float* x = t.data_ptr<float>();
        for (std::size_t i = 0; i < acc.size(); ++i)
          acc[i] += w * x[i];
      }
    }
    out.push_back({ref.name, messages::tensor_bytes::copy_of(messages::dtype::f32, ref.tensor.shape(), acc.data(),
                                                             acc.size() * sizeof(float))});
  }
  return out;
}

adapter_set weighted_average_by_name(const std::vector<weighted_set>& sets) {
  std::map<std::string, std::vector<std::pair<const messages::named_tensor*, double>>> by_name;
  for (const auto& s : sets) {
    if (s.set == nullptr)
      throw error(errc::invalid_argument, "weighted_average_by_name: no adapter set");
    for (const auto& nt : *s.set)
      by_name[nt.name].emplace_back(&nt, s.weight);
  }
  adapter_set out;
  for (const auto& [name, entries] : by_name) {
    std::vector<adapter_set> singles;
    singles.reserve(entries.size());
    for (const auto& e : entries)
      singles.push_back({*e.first});
    std::vector<weighted_set> ws;
    for (std::size_t i = 0; i < entries.size(); ++i)
      ws.push_back({&singles[i], entries[i].second});
    auto avg = weighted_average(ws);
    out.push_back(std::move(avg.front()));
  }
  return out;
}

namespace {
constexpr const char* k_head_prefix = "base_model.model.score.";
constexpr const char* k_plain_head = "base_model.model.score.weight";

void sort_by_name(adapter_set& set) {
  std::sort(set.begin(), set.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}
} // namespace

std::string head_name(const std::string& task) {
  return std::string(k_head_prefix) + task + ".weight";
}

bool is_head(const std::string& name) {
  return name.rfind(k_head_prefix, 0) == 0;
}

adapter_set for_task(const adapter_set& set, const std::string& task) {
  adapter_set out;
  const auto mine = head_name(task);
  for (const auto& nt : set) {
    if (!is_head(nt.name))
      out.push_back(nt);
    else if (nt.name == mine || nt.name == k_plain_head)
      out.push_back({k_plain_head, nt.tensor});
  }
  sort_by_name(out);
  return out;
}

adapter_set with_task_head(adapter_set set, const std::string& task) {
  for (auto& nt : set)
    if (nt.name == k_plain_head)
      nt.name = head_name(task);
  sort_by_name(set);
  return set;
}

adapter_set lora_only(const adapter_set& set) {
  adapter_set out;
  for (const auto& nt : set)
    if (!is_head(nt.name))
      out.push_back(nt);
  return out;
}

int64_t lora_block(const std::string& name) {
  static const std::string prefix = "base_model.model.transformer.h.";
  if (name.rfind(prefix, 0) != 0 || is_head(name))
    return -1;
  const auto dot = name.find('.', prefix.size());
  const auto num = name.substr(prefix.size(), dot == std::string::npos ? 0 : dot - prefix.size());
  if (num.empty() || num.size() > 6 || num.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoll(num);
}

adapter_set moved_blocks(const adapter_set& set, int64_t first, int64_t last, const std::vector<int64_t>& kept) {
  adapter_set out;
  for (const auto& nt : set) {
    const auto b = lora_block(nt.name);
    if (b >= first && b < last && std::find(kept.begin(), kept.end(), b) == kept.end())
      out.push_back(nt);
  }
  return out;
}

adapter_set overlay(const adapter_set& older, const adapter_set& newer) {
  adapter_set out = newer;
  std::set<std::string> have;
  for (const auto& nt : newer)
    have.insert(nt.name);
  for (const auto& nt : older)
    if (!have.count(nt.name))
      out.push_back(nt);
  sort_by_name(out);
  return out;
}

namespace {
// The values of a tensor as f32 (a copy when it is f16 or bf16 on the wire).
std::vector<float> floats_of(const messages::tensor_bytes& t) {
  const auto n = static_cast<std::size_t>(std::max<int64_t>(t.numel(), 0));
  if (t.type() == messages::dtype::f32) {
    const float* x = reinterpret_cast<const float*>(t.data());
    return {x, x + n};
  }
  auto w = from_wire(t).contiguous();
  const float* x = w.data_ptr<float>();
  return {x, x + n};
}
} // namespace

adapter_set rebase(const adapter_set& update, const adapter_set& from, const adapter_set& to) {
  std::map<std::string, const messages::named_tensor*> old_start, new_start;
  for (const auto& nt : from)
    old_start[nt.name] = &nt;
  for (const auto& nt : to)
    new_start[nt.name] = &nt;
  adapter_set out;
  out.reserve(update.size());
  for (const auto& nt : update) {
    const auto a = old_start.find(nt.name);
    const auto b = new_start.find(nt.name);
    if (a == old_start.end() || b == new_start.end() || a->second->tensor.shape() != nt.tensor.shape()
        || b->second->tensor.shape() != nt.tensor.shape()) {
      out.push_back(nt);
      continue;
    }
    auto x = floats_of(nt.tensor);
    const auto x0 = floats_of(a->second->tensor);
    const auto x1 = floats_of(b->second->tensor);
    for (std::size_t i = 0; i < x.size(); ++i)
      x[i] = x1[i] + (x[i] - x0[i]);
    out.push_back({nt.name, messages::tensor_bytes::copy_of(messages::dtype::f32, nt.tensor.shape(), x.data(),
                                                            x.size() * sizeof(float))});
  }
  return out;
}

adapter_set merge_disjoint(const adapter_set& a, const adapter_set& b) {
  adapter_set out = a;
  out.insert(out.end(), b.begin(), b.end());
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  for (std::size_t i = 1; i < out.size(); ++i)
    if (out[i].name == out[i - 1].name)
      throw error(errc::invalid_argument, fmt::format("merge_disjoint: '{}' is in both parts", out[i].name));
  return out;
}

uint64_t data_bytes(const adapter_set& set) {
  uint64_t n = 0;
  for (const auto& nt : set)
    n += nt.tensor.size_bytes();
  return n;
}

adapter_set initial_adapters(const frozen_base& base, const run::run_config& cfg, int64_t num_labels,
                             uint64_t seed) {
  // Seeds torch's global generator: call before participants start training (the driver does).
  torch::manual_seed(seed);
  auto bank = make_bank(base, cfg, block_range(0, base.config().n_layer));
  model::Classifier cls(base.config().n_embd, num_labels);
  auto state = model::lora_state(*bank, cls);
  adapter_set out;
  for (const auto& nt : to_wire(state))  // own the bytes: the model goes away
    out.push_back({nt.name, messages::tensor_bytes::copy_of(nt.tensor.type(), nt.tensor.shape(), nt.tensor.data(),
                                                            nt.tensor.size_bytes())});
  return out;
}

void save_adapter_set(const std::filesystem::path& dir, const run::run_config& cfg, int64_t num_labels,
                      const adapter_set& set) {
  model::save_adapter_state(dir, from_wire(set), cfg.lora, num_labels,
                            std::filesystem::absolute(cfg.model_dir).lexically_normal().string());
}

} // namespace elsa::fed
