// Reading a suite file and laying out its grid (see suite.hpp).
#include "core/experiment/suite.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/run/run_config.hpp"
#include "core/toml_reader.hpp"

namespace elsa::experiment {

namespace {

// ELSA with every mechanism on (ELSA.md 3): behaviour clustering, trust weighting, latency-aware placement,
// the dynamic split, sketched adapter uploads and SS-OP of head activations.
toml::table elsa_switches() {
  return toml::table{
    {"elsa", toml::table{{"clustering", "behaviour"}, {"trust_weighting", true}, {"assignment", "latency"}}},
    {"split", toml::table{{"mode", "dynamic"}, {"layout", "u_shaped"}}},
    {"compress", toml::table{{"adapters", "sketch"}}},
    {"privacy", toml::table{{"ssop", true}}},
  };
}

// The one switch that turns a mechanism off (clustering off is one cluster for every client, not the task
// oracle).
toml::table off_switch(const std::string& mechanism) {
  if (mechanism == "clustering")
    return toml::table{{"elsa", toml::table{{"clustering", "none"}}}};
  if (mechanism == "trust")
    return toml::table{{"elsa", toml::table{{"trust_weighting", false}}}};
  if (mechanism == "latency")
    return toml::table{{"elsa", toml::table{{"assignment", "round_robin"}}}};
  if (mechanism == "dynamic_split")
    return toml::table{{"split", toml::table{{"mode", "fixed"}}}};
  if (mechanism == "sketch")
    return toml::table{{"compress", toml::table{{"adapters", "none"}}}};
  return toml::table{{"privacy", toml::table{{"ssop", false}}}};  // ssop
}

const std::vector<std::string> mechanisms = {"clustering", "trust", "latency", "dynamic_split", "sketch", "ssop"};

const std::vector<std::string> baselines = {"fedavg_lora", "hierfavg_lora", "splitfed_lora"};

// The baselines: every ELSA mechanism off (one cluster, plain sample weighting, round-robin placement, fixed
// split, dense uploads, no SS-OP), on their own [split] layout and topology.
// - fedavg_lora (FedIT): whole model on each client, one server: one edge that passes every round to the
//   cloud (kappa2 = 1) over a link the clock charges nothing, so the server's average is the cloud's.
// - hierfavg_lora: whole model on each client; client-edge-cloud as the base config's topology.
// - splitfed_lora (SFLv1): a two-part split, [split] head_blocks on the client, the rest and the labels at
//   one server, which keeps a server-side copy per client and averages them with the clients' heads every
//   round (one edge, kappa2 = 1).
toml::table baseline_switches(const std::string& method) {
  toml::table t{
    {"elsa", toml::table{{"clustering", "none"}, {"trust_weighting", false}, {"assignment", "round_robin"}}},
    {"split", toml::table{{"mode", "fixed"}, {"layout", method == "splitfed_lora" ? "two_part" : "whole_model"}}},
    {"compress", toml::table{{"adapters", "none"}}},
    {"privacy", toml::table{{"ssop", false}}},
  };
  if (method != "hierfavg_lora") {
    // One server: the one edge and the cloud stand in one place, so the simulated clock charges their link
    // nothing (its bytes still show in the edge<->cloud columns).
    t.insert_or_assign("topology", toml::table{{"edges", 1}, {"kappa2", 1}});
    t.insert_or_assign("profiles", toml::table{{"edge_cloud_mbps", 1e6}, {"edge_cloud_latency_ms", 0.0}});
  }
  if (method != "splitfed_lora")  // nothing leaves a whole-model client but its adapters
    lay_over(t, toml::table{{"privacy", toml::table{{"capture", 0}}}});
  return t;
}

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw error(errc::invalid_argument, fmt::format("{}: {}", file.string(), what));
}

// A folder name from a cell's values: letters, digits, '.', '_', '+' and '-' kept, anything else '_'.
std::string safe_name(std::string s) {
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '+' && c != '-')
      c = '_';
  return s;
}

// A table of sections ([set], [fault.NAME]): every value a table of keys.
toml::table sections_of(const std::filesystem::path& file, const std::string& where, const toml::node& node) {
  const auto* t = node.as_table();
  if (t == nullptr)
    fail(file, fmt::format("[{}] must be a table of run-config sections (e.g. [{}.faults])", where, where));
  for (auto&& [k, v] : *t)
    if (!v.is_table())
      fail(file, fmt::format("[{}] {} must be a run-config section (a table of keys, e.g. [{}.{}])", where,
                             k.str(), where, k.str()));
  return *t;
}

} // namespace

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {"elsa"};
    for (const auto& m : mechanisms)
      n.push_back("elsa_no_" + m);
    n.insert(n.end(), baselines.begin(), baselines.end());
    return n;
  }();
  return names;
}

toml::table method_switches(const std::string& method) {
  if (method == "elsa")
    return elsa_switches();
  for (const auto& m : mechanisms)
    if (method == "elsa_no_" + m) {
      auto t = elsa_switches();
      lay_over(t, off_switch(m));
      return t;
    }
  if (std::find(baselines.begin(), baselines.end(), method) != baselines.end())
    return baseline_switches(method);
  throw error(errc::invalid_argument,
              fmt::format("unknown method '{}'; methods: {}", method, toml_config::join(method_names())));
}

void lay_over(toml::table& base, const toml::table& over) {
  for (auto&& [k, v] : over) {
    auto* inner = base.get(k);
    if (v.is_table() && inner != nullptr && inner->is_table()) {
      lay_over(*inner->as_table(), *v.as_table());
      continue;
    }
    base.insert_or_assign(k, v);
  }
}

suite read_suite(const std::filesystem::path& file) {
  const auto root = toml_config::parse(file);
  toml_config::check_sections(file, root, {"suite", "set", "fault"});
  suite s;
  s.file = file;
  if (!root.contains("suite"))
    fail(file, "no [suite] section; it names at least the base config and the methods");
  if (!root["suite"].is_table())
    fail(file, "[suite] must be a table");
  const auto& st = *root["suite"].as_table();
  {
    // task_sets is a list of lists, which the section reader does not take: read here, then left out of it.
    toml::table rest = st;
    rest.erase("task_sets");
    toml::table wrapped{{"suite", rest}};
    toml_config::section_reader r(file, wrapped, "suite");
    r.get("config", s.base_config);
    r.get("methods", s.methods);
    r.get("alphas", s.alphas, 1e-6, 1e6);
    std::vector<int64_t> seeds;
    r.get("seeds", seeds, 0, std::numeric_limits<int64_t>::max());
    for (auto v : seeds)
      s.seeds.push_back(static_cast<uint64_t>(v));
    r.get("faults", s.faults);
    r.get("attack", s.attack);
    int64_t tokens = 0, epochs = 0;  // 0: not given (out of both ranges)
    r.get("attack_public_tokens", tokens, 1000, 100000000);
    r.get("attack_epochs", epochs, 1, 1000);
    if (tokens > 0)
      s.attack_public_tokens = tokens;
    if (epochs > 0)
      s.attack_epochs = epochs;
    r.check_done();
  }
  if (s.base_config.empty())
    fail(file, "[suite] config is missing: name the base run config, e.g. config = \"configs/quickstart.toml\"");
  if (s.methods.empty())
    fail(file, fmt::format("[suite] methods is missing or empty; methods: {}", toml_config::join(method_names())));
  for (std::size_t i = 0; i < s.methods.size(); ++i) {
    try {
      (void)method_switches(s.methods[i]);
    } catch (const error& e) {
      fail(file, fmt::format("[suite] methods[{}]: {}", i, e.what()));
    }
    if (std::count(s.methods.begin(), s.methods.end(), s.methods[i]) > 1)
      fail(file, fmt::format("[suite] methods names '{}' twice", s.methods[i]));
  }
  if (const auto* sets = st.get("task_sets")) {
    const auto* outer = sets->as_array();
    if (outer == nullptr)
      fail(file, "[suite] task_sets must be a list of task lists, e.g. [[\"spam\"], [\"spam\", \"supersense\"]]");
    for (std::size_t i = 0; i < outer->size(); ++i) {
      const auto* inner = outer->get(i)->as_array();
      if (inner == nullptr || inner->empty())
        fail(file, fmt::format("[suite] task_sets[{}] must be a non-empty list of task names", i));
      std::vector<std::string> tasks;
      for (std::size_t j = 0; j < inner->size(); ++j) {
        const auto name = inner->get(j)->value<std::string>();
        if (!name || name->empty())
          fail(file, fmt::format("[suite] task_sets[{}][{}] must be a task name (a string)", i, j));
        tasks.push_back(*name);
      }
      s.task_sets.push_back(std::move(tasks));
    }
    if (s.task_sets.empty())
      fail(file, "[suite] task_sets is empty; leave it out to keep the base config's tasks");
  }
  for (const char* key : {"alphas", "seeds", "faults"})
    if (const auto* list = st.get(key); list != nullptr && list->is_array() && list->as_array()->empty())
      fail(file, fmt::format("[suite] {} is empty; leave it out to keep the base config's {}", key,
                             std::string(key) == "faults" ? "settings (\"none\")" : "value"));
  if (!s.alphas.empty())
    for (std::size_t i = 0; i < s.task_sets.size(); ++i)
      if (s.task_sets[i].size() > 1)
        fail(file, fmt::format("[suite] alphas: a Dirichlet split is of one task's examples, and task_sets[{}] has "
                               "{} tasks (several tasks are split by task); leave alphas out or give single tasks",
                               i, s.task_sets[i].size()));
  if (root.contains("set"))
    s.set = sections_of(file, "set", *root.get("set"));
  if (root.contains("fault")) {
    const auto* faults = root["fault"].as_table();
    if (faults == nullptr)
      fail(file, "[fault] must hold named settings, e.g. [fault.stragglers.faults]");
    for (auto&& [name, v] : *faults) {
      if (name.str() == "none")
        fail(file, "[fault.none] is built in (no faults) and cannot be redefined");
      s.fault_settings[std::string(name.str())] = sections_of(file, fmt::format("fault.{}", name.str()), v);
    }
  }
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    if (s.faults[i] != "none" && !s.fault_settings.count(s.faults[i])) {
      std::vector<std::string> known = {"none"};
      for (const auto& [n, t] : s.fault_settings)
        known.push_back(n);
      fail(file, fmt::format("[suite] faults[{}] = \"{}\" is not defined; defined: {} (add a [fault.{}.faults] table)",
                             i, s.faults[i], toml_config::join(known), s.faults[i]));
    }
    if (std::count(s.faults.begin(), s.faults.end(), s.faults[i]) > 1)
      fail(file, fmt::format("[suite] faults names '{}' twice", s.faults[i]));
  }
  return s;
}

std::vector<cell> suite::cells(const std::filesystem::path& out) const {
  const auto base = toml_config::parse(base_config);
  const std::vector<std::vector<std::string>> sets = task_sets.empty() ? std::vector<std::vector<std::string>>{{}} : task_sets;
  std::vector<std::optional<double>> alpha_axis;
  for (auto a : alphas)
    alpha_axis.push_back(a);
  if (alpha_axis.empty())
    alpha_axis.push_back(std::nullopt);
  std::vector<std::optional<uint64_t>> seed_axis(seeds.begin(), seeds.end());
  if (seed_axis.empty())
    seed_axis.push_back(std::nullopt);
  const run::run_config defaults;  // what a cell gets where neither the base file nor the grid says
  std::vector<cell> out_cells;
  for (const auto& method : methods)
    for (const auto& tasks : sets)
      for (const auto& alpha : alpha_axis)
        for (const auto& fault : faults)
          for (const auto& seed : seed_axis) {
            cell c;
            c.method = method;
            c.faults = fault;
            c.alpha = alpha;
            c.config = base;
            lay_over(c.config, set);
            lay_over(c.config, method_switches(method));
            if (!tasks.empty()) {
              toml::array list;
              for (const auto& t : tasks)
                list.push_back(t);
              lay_over(c.config, toml::table{{"data", toml::table{{"tasks", list}}}});
              if (tasks.size() > 1)
                lay_over(c.config, toml::table{{"data", toml::table{{"partition", "by_task"}}}});
            }
            if (alpha)
              lay_over(c.config, toml::table{{"data", toml::table{{"partition", "dirichlet"}, {"dirichlet_alpha", *alpha}}}});
            if (seed)
              lay_over(c.config, toml::table{{"run", toml::table{{"seed", static_cast<int64_t>(*seed)}}}});
            if (fault != "none")
              lay_over(c.config, fault_settings.at(fault));
            // What the cell ran on, read back from its config (the base file's when the grid leaves it).
            if (const auto* list = c.config["data"]["tasks"].as_array())
              for (const auto& t : *list)
                c.tasks.push_back(t.value_or(std::string("?")));
            if (c.tasks.empty())
              c.tasks = defaults.tasks;
            c.seed = static_cast<uint64_t>(c.config["run"]["seed"].value_or(static_cast<int64_t>(defaults.seed)));
            std::string tasks_name;
            for (const auto& t : c.tasks)
              tasks_name += (tasks_name.empty() ? "" : "+") + t;
            c.id = safe_name(fmt::format("{}-{}{}-s{}-{}", method, tasks_name,
                                         alpha ? fmt::format("-a{:g}", *alpha) : std::string(), c.seed, fault));
            const auto dir = out / "runs" / c.id;
            lay_over(c.config, toml::table{{"output", toml::table{{"dir", dir.string()}}}});
            for (const auto& other : out_cells)
              if (other.id == c.id)
                throw error(errc::invalid_argument,
                            fmt::format("{}: two cells would be {} (a value given twice in [suite] task_sets, alphas "
                                        "or seeds?)", file.string(), c.id));
            out_cells.push_back(std::move(c));
          }
  return out_cells;
}

} // namespace elsa::experiment
