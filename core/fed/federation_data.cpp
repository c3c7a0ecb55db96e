// Loading and partitioning the data of a federated run (see federation_data.hpp).
#include "core/fed/federation_data.hpp"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "core/data/corpus.hpp"
#include "core/data/file_task.hpp"
#include "core/data/partition.hpp"
#include "core/train/classify.hpp"
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
  for (const auto& spec : cfg.tasks) {
    auto td = std::make_shared<data::task_data>(
      data::is_file_task(spec)
        ? data::load_file_task(spec.substr(data::file_task_prefix.size()))
        : data::load_task(cfg.data_dir, data::task_from_string(spec)));
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
    cs.task_index = s.task_index;
    cs.indices = std::move(s.indices);
    if (cfg.max_train_per_client > 0 && static_cast<int64_t>(cs.indices.size()) > cfg.max_train_per_client) {
      std::shuffle(cs.indices.begin(), cs.indices.end(), rng);
      cs.indices.resize(static_cast<std::size_t>(cfg.max_train_per_client));
      std::sort(cs.indices.begin(), cs.indices.end());
    }
  }
  return out;
}

int64_t majority_label(const federation_data& d, uint32_t client) {
  const auto& shard = d.shards.at(client);
  const auto& td = *d.tasks.at(shard.task_index);
  std::vector<std::size_t> counts(td.label_names.size());
  for (auto i : shard.indices)
    ++counts.at(static_cast<std::size_t>(td.train.at(i).label));
  return static_cast<int64_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
}

void attach_probes(federation_data& d, const run::run_config& cfg, const text::bpe_tokenizer& tok) {
  std::vector<data::example> xs;
  try {
    for (auto& text : data::probe_set(cfg.data_dir, static_cast<std::size_t>(cfg.probes)))
      xs.push_back({std::move(text), 0, {}});
  } catch (const error& e) {
    throw error(e.code(), fmt::format("[elsa] probes = {}: {}", cfg.probes, e.what()));
  }
  auto probes = std::make_shared<std::vector<std::vector<int32_t>>>();
  for (auto& x : train::encode_examples(tok, xs, cfg.max_len, true))
    probes->push_back(std::move(x.ids));
  d.probes = std::move(probes);
}

} // namespace elsa::fed
