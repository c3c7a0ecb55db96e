// Spreads the TRAIN split of one or more tasks over federated clients: IID, label-skewed Dirichlet(alpha)
// (the usual non-IID benchmark partition), or one task per client. Seeded and independent of the standard
// library's distributions, so a seed names the same partition everywhere.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/data/tasks.hpp"

namespace elsa::data {

enum class partition_scheme : uint8_t { iid, dirichlet, by_task };

/// "iid", "dirichlet", "by_task".
const char* to_string(partition_scheme scheme);

/// Inverse of to_string; an unknown name is an elsa::error (invalid_argument) listing the allowed names.
partition_scheme partition_scheme_from_string(std::string_view name);

struct partition_options {
  partition_scheme scheme = partition_scheme::iid;
  size_t num_clients = 8;
  double alpha = 0.5;          // Dirichlet concentration: smaller = each client sees fewer labels
  size_t min_per_client = 16;  // every shard gets at least this many examples
  uint64_t seed = 42;
};

/// One client's share of one task: indices into that task's `train` vector, ascending.
struct client_shard {
  size_t client = 0;
  size_t task_index = 0;  // into the `tasks` given to partition()
  std::vector<size_t> indices;
};

/// Partitions the train splits of `tasks` over options.num_clients clients.
/// - iid: per task, a seeded shuffle dealt out evenly (shard sizes differ by at most one).
/// - dirichlet: per task and label, client proportions drawn from Dirichlet(alpha); drawn again (up to 100
///   times) until every shard has min_per_client examples, after which the best draw is repaired by moving
///   examples from the largest shards to the small ones.
/// With several tasks under iid/dirichlet, every client holds one shard of EVERY task.
/// - by_task: client c holds task c mod |tasks| only, IID among the clients of that task.
/// Shards come ordered by client, then by the order of `tasks`; together they cover each train split
/// exactly once. Impossible requests (no tasks, num_clients = 0, alpha <= 0 for dirichlet, fewer clients
/// than tasks for by_task, min_per_client x clients > examples) are an elsa::error naming the key.
std::vector<client_shard> partition(const std::vector<const task_data*>& tasks, const partition_options& options);

/// Per-label example counts of one shard (size = number of labels of its task).
std::vector<size_t> label_counts(const task_data& data, const client_shard& shard);

/// Shannon entropy (bits) of a shard's label distribution: log2(labels) when balanced, 0 when one label.
double label_entropy(const task_data& data, const client_shard& shard);

/// Mean label_entropy over shards (each shard's task is tasks[task_index]), a one-number measure of skew.
double mean_label_entropy(const std::vector<const task_data*>& tasks, const std::vector<client_shard>& shards);

} // namespace elsa::data
