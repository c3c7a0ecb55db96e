// Loading and partitioning the data of a federated run (see federation_data.hpp).
#include "core/fed/federation_data.hpp"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "core/data/partition.hpp"
#include "core/errors.hpp"

namespace elsa::fed {

double federation_data::majority_accuracy(std::size_t task_index) const {
  const auto& td = *tasks.at(task_index);
  std::vector<std::size_t> counts(td.label_names.size());
  for (const auto& x : td.train)
    ++counts.at(static_cast<std::size_t>(x.label));
  const auto majority = static_cast<int32_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
  if (td.test.empty())
    return 0.0;
  std::size_t hits = 0;
  for (const auto& x : td.test)
    hits += x.label == majority ? 1 : 0;
  return static_cast<double>(hits) / static_cast<double>(td.test.size());
}

federation_data load_federation_data(const run::run_config& cfg) {
  federation_data out;
  std::vector<const data::task_data*> views;
  for (const auto& name : cfg.tasks) {
    auto td = std::make_shared<data::task_data>(data::load_task(cfg.data_dir, data::task_from_string(name)));
    views.push_back(td.get());
    out.tasks.push_back(std::move(td));
  }
  data::partition_options opts;
  opts.scheme = data::partition_scheme_from_string(cfg.partition);
  opts.num_clients = static_cast<std::size_t>(cfg.clients);
  opts.alpha = cfg.dirichlet_alpha;
  opts.seed = cfg.seed;
  opts.min_per_client = std::min<std::size_t>(16, static_cast<std::size_t>(cfg.batch_size) * 2);
  auto shards = data::partition(views, opts);
  out.shards.resize(static_cast<std::size_t>(cfg.clients));
  std::vector<bool> seen(out.shards.size());
  std::mt19937_64 rng(cfg.seed ^ 0x5eedda7aULL);
  for (auto& s : shards) {
    if (seen.at(s.client))
      throw error(errc::invalid_argument,
                  fmt::format("[data] partition: client {} would hold several tasks; with more than one task "
                              "use partition = \"by_task\"",
                              s.client));
    seen[s.client] = true;
    auto& cs = out.shards[s.client];
    cs.client = static_cast<uint32_t>(s.client);
    cs.task_index = static_cast<std::size_t>(
      std::find_if(views.begin(), views.end(), [&s](const data::task_data* v) { return v->id == s.task_id; })
      - views.begin());
    cs.indices = std::move(s.indices);
    if (cfg.max_train_per_client > 0 && static_cast<int64_t>(cs.indices.size()) > cfg.max_train_per_client) {
      std::shuffle(cs.indices.begin(), cs.indices.end(), rng);
      cs.indices.resize(static_cast<std::size_t>(cfg.max_train_per_client));
      std::sort(cs.indices.begin(), cs.indices.end());
    }
  }
  return out;
}

} // namespace elsa::fed
