// IID, Dirichlet(alpha) label-skew and by-task partitions of train splits over clients. Every random draw
// comes from one mt19937_64 stream per task, seeded from (seed, task), so adding a task does not change
// the shards of the others.
#include "core/data/partition.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/core.h>

#include "core/data/random.hpp"
#include "core/errors.hpp"

namespace elsa::data {

namespace {

[[noreturn]] void bad_option(const std::string& what) {
  throw elsa::error(errc::invalid_argument, what);
}

void check_size(const task_data& t, size_t clients, size_t min_per_client) {
  if (min_per_client * clients > t.train.size())
    bad_option(fmt::format("partition min_per_client = {} with {} clients needs {} training examples, but task {} has "
                           "only {}; lower min_per_client or num_clients",
                           min_per_client, clients, min_per_client * clients, t.name, t.train.size()));
}

// Deals a seeded shuffle of `indices` out to `clients` consecutive slices of (almost) equal size.
std::vector<std::vector<size_t>> deal(std::vector<size_t> indices, size_t clients, std::mt19937_64& rng) {
  detail::shuffle(indices, rng);
  std::vector<std::vector<size_t>> shards(clients);
  const size_t n = indices.size();
  for (size_t c = 0; c < clients; ++c)
    shards[c].assign(indices.begin() + static_cast<std::ptrdiff_t>(c * n / clients),
                     indices.begin() + static_cast<std::ptrdiff_t>((c + 1) * n / clients));
  return shards;
}

std::vector<size_t> all_indices(const task_data& t) {
  std::vector<size_t> indices(t.train.size());
  std::iota(indices.begin(), indices.end(), size_t{0});
  return indices;
}

// One Dirichlet draw: per_client[c][label] = indices of that label given to client c.
using label_shards = std::vector<std::vector<std::vector<size_t>>>;

label_shards dirichlet_draw(const std::vector<std::vector<size_t>>& by_label, size_t clients, double alpha,
                            std::mt19937_64& rng) {
  label_shards out(clients, std::vector<std::vector<size_t>>(by_label.size()));
  for (size_t label = 0; label < by_label.size(); ++label) {
    const auto& pool = by_label[label];
    auto p = detail::dirichlet(rng, clients, alpha);
    double cumulative = 0.0;
    size_t begin = 0;
    for (size_t c = 0; c < clients; ++c) {
      cumulative += p[c];
      size_t end = c + 1 == clients ? pool.size()
                                    : std::min(pool.size(), static_cast<size_t>(std::llround(cumulative * pool.size())));
      end = std::max(end, begin);
      out[c][label].assign(pool.begin() + static_cast<std::ptrdiff_t>(begin), pool.begin() + static_cast<std::ptrdiff_t>(end));
      begin = end;
    }
  }
  return out;
}

size_t shard_size(const std::vector<std::vector<size_t>>& labels) {
  size_t n = 0;
  for (const auto& l : labels)
    n += l.size();
  return n;
}

size_t smallest_shard(const label_shards& draw) {
  size_t smallest = SIZE_MAX;
  for (const auto& client : draw)
    smallest = std::min(smallest, shard_size(client));
  return smallest;
}

std::vector<std::vector<size_t>> dirichlet_partition(const task_data& t, size_t clients, double alpha,
                                                     size_t min_per_client, std::mt19937_64& rng) {
  std::vector<std::vector<size_t>> by_label(t.label_names.size());
  for (size_t i = 0; i < t.train.size(); ++i)
    by_label.at(static_cast<size_t>(t.train[i].label)).push_back(i);
  for (auto& pool : by_label)
    detail::shuffle(pool, rng);

  constexpr int max_draws = 100;
  label_shards best;
  size_t best_min = 0;
  for (int attempt = 0; attempt < max_draws; ++attempt) {
    auto draw = dirichlet_draw(by_label, clients, alpha, rng);
    size_t smallest = smallest_shard(draw);
    if (attempt == 0 || smallest > best_min) {
      best = std::move(draw);
      best_min = smallest;
    }
    if (best_min >= min_per_client)
      break;
  }
  // Small alphas may never give every client enough: top up the small shards from the largest one, taking
  // the donor's most common label so that the skew the draw produced is disturbed as little as possible.
  for (;;) {
    size_t needy = clients;
    for (size_t c = 0; c < clients && needy == clients; ++c)
      if (shard_size(best[c]) < min_per_client)
        needy = c;
    if (needy == clients)
      break;
    size_t donor = 0;
    for (size_t c = 1; c < clients; ++c)
      if (shard_size(best[c]) > shard_size(best[donor]))
        donor = c;
    auto& donor_labels = best[donor];
    size_t label = 0;
    for (size_t l = 1; l < donor_labels.size(); ++l)
      if (donor_labels[l].size() > donor_labels[label].size())
        label = l;
    best[needy][label].push_back(donor_labels[label].back());
    donor_labels[label].pop_back();
  }
  std::vector<std::vector<size_t>> shards(clients);
  for (size_t c = 0; c < clients; ++c)
    for (const auto& l : best[c])
      shards[c].insert(shards[c].end(), l.begin(), l.end());
  return shards;
}

} // namespace

const char* to_string(partition_scheme scheme) {
  switch (scheme) {
    case partition_scheme::iid:
      return "iid";
    case partition_scheme::dirichlet:
      return "dirichlet";
    case partition_scheme::by_task:
      return "by_task";
  }
  return "unknown";
}

partition_scheme partition_scheme_from_string(std::string_view name) {
  for (auto s : {partition_scheme::iid, partition_scheme::dirichlet, partition_scheme::by_task})
    if (name == to_string(s))
      return s;
  throw elsa::error(errc::invalid_argument,
                    fmt::format("unknown partition scheme '{}'; the schemes are iid, dirichlet, by_task", name));
}

std::vector<client_shard> partition(const std::vector<const task_data*>& tasks, const partition_options& options) {
  if (tasks.empty())
    bad_option("partition needs at least one task");
  for (const auto* t : tasks)
    if (t == nullptr)
      bad_option("partition got a null task pointer");
  const size_t clients = options.num_clients;
  if (clients == 0)
    bad_option("partition num_clients = 0; it must be at least 1");
  if (options.scheme == partition_scheme::dirichlet && !(options.alpha > 0.0 && std::isfinite(options.alpha)))
    bad_option(fmt::format("partition alpha = {} must be a positive finite number for the dirichlet scheme", options.alpha));
  if (options.scheme == partition_scheme::by_task && clients < tasks.size())
    bad_option(fmt::format("partition num_clients = {} is fewer than the {} tasks; by_task needs one client per task at "
                           "least",
                           clients, tasks.size()));

  // shards_of[task][client]; by_task leaves the other tasks' entries empty and drops them below.
  std::vector<std::vector<std::vector<size_t>>> shards_of(tasks.size());
  for (size_t k = 0; k < tasks.size(); ++k) {
    const auto& t = *tasks[k];
    std::mt19937_64 rng(detail::mix_seed(options.seed, t.seed_key));
    switch (options.scheme) {
      case partition_scheme::iid:
        check_size(t, clients, options.min_per_client);
        shards_of[k] = deal(all_indices(t), clients, rng);
        break;
      case partition_scheme::dirichlet:
        check_size(t, clients, options.min_per_client);
        shards_of[k] = dirichlet_partition(t, clients, options.alpha, options.min_per_client, rng);
        break;
      case partition_scheme::by_task: {
        std::vector<size_t> members;
        for (size_t c = k; c < clients; c += tasks.size())
          members.push_back(c);
        check_size(t, members.size(), options.min_per_client);
        auto dealt = deal(all_indices(t), members.size(), rng);
        shards_of[k].resize(clients);
        for (size_t m = 0; m < members.size(); ++m)
          shards_of[k][members[m]] = std::move(dealt[m]);
        break;
      }
    }
  }

  std::vector<client_shard> out;
  for (size_t c = 0; c < clients; ++c) {
    for (size_t k = 0; k < tasks.size(); ++k) {
      if (options.scheme == partition_scheme::by_task && c % tasks.size() != k)
        continue;
      client_shard shard;
      shard.client = c;
      shard.task_index = k;
      shard.indices = std::move(shards_of[k][c]);
      std::sort(shard.indices.begin(), shard.indices.end());
      out.push_back(std::move(shard));
    }
  }
  return out;
}

std::vector<size_t> label_counts(const task_data& data, const client_shard& shard) {
  std::vector<size_t> counts(data.label_names.size(), 0);
  for (auto i : shard.indices)
    ++counts.at(static_cast<size_t>(data.train.at(i).label));
  return counts;
}

double label_entropy(const task_data& data, const client_shard& shard) {
  auto counts = label_counts(data, shard);
  const double n = static_cast<double>(shard.indices.size());
  double h = 0.0;
  for (auto c : counts)
    if (c > 0)
      h -= (static_cast<double>(c) / n) * std::log2(static_cast<double>(c) / n);
  return h;
}

double mean_label_entropy(const std::vector<const task_data*>& tasks, const std::vector<client_shard>& shards) {
  if (shards.empty())
    return 0.0;
  double sum = 0.0;
  for (const auto& s : shards) {
    if (s.task_index >= tasks.size())
      bad_option(fmt::format("shard of client {} is for task {}, but only {} tasks are given", s.client,
                             s.task_index, tasks.size()));
    sum += label_entropy(*tasks[s.task_index], s);
  }
  return sum / static_cast<double>(shards.size());
}

} // namespace elsa::data
