// Reading, checking and writing the settings of one federated ELSA run. Every key, its range and the
// cross-field rules are listed once, in walk(); the TOML reader, validate() and to_toml() all follow it.
#include "core/run/run_config.hpp"

#include "core/data/file_task.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/toml_reader.hpp"

namespace elsa::run {

namespace {

namespace fs = std::filesystem;
namespace tc = elsa::toml_config;
using names = std::vector<std::string>;

const names k_tasks = {"spam", "party", "genre", "supersense"};
const names k_partitions = {"iid", "dirichlet", "by_task"};
const names k_lora_targets = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};
const names k_straggler_policies = {"drop", "staleness"};
const names k_dropout_modes = {"crash", "silent"};
const names k_roles = {"client", "edge", "coordinator", "cloud"};
const names k_clusterings = {"task", "behaviour", "none"};
const names k_fingerprints = {"gaussian", "displacement", "predictive"};
const names k_byzantine_modes = {"label_flip", "random_update", "scaled_update"};
const names k_assignments = {"round_robin", "latency"};
const names k_wire_types = {"fp32", "fp16", "bf16"};
const names k_adapter_forms = {"none", "sketch"};
const names k_sketch_decodes = {"linear", "top_k"};
const names k_split_modes = {"fixed", "dynamic"};
const names k_topology_modes = {"sync", "async"};
const names k_split_layouts = {"u_shaped", "whole_model", "two_part"};

// A mechanism that needs ELSA's three segments, refused on another [split] layout.
std::string needs_u_shape(const run_config& c, bool in_use, const char* what) {
  return in_use && c.split_layout != "u_shaped"
           ? fmt::format("{} needs [split] layout = \"u_shaped\" (this run's is \"{}\")", what, c.split_layout)
           : std::string{};
}

constexpr int64_t k_max_threads = 256;
constexpr int64_t k_max_clients = 4096;
constexpr int64_t k_max_edges = 256;
constexpr int64_t k_max_count = 1'000'000'000; // example counts
constexpr int64_t k_max_rounds = 1'000'000;    // rounds, kappa1, kappa2
constexpr int64_t k_max_ms = 86'400'000;       // deadlines and delays: one day
constexpr int64_t k_max_blocks = 1023;         // gpt2_config allows n_layer up to 1024

std::string quoted_list(const names& v) {
  std::string out;
  for (const auto& s : v)
    out += fmt::format("{}\"{}\"", out.empty() ? "" : ", ", s);
  return "[" + out + "]";
}

template <class T>
std::string duplicate_problem(const std::vector<T>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t j = i + 1; j < v.size(); ++j)
      if (v[i] == v[j]) {
        if constexpr (std::is_same_v<T, std::string>)
          return fmt::format("lists \"{}\" twice", v[i]);
        else
          return fmt::format("lists {} twice", v[i]);
      }
  return {};
}

std::string empty_problem(const names& v, const names& allowed) {
  return v.empty() ? "is empty; name at least one of " + tc::join(allowed) : std::string{};
}

// Each entry a shipped task's name or "file:PATH" with a .jsonl or .csv PATH.
std::string task_spec_problem(const names& specs) {
  for (const auto& spec : specs) {
    if (!data::is_file_task(spec)) {
      if (auto what = tc::choice_problem(spec, k_tasks); !what.empty())
        return fmt::format("{} or \"file:PATH\" (a JSONL or CSV file of your own)", what);
      continue;
    }
    const fs::path path = spec.substr(data::file_task_prefix.size());
    auto ext = path.extension().string();
    for (auto& ch : ext)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (ext != ".jsonl" && ext != ".csv")
      return fmt::format("= \"{}\": a task file ends in .jsonl or .csv", spec);
    const auto stem = path.stem().string();
    if (stem.empty() || stem.size() > 64
        || stem.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
             != std::string::npos)
      return fmt::format("= \"{}\": the task is named after the file ('{}'), so the name before the extension must "
                         "be 1 to 64 letters, digits, '_' or '-'",
                         spec, stem);
  }
  return {};
}

std::string empty_path_problem(const fs::path& p) {
  return p.empty() ? "= \"\" must name a folder" : std::string{};
}

// The keys of a run config in file order: TOML name, field, allowed values, then the rules that relate a key
// to keys before it (a rule is checked where it stands, so it only looks back). `Config` is run_config or
// const run_config; the visitor has section(name), key(name, field, range...) and rule(name, problem) where
// problem() returns what is wrong (after "[section] name") or "".
template <class Config, class Visitor>
void walk(Config& c, Visitor& v) {
  v.section("run");
  v.key("seed", c.seed);
  v.key("threads", c.threads, 1, k_max_threads);
  v.key("torch_threads", c.torch_threads, 1, k_max_threads);
  v.key("deterministic", c.deterministic);

  v.section("model");
  v.key("model_dir", c.model_dir);
  v.rule("model_dir", [&c] { return empty_path_problem(c.model_dir); });
  // Checked here rather than by lora_config::validate (a torch translation unit), within its limits.
  v.key("lora_rank", c.lora.rank, 1, 256);
  v.key("lora_alpha", c.lora.alpha, 0.0, 4096.0, true);
  v.key("lora_dropout", c.lora.dropout, 0.0, 0.9);
  v.key("lora_targets", c.lora.targets, k_lora_targets);
  v.rule("lora_targets", [&c] { return empty_problem(c.lora.targets, k_lora_targets); });
  v.rule("lora_targets", [&c] { return duplicate_problem(c.lora.targets); });
  v.key("max_len", c.max_len, 2, 4096);

  v.section("data");
  v.key("data_dir", c.data_dir);
  v.rule("data_dir", [&c] { return empty_path_problem(c.data_dir); });
  v.key("tasks", c.tasks);
  v.rule("tasks", [&c] { return empty_problem(c.tasks, k_tasks); });
  v.rule("tasks", [&c] { return task_spec_problem(c.tasks); });
  v.rule("tasks", [&c] { return duplicate_problem(c.task_names()); });
  v.key("partition", c.partition, k_partitions);
  v.rule("tasks", [&c] {
    if (c.tasks.size() <= 1 || c.partition == "by_task")
      return std::string{};
    return fmt::format("= {} needs partition = \"by_task\" (one task per client), not \"{}\"",
                       quoted_list(c.tasks), c.partition);
  });
  v.key("dirichlet_alpha", c.dirichlet_alpha, 0.0, 1000.0, true);
  v.key("max_train_per_client", c.max_train_per_client, 0, k_max_count);
  v.key("eval_examples", c.eval_examples, 1, k_max_count);
  v.key("test_examples", c.test_examples, 0, k_max_count);

  v.section("train");
  v.key("batch_size", c.batch_size, 1, 4096);
  v.key("lr", c.lr, 0.0, 1.0, true);
  v.key("weight_decay", c.weight_decay, 0.0, 10.0);
  v.key("grad_clip", c.grad_clip, 0.0, 1e6);

  v.section("topology");
  v.key("clients", c.clients, 1, k_max_clients);
  v.rule("clients", [&c] {
    if (c.tasks.size() <= 1 || c.clients >= static_cast<int64_t>(c.tasks.size()))
      return std::string{};
    return fmt::format("= {} is fewer than the {} tasks; by_task needs at least one client per task",
                       c.clients, c.tasks.size());
  });
  v.key("edges", c.edges, 1, k_max_edges);
  v.rule("edges", [&c] {
    return c.edges <= c.clients
             ? std::string{}
             : fmt::format("= {} exceeds clients = {}; every edge needs a client", c.edges, c.clients);
  });
  v.key("rounds", c.rounds, 1, k_max_rounds);
  v.key("kappa1", c.kappa1, 1, k_max_rounds);
  v.key("kappa2", c.kappa2, 1, k_max_rounds);
  v.key("max_concurrent_steps", c.max_concurrent_steps, 0, 1'000'000);
  v.key("clients_per_round", c.clients_per_round, 0, k_max_clients);
  v.rule("clients_per_round", [&c] {
    return c.clients_per_round <= c.clients
             ? std::string{}
             : fmt::format("= {} exceeds clients = {}", c.clients_per_round, c.clients);
  });
  v.key("clients_fraction", c.clients_fraction, 0.0, 1.0);
  v.rule("clients_fraction", [&c] {
    return c.clients_fraction > 0.0 && c.clients_per_round > 0
             ? fmt::format("= {} and clients_per_round = {} both say how many clients take part; set one (the "
                           "other 0)",
                           c.clients_fraction, c.clients_per_round)
             : std::string{};
  });
  v.key("mode", c.topology_mode, k_topology_modes);
  v.key("buffer_size", c.buffer_size, 0, k_max_clients);
  v.rule("buffer_size", [&c] {
    return c.buffer_size <= c.clients
             ? std::string{}
             : fmt::format("= {} exceeds clients = {}", c.buffer_size, c.clients);
  });
  v.rule("mode", [&c] {
    if (!c.async_edges())
      return std::string{};
    // What async does not combine with yet, each for a reason the docs give (docs/mechanisms.md); the
    // others are checked where their keys are read.
    if (c.sampled_per_round() > 0)
      return std::string("= \"async\" draws each round's clients itself (those whose uploads were aggregated); set "
                         "no client sampling (clients_per_round = 0, clients_fraction = 0)");
    return std::string{};
  });
  v.rule("rounds", [&c] {
    return c.rounds % c.kappa2 == 0
             ? std::string{}
             : fmt::format("= {} is not a multiple of kappa2 = {} (edge rounds per cloud round)", c.rounds,
                           c.kappa2);
  });

  v.section("split");
  v.key("head_blocks", c.head_blocks, 1, k_max_blocks);
  v.key("tail_blocks", c.tail_blocks, 1, k_max_blocks);
  // Whether a + b < n_layer (the edge runs at least one block) is checked against the model at start-up.
  v.key("mode", c.split_mode, k_split_modes);
  v.key("min_head_blocks", c.min_head_blocks, 1, k_max_blocks);
  v.key("layout", c.split_layout, k_split_layouts);
  v.rule("mode", [&c] { return needs_u_shape(c, c.dynamic_split(), "= \"dynamic\" (the planner moves the cut of a "
                                                                    "head | body | tail split)"); });

  v.section("profiles");
  v.key("class_names", c.class_names);
  v.rule("class_names", [&c] { return c.class_names.empty() ? "is empty; name at least one device class" : std::string{}; });
  v.rule("class_names", [&c] { return duplicate_problem(c.class_names); });
  v.rule("class_names", [&c] {
    for (const auto& n : c.class_names)
      if (n.empty())
        return std::string{"has an empty name"};
    return std::string{};
  });
  const auto classes = c.class_names.size();
  auto per_class = [classes](const std::vector<double>& v) {
    return v.size() == classes ? std::string{}
                               : fmt::format("has {} entries; it needs one per class of class_names ({})", v.size(), classes);
  };
  v.key("class_gflops", c.class_gflops, 1e-6, 1e9);
  v.rule("class_gflops", [&] { return per_class(c.class_gflops); });
  v.key("class_memory_mb", c.class_memory_mb, 1e-3, 1e9);
  v.rule("class_memory_mb", [&] { return per_class(c.class_memory_mb); });
  v.key("class_up_mbps", c.class_up_mbps, 1e-6, 1e9);
  v.rule("class_up_mbps", [&] { return per_class(c.class_up_mbps); });
  v.key("class_down_mbps", c.class_down_mbps, 1e-6, 1e9);
  v.rule("class_down_mbps", [&] { return per_class(c.class_down_mbps); });
  v.key("class_latency_ms", c.class_latency_ms, 0.0, 1e6);
  v.rule("class_latency_ms", [&] { return per_class(c.class_latency_ms); });
  v.key("client_classes", c.client_classes, c.class_names);
  v.rule("client_classes", [&c] {
    return c.client_classes.empty() || static_cast<int64_t>(c.client_classes.size()) == c.clients
             ? std::string{}
             : fmt::format("has {} entries; it needs one class name per client ({}) or none", c.client_classes.size(),
                           c.clients);
  });
  v.key("class_fractions", c.class_fractions, 0.0, 1.0);
  v.rule("class_fractions", [&c, classes] {
    if (c.class_fractions.empty())
      return std::string{};
    if (!c.client_classes.empty())
      return std::string{"is set together with client_classes; give the list or the fractions"};
    if (c.class_fractions.size() != classes)
      return fmt::format("has {} entries; it needs one per class of class_names ({})", c.class_fractions.size(), classes);
    double sum = 0;
    for (double f : c.class_fractions)
      sum += f;
    return std::abs(sum - 1.0) <= 1e-6 ? std::string{} : fmt::format("sums to {}; the fractions must sum to 1", sum);
  });
  v.key("edge_gflops", c.edge_gflops, 1e-6, 1e9);
  v.rule("edge_gflops", [&c] {
    return c.edge_gflops.size() == 1 || static_cast<int64_t>(c.edge_gflops.size()) == c.edges
             ? std::string{}
             : fmt::format("has {} entries; it needs one for every edge or one per edge ({})", c.edge_gflops.size(),
                           c.edges);
  });
  v.key("edge_cloud_mbps", c.edge_cloud_mbps, 0.0, 1e9, true);
  v.key("edge_cloud_latency_ms", c.edge_cloud_latency_ms, 0.0, 1e6);
  v.key("change_clients", c.change_clients, 0, c.clients - 1);
  v.key("change_rounds", c.change_rounds, 0, c.rounds - 1);
  v.key("change_classes", c.change_classes, c.class_names);
  v.rule("change_classes", [&c] {
    return c.change_clients.size() == c.change_rounds.size() && c.change_rounds.size() == c.change_classes.size()
             ? std::string{}
             : fmt::format("has {} entries, change_clients {} and change_rounds {}; each change needs all three",
                           c.change_classes.size(), c.change_clients.size(), c.change_rounds.size());
  });
  v.key("deadline_s", c.deadline_s, 0.0, 1e9);
  v.key("enforce_deadline", c.enforce_deadline);
  v.rule("enforce_deadline", [&c] {
    return c.enforce_deadline && c.async_edges()
             ? std::string("= true with [topology] mode = \"async\": async orders uploads on the simulated clock "
                           "itself; set one of them")
             : std::string{};
  });
  v.rule("enforce_deadline", [&c] {
    return c.enforce_deadline && c.deadline_s <= 0
             ? std::string("= true needs a deadline: set [profiles] deadline_s > 0")
             : std::string{};
  });

  v.section("elsa");
  v.key("clustering", c.clustering, k_clusterings);
  v.rule("clustering", [&c] {
    // k-medoids over a sampled subset could give a new cluster an id that unsampled clients still hold, and a
    // rarely sampled client's drift would be measured against an old fingerprint: not supported yet.
    return c.clustering == "behaviour" && c.sampled_per_round() > 0
             ? std::string("= \"behaviour\" with client sampling ([topology] clients_per_round or clients_fraction) "
                           "is not supported yet; sample no clients, or use clustering = \"task\" or \"none\"")
             : std::string{};
  });
  v.rule("clustering", [&c] {
    return c.clustering == "behaviour" && c.async_edges()
             ? std::string("= \"behaviour\" with [topology] mode = \"async\" is not supported (a fingerprint round "
                           "needs every client at once); use clustering = \"task\" or \"none\", or mode = \"sync\"")
             : std::string{};
  });
  v.rule("clustering", [&c] {
    return needs_u_shape(c, c.clustering == "behaviour", "= \"behaviour\" (fingerprints run the probes through the "
                                                         "split path)");
  });
  v.key("fingerprint", c.fingerprint, k_fingerprints);
  v.key("probes", c.probes, 2, 13000);
  v.key("shrinkage", c.shrinkage, 0.0, 1.0);
  v.key("predictive_vocab", c.predictive_vocab, 2, 65536);
  v.key("clusters", c.clusters, 0, 256);
  v.rule("clusters", [&c] {
    return c.clusters <= c.clients ? std::string{}
                                   : fmt::format("= {} exceeds clients = {}", c.clusters, c.clients);
  });
  v.key("max_clusters", c.max_clusters, 2, 256);
  v.key("recluster_every", c.recluster_every, 1, k_max_rounds);
  v.key("trust_weighting", c.trust_weighting);
  v.key("trust_beta", c.trust_beta, 0.0, 1000.0);
  v.key("trust_gamma", c.trust_gamma, 0.0, 1000.0);
  v.key("trust_rho", c.trust_rho, 0.0, 1.0);
  v.key("tau_min", c.tau_min, 0.0, 1.0);
  v.key("assignment", c.assignment, k_assignments);
  v.key("edge_capacity", c.edge_capacity, 0, k_max_clients);
  v.rule("edge_capacity", [&c] {
    return c.edge_capacity == 0 || c.edge_capacity * c.edges >= c.clients
             ? std::string{}
             : fmt::format("= {} x edges = {} holds fewer than the {} clients", c.edge_capacity, c.edges,
                           c.clients);
  });
  v.key("latency_min_ms", c.latency_min_ms, 0.0, 1e6);
  v.key("latency_max_ms", c.latency_max_ms, 0.0, 1e6);
  v.rule("latency_max_ms", [&c] {
    return c.latency_max_ms >= c.latency_min_ms
             ? std::string{}
             : fmt::format("= {} is below latency_min_ms = {}", c.latency_max_ms, c.latency_min_ms);
  });
  v.key("latency_jitter_ms", c.latency_jitter_ms, 0.0, 1e6);
  v.key("latency_ms", c.latency_ms, 0.0, 1e6);
  v.rule("latency_ms", [&c] {
    const auto want = static_cast<std::size_t>(c.clients * c.edges);
    return c.latency_ms.empty() || c.latency_ms.size() == want
             ? std::string{}
             : fmt::format("has {} entries; it needs clients x edges = {} x {} = {} (row c: client c's RTT to "
                           "edges 0..{})", c.latency_ms.size(), c.clients, c.edges, want, c.edges - 1);
  });
  v.key("rtt_deadline_ms", c.rtt_deadline_ms, 0.0, 1e6);
  v.key("heartbeat_timeout_ms", c.heartbeat_timeout_ms, 1, k_max_ms);

  v.section("compress");
  v.key("activations", c.activations, k_wire_types);
  v.key("adapters", c.adapters, k_adapter_forms);
  v.key("sketch_rows", c.sketch_rows, 1, 64);
  v.key("sketch_cols", c.sketch_cols, 0, 1 << 24);
  v.key("sketch_ratio", c.sketch_ratio, 1.0, 1e6);
  v.key("sketch_k", c.sketch_k, 0, int64_t{1} << 32);
  v.key("sketch_decode", c.sketch_decode, k_sketch_decodes);
  v.key("sketch_gain", c.sketch_gain, 0.0, 1e6, true);
  v.rule("adapters", [&c] { return needs_u_shape(c, c.adapters == "sketch", "= \"sketch\""); });
  v.rule("adapters", [&c] {
    return c.adapters == "sketch" && c.async_edges()
             ? std::string("= \"sketch\" with [topology] mode = \"async\": async aggregates uploads rounds after "
                           "they were made, and a sketch is the difference from its own round's adapters; set "
                           "adapters = \"none\", or mode = \"sync\"")
             : std::string{};
  });

  v.section("privacy");
  v.key("ssop", c.ssop);
  v.key("ssop_k", c.ssop_k, 0, 65536);
  v.key("ssop_sigma", c.ssop_sigma, 0.0, 1000.0);
  v.key("capture", c.capture, 0, 100000);
  v.rule("ssop", [&c] {
    return c.ssop && c.whole_model() ? std::string("= true with [split] layout = \"whole_model\": no activation "
                                                   "leaves a client to perturb")
                                     : std::string{};
  });
  v.rule("capture", [&c] {
    return c.capture > 0 && c.whole_model() ? std::string("> 0 with [split] layout = \"whole_model\": no activation "
                                                          "reaches an edge to capture")
                                            : std::string{};
  });
  // Whether ssop_k < n_embd is checked against the model at start-up.

  // Client ids are 0..clients-1, edge ids 0..edges-1, rounds 0..rounds-1 (read in [topology] above).
  v.section("faults");
  v.key("round_deadline_ms", c.round_deadline_ms, 1, k_max_ms);
  v.key("step_deadline_ms", c.step_deadline_ms, 1, k_max_ms);
  v.key("quorum", c.quorum, 0.0, 1.0, true);
  v.key("start_quorum", c.start_quorum, 0.0, 1.0, true);
  v.key("straggler_policy", c.straggler_policy_name, k_straggler_policies);
  v.rule("straggler_policy", [&c] {
    return c.straggler_policy_name == "staleness" && c.async_edges()
             ? std::string("= \"staleness\" with [topology] mode = \"async\": async keeps waiting uploads itself, "
                           "on the simulated clock; use straggler_policy = \"drop\" (a real-clock straggler's upload "
                           "is dropped), or mode = \"sync\"")
             : std::string{};
  });
  v.key("staleness_decay", c.staleness_decay, 0.0, 1.0);
  v.key("max_staleness", c.max_staleness, 0, 100);
  v.key("down_after_missed", c.down_after_missed, 1, 1000);
  v.key("stragglers", c.stragglers, 0, c.clients - 1);
  v.rule("stragglers", [&c] { return duplicate_problem(c.stragglers); });
  v.key("straggler_delay_ms", c.straggler_delay_ms, 0, k_max_ms);
  v.key("dropouts", c.dropouts, 0, c.clients - 1);
  v.rule("dropouts", [&c] { return duplicate_problem(c.dropouts); });
  v.key("dropout_round", c.dropout_round, 0, c.rounds - 1);
  v.key("dropout_step", c.dropout_step, 0, c.kappa1 - 1);  // kappa1 would be after the round's last step
  v.key("dropout_mode", c.dropout_mode_name, k_dropout_modes);
  v.key("silent_dropouts", c.silent_dropouts, 0, c.clients - 1);
  v.rule("silent_dropouts", [&c] { return duplicate_problem(c.silent_dropouts); });
  v.rule("silent_dropouts", [&c] {
    for (auto id : c.silent_dropouts)
      if (std::find(c.dropouts.begin(), c.dropouts.end(), id) != c.dropouts.end())
        return fmt::format("client {} is also in dropouts; a client drops out one way", id);
    return std::string{};
  });
  v.key("edge_failures", c.edge_failures, 0, c.edges - 1);
  v.rule("edge_failures", [&c] { return duplicate_problem(c.edge_failures); });
  v.rule("edge_failures", [&c] {
    return static_cast<int64_t>(c.edge_failures.size()) < c.edges
             ? std::string{}
             : fmt::format("fails all {} edges; at least one edge must survive", c.edges);
  });
  v.key("edge_failure_round", c.edge_failure_round, 0, c.rounds - 1);
  v.key("malformed_to", c.malformed_to, k_roles);
  v.rule("malformed_to", [&c] { return duplicate_problem(c.malformed_to); });
  v.key("byzantine", c.byzantine, 0, c.clients - 1);
  v.rule("byzantine", [&c] { return duplicate_problem(c.byzantine); });
  v.key("byzantine_fraction", c.byzantine_fraction, 0.0, 1.0);
  v.rule("byzantine_fraction", [&c] {
    return c.byzantine.empty() || c.byzantine_fraction == 0.0
             ? std::string{}
             : std::string{"is set together with byzantine = [...]; give the list or the fraction"};
  });
  v.key("byzantine_mode", c.byzantine_mode, k_byzantine_modes);
  v.key("byzantine_scale", c.byzantine_scale, 0.0, 1e6);
  v.key("net_drop", c.net_drop, 0.0, 0.9);
  v.key("net_delay", c.net_delay, 0.0, 1.0);
  v.key("net_delay_ms", c.net_delay_ms, 0, k_max_ms);
  v.key("net_duplicate", c.net_duplicate, 0.0, 1.0);
  v.key("net_corrupt", c.net_corrupt, 0.0, 0.9);
  v.key("partition_edges", c.partition_edges, 0, c.edges - 1);
  v.rule("partition_edges", [&c] { return duplicate_problem(c.partition_edges); });
  v.key("partition_clients", c.partition_clients, 0, c.clients - 1);
  v.rule("partition_clients", [&c] { return duplicate_problem(c.partition_clients); });
  v.key("partition_round", c.partition_round, 0, c.rounds - 1);
  v.key("partition_rounds", c.partition_rounds, 0, k_max_rounds);
  v.key("retry_ms", c.retry_ms, 0, k_max_ms);

  v.section("network");
  v.key("tls", c.tls);
  v.key("certificate", c.certificate);
  v.key("key", c.key);
  v.key("cafile", c.cafile);
  v.rule("cafile", [&c] {
    const int set = !c.certificate.empty() + !c.key.empty() + !c.cafile.empty();
    return set == 0 || set == 3 ? std::string{}
                                : std::string{"is one of certificate, key and cafile: give all three or none"};
  });
  v.key("heartbeat_ms", c.heartbeat_ms, 10, k_max_ms);
  v.key("connection_timeout_ms", c.connection_timeout_ms, 10, k_max_ms);
  v.rule("connection_timeout_ms", [&c] {
    return c.connection_timeout_ms > c.heartbeat_ms
             ? std::string{}
             : fmt::format("must be longer than heartbeat_ms ({}), or every connection times out", c.heartbeat_ms);
  });
  v.key("join_timeout_ms", c.join_timeout_ms, 10, k_max_ms);
  v.key("data_plane", c.data_plane);
  v.key("data_plane_min_bytes", c.data_plane_min_bytes, 1, int64_t{1} << 31);

  v.section("output");
  v.key("dir", c.out_dir);
  v.rule("dir", [&c] { return empty_path_problem(c.out_dir); });
  v.key("progress", c.progress);
  v.key("save_adapters", c.save_adapters);
  v.key("target_accuracy", c.target_accuracy, 0.0, 1.0);
  v.end();
}

// -- visitors -----------------------------------------------------------------------------------------------

/// The section names, in order.
struct section_lister {
  names sections;

  void section(const char* name) {
    sections.emplace_back(name);
  }
  template <class... Args>
  void key(Args&&...) {
  }
  template <class F>
  void rule(const char*, F) {
  }
  void end() {
  }
};

/// Reads each key from the TOML file (type and range checked by section_reader) and applies the rules; errors
/// name the file.
class file_reader {
public:
  file_reader(const fs::path& file, const toml::table& root, const std::vector<key_override>& overrides)
      : file_(file), root_(root), overrides_(overrides) {
    for (const auto& o : overrides_)
      note_ += (note_.empty() ? " (with " : " ") + o.option;
    if (!note_.empty())
      note_ += ")";
  }

  void section(const char* name) {
    end();
    current_.emplace(file_, root_, name);
    current_->set_note(note_);
    for (const auto& o : overrides_)
      if (o.section == name)
        current_->set_origin(o.key, o.option);
  }
  template <class... Args>
  void key(const char* name, Args&&... args) {
    current_->get(name, std::forward<Args>(args)...);
  }
  template <class F>
  void rule(const char* name, F problem) {
    if (auto what = problem(); !what.empty())
      current_->fail(name, what);
  }
  void end() {
    if (current_)
      current_->check_done();
  }

private:
  const fs::path& file_;
  const toml::table& root_;
  const std::vector<key_override>& overrides_;
  std::string note_;
  std::optional<tc::section_reader> current_;
};

/// Checks values already in a run_config, with the messages the file reader gives (less the file name).
class checker {
public:
  void section(const char* name) {
    section_ = name;
  }
  void key(const char* name, uint64_t value) {
    constexpr auto hi = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (value > hi)
      fail(name, fmt::format("= {} is out of range; allowed 0..{}", value, hi));
  }
  void key(const char* name, int64_t value, int64_t lo, int64_t hi) {
    check(name, tc::range_problem(value, lo, hi));
  }
  void key(const char* name, double value, double lo, double hi, bool lo_open = false) {
    check(name, tc::range_problem(value, lo, hi, lo_open));
  }
  void key(const char*, bool) {
  }
  void key(const char*, const fs::path&) {
  }
  void key(const char* name, const std::string& value, const names& allowed) {
    check(name, tc::choice_problem(value, allowed));
  }
  void key(const char*, const names&) {
  }
  void key(const char* name, const names& values, const names& allowed) {
    for (size_t i = 0; i < values.size(); ++i)
      check(fmt::format("{}[{}]", name, i), tc::choice_problem(values[i], allowed));
  }
  template <class Number>  // int64_t or double
  void key(const char* name, const std::vector<Number>& values, typename std::vector<Number>::value_type lo,
           typename std::vector<Number>::value_type hi) {
    for (size_t i = 0; i < values.size(); ++i)
      check(fmt::format("{}[{}]", name, i), tc::range_problem(values[i], lo, hi));
  }
  template <class F>
  void rule(const char* name, F problem) {
    check(name, problem());
  }
  void end() {
  }

private:
  void check(const std::string& key, const std::string& what) const {
    if (!what.empty())
      fail(key, what);
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw error(errc::invalid_argument, fmt::format("[{}] {} {}", section_, key, what));
  }

  std::string section_;
};

/// TOML text: a basic string with escapes.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (ch < 0x20 || ch == 0x7f)
          out += fmt::format("\\u{:04X}", ch);
        else
          out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

/// The shortest text that reads back as the same double, always with a '.' or an exponent (TOML float).
std::string number(double v) {
  auto s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) // not 1e-05, 0.5, nan or inf
    s += ".0";
  return s;
}

/// Writes every key with its value.
class writer {
public:
  std::string text = "# The effective configuration of an ELSA run: every key, defaults included.\n";

  void section(const char* name) {
    text += fmt::format("\n[{}]\n", name);
  }
  void key(const char* name, uint64_t value) {
    line(name, std::to_string(value));
  }
  void key(const char* name, int64_t value, int64_t, int64_t) {
    line(name, std::to_string(value));
  }
  void key(const char* name, double value, double, double, bool = false) {
    line(name, number(value));
  }
  void key(const char* name, bool value) {
    line(name, value ? "true" : "false");
  }
  void key(const char* name, const fs::path& value) {
    line(name, quote(value.string()));
  }
  void key(const char* name, const std::string& value, const names&) {
    line(name, quote(value));
  }
  void key(const char* name, const names& values, const names&) {
    array(name, values, quote);
  }
  void key(const char* name, const names& values) {
    array(name, values, quote);
  }
  void key(const char* name, const std::vector<int64_t>& values, int64_t, int64_t) {
    array(name, values, [](int64_t x) { return std::to_string(x); });
  }
  void key(const char* name, const std::vector<double>& values, double, double) {
    array(name, values, number);
  }
  template <class F>
  void rule(const char*, F) {
  }
  void end() {
  }

private:
  void line(const char* name, const std::string& value) {
    text += fmt::format("{} = {}\n", name, value);
  }
  // A TOML array of `values`, each written by `format`.
  template <class T, class Format>
  void array(const char* name, const std::vector<T>& values, Format format) {
    std::string list;
    for (const auto& x : values)
      list += (list.empty() ? "" : ", ") + format(x);
    line(name, "[" + list + "]");
  }
};

/// A seeded splitmix64 stream: draws that depend only on the seed (byzantine clients, device classes).
class splitmix {
public:
  explicit splitmix(uint64_t seed) : state_(seed) {
  }
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

private:
  uint64_t state_;
};

} // namespace

int64_t run_config::sampled_per_round() const {
  if (clients_per_round > 0)
    return clients_per_round;
  if (clients_fraction > 0.0)
    return std::max<int64_t>(1, std::llround(clients_fraction * static_cast<double>(clients)));
  return 0;
}

std::vector<std::string> run_config::task_names() const {
  std::vector<std::string> out;
  for (const auto& spec : tasks)
    out.push_back(data::task_name(spec));
  return out;
}

std::vector<uint32_t> run_config::byzantine_clients() const {
  std::vector<uint32_t> out;
  if (!byzantine.empty()) {
    for (auto id : byzantine)
      out.push_back(static_cast<uint32_t>(id));
  } else if (byzantine_fraction > 0) {
    // A seeded partial Fisher-Yates (splitmix64 steps), so the draw depends only on the seed.
    const auto n = static_cast<uint32_t>(clients);
    const auto k = static_cast<uint32_t>(std::llround(byzantine_fraction * static_cast<double>(clients)));
    std::vector<uint32_t> ids(n);
    for (uint32_t i = 0; i < n; ++i)
      ids[i] = i;
    splitmix draw{seed ^ 0xB12A711E5ull};
    for (uint32_t i = 0; i < k && i < n; ++i) {
      const auto j = i + static_cast<uint32_t>(draw.next() % (n - i));
      std::swap(ids[i], ids[j]);
      out.push_back(ids[i]);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t run_config::client_class(uint32_t client, int64_t round) const {
  auto index_of = [this](const std::string& name) {
    return static_cast<std::size_t>(std::find(class_names.begin(), class_names.end(), name) - class_names.begin());
  };
  std::size_t cls = 0;
  if (!client_classes.empty()) {
    cls = index_of(client_classes.at(client));
  } else if (!class_fractions.empty()) {
    // round(fraction x clients) clients per class (largest remainders make up the total), in a seeded order.
    const auto n = static_cast<std::size_t>(clients);
    std::vector<std::size_t> count(class_fractions.size());
    std::vector<std::pair<double, std::size_t>> rest;
    std::size_t given = 0;
    for (std::size_t k = 0; k < count.size(); ++k) {
      const double exact = class_fractions[k] * static_cast<double>(n);
      count[k] = static_cast<std::size_t>(std::floor(exact));
      given += count[k];
      rest.emplace_back(-(exact - std::floor(exact)), k);
    }
    std::sort(rest.begin(), rest.end());
    for (std::size_t i = 0; given < n; ++i, ++given)
      ++count[rest[i % rest.size()].second];
    std::vector<std::size_t> order;
    for (std::size_t k = 0; k < count.size(); ++k)
      order.insert(order.end(), count[k], k);
    splitmix draw{seed ^ 0xC1A55E5ull};
    for (std::size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[draw.next() % i]);
    cls = order.at(client);
  }
  for (std::size_t i = 0; i < change_clients.size(); ++i)  // in file order: a later change wins a tie
    if (change_clients[i] == static_cast<int64_t>(client) && change_rounds[i] <= round)
      cls = index_of(change_classes[i]);
  return cls;
}

sim::device_profile run_config::client_device(uint32_t client, int64_t round) const {
  const auto k = client_class(client, round);
  sim::device_profile d;
  d.name = class_names.at(k);
  d.flops_per_s = class_gflops.at(k) * 1e9;
  d.memory_bytes = class_memory_mb.at(k) * 1e6;
  d.up_bytes_per_s = class_up_mbps.at(k) * 1e6 / 8;
  d.down_bytes_per_s = class_down_mbps.at(k) * 1e6 / 8;
  d.latency_s = class_latency_ms.at(k) / 1e3;
  return d;
}

double run_config::edge_flops(uint32_t edge) const {
  return (edge_gflops.size() == 1 ? edge_gflops.front() : edge_gflops.at(edge)) * 1e9;
}

straggler_policy run_config::stragglers_policy() const {
  if (straggler_policy_name == "drop")
    return straggler_policy::drop;
  if (straggler_policy_name == "staleness")
    return straggler_policy::staleness;
  throw error(errc::invalid_argument,
              "[faults] straggler_policy " + tc::choice_problem(straggler_policy_name, k_straggler_policies));
}

dropout_mode run_config::dropouts_mode() const {
  if (dropout_mode_name == "crash")
    return dropout_mode::crash;
  if (dropout_mode_name == "silent")
    return dropout_mode::silent;
  throw error(errc::invalid_argument,
              "[faults] dropout_mode " + tc::choice_problem(dropout_mode_name, k_dropout_modes));
}

run_config read_run_config(const std::filesystem::path& path, const std::vector<key_override>& overrides) {
  auto root = tc::parse(path);
  run_config cfg;
  section_lister lister;
  walk(cfg, lister);
  tc::check_sections(path, root, lister.sections);
  // Overrides go into the parsed file, so one pass checks types, ranges and rules on the values the run uses.
  for (const auto& o : overrides) {
    if (std::find(lister.sections.begin(), lister.sections.end(), o.section) == lister.sections.end())
      throw error(errc::invalid_argument, fmt::format("{}: a run config has no section [{}]", o.option, o.section));
    if (!root.contains(o.section))
      root.insert(o.section, toml::table{});
    if (auto* table = root.get(o.section)->as_table()) // not a table: the reader names the file's mistake
      std::visit([&](const auto& v) { table->insert_or_assign(o.key, v); }, o.value);
  }
  file_reader reader{path, root, overrides};
  walk(cfg, reader);
  return cfg;
}

void validate(const run_config& cfg) {
  checker c;
  walk(cfg, c);
}

std::string to_toml(const run_config& cfg) {
  writer w;
  walk(cfg, w);
  return w.text;
}

} // namespace elsa::run
