// The data side of a federated run: the configured tasks loaded once, their train splits partitioned over
// the clients, and which cluster each client starts in. Torch-free; shared read-only by every participant
// built in one process.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/data/tasks.hpp"
#include "core/run/run_config.hpp"

namespace elsa::text {
class bpe_tokenizer;
}

namespace elsa::fed {

/// One client's private training data: indices into its task's train split.
struct client_shard {
  uint32_t client = 0;
  std::size_t task_index = 0;  // into federation_data::tasks
  std::vector<std::size_t> indices;
};

struct federation_data {
  std::vector<std::shared_ptr<const data::task_data>> tasks; // in config order
  std::vector<client_shard> shards;                          // one per client, by client id
  /// The public probe set (data::probe_set, cfg.probes of them), encoded once for every client of the
  /// process: token ids, at most max_len each, ending in <|endoftext|>. Empty unless attach_probes ran.
  std::shared_ptr<const std::vector<std::vector<int32_t>>> probes;

  /// Labels of task i.
  int64_t num_labels(std::size_t task_index) const {
    return static_cast<int64_t>(tasks.at(task_index)->label_names.size());
  }
  /// Test accuracy of always predicting task i's most frequent train label.
  double majority_accuracy(std::size_t task_index) const;
};

/// Loads cfg.tasks from cfg.data_dir and partitions them (cfg.partition, cfg.dirichlet_alpha, seeded by
/// cfg.seed) over cfg.clients, capping shards at cfg.max_train_per_client. Errors name the key.
federation_data load_federation_data(const run::run_config& cfg);

/// The most frequent label in a client's shard (the lower label on a tie): the group a label-skewed
/// client belongs to, which behaviour clustering is scored against in single-task runs.
int64_t majority_label(const federation_data& d, uint32_t client);

/// Loads and encodes the public probe set into `d.probes` (behaviour fingerprints need it); elsa::error
/// naming [elsa] probes when the data has fewer.
void attach_probes(federation_data& d, const run::run_config& cfg, const text::bpe_tokenizer& tok);

/// The cluster a client starts in: the index of its task (clients of one task share adapters and head).
inline uint32_t initial_cluster(const federation_data& d, uint32_t client) {
  return static_cast<uint32_t>(d.shards.at(client).task_index);
}

} // namespace elsa::fed
