// `elsa data stats`: what the data layer builds from data/, in numbers: per-task split sizes by label,
// probe set, pre-training corpus and held-out LM text sizes, and the per-client partition. docs/data.md
// quotes its output.
#include "cli/commands.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "cli/support.hpp"
#include "core/data/corpus.hpp"
#include "core/data/partition.hpp"
#include "core/data/tasks.hpp"
#include "core/errors.hpp"

namespace elsa::cli {

namespace {

struct stats_options {
  std::string data_dir = "data";
  std::string tasks = "spam,party,genre,supersense";
  size_t clients = data::partition_options{}.num_clients;
  std::string scheme = data::to_string(data::partition_options{}.scheme);
  double alpha = data::partition_options{}.alpha;
  size_t min_per_client = data::partition_options{}.min_per_client;
  uint64_t seed = data::partition_options{}.seed;
  uint64_t split_seed = data::split_options{}.seed;
};

std::vector<data::task> parse_tasks(const std::string& list) {
  std::vector<data::task> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos)
      end = list.size();
    auto name = list.substr(pos, end - pos);
    pos = end + 1;
    if (name.empty())
      continue;
    data::task t{};
    try {
      t = data::task_from_string(name);
    } catch (const error& e) {
      throw error(e.code(), fmt::format("--tasks {}: {}", list, e.what()));
    }
    if (std::find(out.begin(), out.end(), t) == out.end())
      out.push_back(t);
  }
  if (out.empty())
    throw error(errc::invalid_argument, "--tasks is empty; give a comma-separated list of spam, party, genre, supersense");
  return out;
}

void print_text_line(const char* what, const data::text_stats& s) {
  fmt::print("{:<26} {:>8} documents {:>8.2f} MB {:>10} words\n", what, s.documents,
             static_cast<double>(s.bytes) / 1e6, s.words);
}

void print_task(const data::task_data& t) {
  const auto& c = t.counts;
  fmt::print("\ntask {} ({} labels)\n", data::to_string(t.id), t.label_names.size());
  if (t.id == data::task::spam)
    fmt::print("  {} messages read, {} with distinct bodies, {} distinct texts kept\n", c.raw, c.unique_bodies, c.unique);
  else
    fmt::print("  {} examples read, {} distinct texts kept ({} dropped for carrying two labels)\n", c.raw, c.unique,
               c.conflicting);
  fmt::print("  {} held-out examples dropped because a train text contains them\n", c.contained);
  fmt::print("  {:<12} {:>8} {:>10} {:>8} {:>8} {:>8}\n", "label", "read", "train", "valid", "test", "groups");
  const size_t labels = t.label_names.size();
  std::vector<size_t> train(labels), validation(labels), test(labels);
  std::vector<std::vector<std::string>> groups(labels);
  auto tally = [&groups](const std::vector<data::example>& split, std::vector<size_t>& counts) {
    for (const auto& e : split) {
      ++counts.at(static_cast<size_t>(e.label));
      groups[static_cast<size_t>(e.label)].push_back(e.group);
    }
  };
  tally(t.train, train);
  tally(t.validation, validation);
  tally(t.test, test);
  size_t all_groups = 0;
  for (size_t l = 0; l < labels; ++l) {
    auto& g = groups[l];
    std::sort(g.begin(), g.end());
    g.erase(std::unique(g.begin(), g.end()), g.end());
    all_groups += g.size();
    fmt::print("  {:<12} {:>8} {:>10} {:>8} {:>8} {:>8}\n", t.label_names[l], c.raw_per_label.at(l), train[l],
               validation[l], test[l], g.size());
  }
  fmt::print("  {:<12} {:>8} {:>10} {:>8} {:>8} {:>8}\n", "total", c.raw, t.train.size(), t.validation.size(),
             t.test.size(), all_groups);
}

void print_partition(const std::vector<const data::task_data*>& tasks, const data::partition_options& o,
                     const std::vector<data::client_shard>& shards) {
  fmt::print("\npartition: {} over {} clients", data::to_string(o.scheme), o.num_clients);
  if (o.scheme == data::partition_scheme::dirichlet)
    fmt::print(", alpha {}", o.alpha);
  fmt::print(", min {} per shard, seed {}\n", o.min_per_client, o.seed);
  fmt::print("  {:>6} {:<11} {:>8} {:>9}  {}\n", "client", "task", "examples", "H(label)", "per label");
  for (const auto& s : shards) {
    const auto* t = tasks.at(s.task_index);
    auto counts = data::label_counts(*t, s);
    std::string per_label;
    for (size_t l = 0; l < counts.size(); ++l)
      per_label += fmt::format("{}{}={}", l == 0 ? "" : " ", t->label_names[l], counts[l]);
    fmt::print("  {:>6} {:<11} {:>8} {:>9.3f}  {}\n", s.client, t->name, s.indices.size(),
               data::label_entropy(*t, s), per_label);
  }
  fmt::print("  mean label entropy {:.3f} bits\n", data::mean_label_entropy(tasks, shards));
}

void run_stats(const stats_options& o) {
  const auto start = std::chrono::steady_clock::now();
  const auto selected = parse_tasks(o.tasks); // option mistakes first: they need no data
  require_folder("--data-dir", o.data_dir,
                 "scripts/fetch_data.sh fetches the data sets into data/ at the repository root");
  data::partition_options p;
  p.scheme = data::partition_scheme_from_string(o.scheme);
  p.num_clients = o.clients;
  p.alpha = o.alpha;
  p.min_per_client = o.min_per_client;
  p.seed = o.seed;
  data::split_options split;
  split.seed = o.split_seed;

  // The corpus is defined by all four tasks' splits, so all four are loaded whatever --tasks selects.
  std::vector<data::task_data> tasks;
  for (auto t : data::all_tasks())
    tasks.push_back(data::load_task(o.data_dir, t, split));
  std::vector<const data::task_data*> chosen;
  for (const auto& t : tasks)
    if (std::find(selected.begin(), selected.end(), t.id) != selected.end())
      chosen.push_back(&t);
  // Partition first, so that an impossible request fails before anything is printed.
  const auto shards = data::partition(chosen, p);
  fmt::print("data: {} (split seed {}, validation {:.0f}%, test {:.0f}%)\n", o.data_dir, split.seed,
             100 * split.validation_fraction, 100 * split.test_fraction);
  for (const auto* t : chosen)
    print_task(*t);

  fmt::print("\n");
  print_text_line("probe set (verb glosses)", data::measure(data::probe_set(o.data_dir)));
  print_text_line("pre-training corpus", data::measure(data::pretraining_corpus(o.data_dir, tasks)));
  print_text_line("held-out LM text", data::measure(data::lm_heldout(tasks)));

  print_partition(chosen, p, shards);
  fmt::print("\n({:.1f} s)\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

} // namespace

void add_data_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "the data sets: loaders, splits, probe set, corpus, partitions");
  cmd->require_subcommand(1);
  auto o = std::make_shared<stats_options>();
  auto* stats = cmd->add_subcommand("stats", "print split, corpus and per-client partition counts");
  stats->add_option("--data-dir", o->data_dir, "folder filled by scripts/fetch_data.sh")->capture_default_str();
  stats->add_option("--tasks", o->tasks, "comma-separated tasks: spam, party, genre, supersense")->capture_default_str();
  stats->add_option("--clients", o->clients, "number of clients to partition over")
    ->capture_default_str()
    ->check(int_range(1, 4096));
  stats->add_option("--partition", o->scheme, "iid, dirichlet or by_task")
    ->capture_default_str()
    ->check(CLI::IsMember({"iid", "dirichlet", "by_task"}));
  stats->add_option("--alpha", o->alpha, "Dirichlet concentration (dirichlet only)")
    ->capture_default_str()
    ->check(real_range(0.0, 1000.0, true));
  stats->add_option("--min-per-client", o->min_per_client, "minimum examples in every shard")->capture_default_str();
  stats->add_option("--seed", o->seed, "partition seed")->capture_default_str();
  stats->add_option("--split-seed", o->split_seed, "train/validation/test split seed")->capture_default_str();
  stats->callback([o] { run_stats(*o); });
}

} // namespace elsa::cli
