// Experiment suites: the grid a suite file lays out (each cell a whole run config: base file, [set], method,
// cell values, fault setting, output folder), the refusals of bad suites, and the results table's structure.
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/errors.hpp"
#include "core/experiment/results.hpp"
#include "core/experiment/suite.hpp"
#include "core/run/run_config.hpp"

namespace elsa::experiment {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const std::string& name) {
  const auto p = fs::temp_directory_path() / ("elsa_suite_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// A suite beside a base config in `dir`.
fs::path suite_file(const fs::path& dir, const std::string& suite_text) {
  write(dir / "base.toml", "[topology]\nrounds = 4\nclients = 4\n[data]\ntasks = [\"spam\"]\n[run]\nseed = 7\n");
  write(dir / "suite.toml", suite_text);
  return dir / "suite.toml";
}

std::string error_of(const fs::path& file) {
  try {
    (void)read_suite(file);
  } catch (const error& e) {
    return e.what();
  }
  return "";
}

TEST(Suite, TheGridIsEveryCombinationWithTheMethodsSwitchesAndTheCellsValues) {
  const auto dir = scratch("grid");
  const auto file = suite_file(dir, "[suite]\nconfig = \"" + (dir / "base.toml").string() + "\"\n"
                                    "methods = [\"elsa\", \"elsa_no_sketch\"]\n"
                                    "task_sets = [[\"spam\"], [\"supersense\"]]\n"
                                    "alphas = [0.1, 1.0]\nseeds = [1, 2]\nfaults = [\"none\", \"slow\"]\n"
                                    "[set.topology]\nrounds = 2\n"
                                    "[fault.slow.faults]\nstragglers = [1]\nstraggler_delay_ms = 500\n");
  const auto s = read_suite(file);
  const auto cells = s.cells(dir / "out");
  ASSERT_EQ(cells.size(), 2u * 2 * 2 * 2 * 2);
  const auto& c = cells.front();
  EXPECT_EQ(c.method, "elsa");
  EXPECT_EQ(c.tasks, std::vector<std::string>{"spam"});
  EXPECT_EQ(c.seed, 1u);
  EXPECT_EQ(c.id, "elsa-spam-a0.1-s1-none");
  EXPECT_EQ(c.config["topology"]["rounds"].value<int64_t>(), 2);    // [set] over the base file
  EXPECT_EQ(c.config["topology"]["clients"].value<int64_t>(), 4);   // the base file's
  EXPECT_EQ(c.config["elsa"]["clustering"].value<std::string>(), "behaviour");
  EXPECT_EQ(c.config["split"]["mode"].value<std::string>(), "dynamic");
  EXPECT_EQ(c.config["compress"]["adapters"].value<std::string>(), "sketch");
  EXPECT_EQ(c.config["privacy"]["ssop"].value<bool>(), true);
  EXPECT_EQ(c.config["data"]["partition"].value<std::string>(), "dirichlet");
  EXPECT_EQ(c.config["data"]["dirichlet_alpha"].value<double>(), 0.1);
  EXPECT_EQ(c.config["run"]["seed"].value<int64_t>(), 1);
  EXPECT_EQ(c.config["output"]["dir"].value<std::string>(), (dir / "out" / "runs" / c.id).string());
  EXPECT_FALSE(c.config["faults"]["stragglers"]);
  // Seeds are neighbours; the fault setting's keys reach its cells only.
  EXPECT_EQ(cells[1].id, "elsa-spam-a0.1-s2-none");
  EXPECT_EQ(cells[2].id, "elsa-spam-a0.1-s1-slow");
  EXPECT_EQ(cells[2].config["faults"]["straggler_delay_ms"].value<int64_t>(), 500);
  // The ablation differs from elsa in its one switch.
  const auto& ablation = cells[16];
  EXPECT_EQ(ablation.method, "elsa_no_sketch");
  EXPECT_EQ(ablation.config["compress"]["adapters"].value<std::string>(), "none");
  EXPECT_EQ(ablation.config["elsa"]["clustering"].value<std::string>(), "behaviour");
  EXPECT_EQ(ablation.config["privacy"]["ssop"].value<bool>(), true);
}

TEST(Suite, WithoutAxesACellKeepsTheBaseConfigsTasksSeedAndPartition) {
  const auto dir = scratch("plain");
  const auto s = read_suite(suite_file(dir, "[suite]\nconfig = \"" + (dir / "base.toml").string() +
                                                "\"\nmethods = [\"elsa_no_trust\"]\n"));
  const auto cells = s.cells(dir / "out");
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].id, "elsa_no_trust-spam-s7-none");
  EXPECT_EQ(cells[0].seed, 7u);
  EXPECT_FALSE(cells[0].config["data"]["partition"]);
  EXPECT_EQ(cells[0].config["elsa"]["trust_weighting"].value<bool>(), false);
}

TEST(Suite, EveryMechanismHasItsAblationAndEachTurnsOneSwitch) {
  const auto all = method_switches("elsa");
  const auto& names = method_names();
  ASSERT_EQ(names.size(), 10u);
  for (std::size_t i = 1; i < 7; ++i) {
    ASSERT_EQ(names[i].rfind("elsa_no_", 0), 0u) << names[i];
    const auto t = method_switches(names[i]);
    int differ = 0;
    const auto text = [](const toml::node* n) {
      if (n == nullptr)
        return std::string("(none)");
      if (const auto b = n->value<bool>())
        return std::string(*b ? "true" : "false");
      return n->value<std::string>().value_or("?");
    };
    for (auto&& [section, keys] : all)
      for (auto&& [key, v] : *keys.as_table())
        differ += text(t[section.str()][key.str()].node()) != text(&v);
    EXPECT_EQ(differ, 1) << names[i];
  }
}

// The baselines: every ELSA mechanism off, each on its own layout; FedAvg-LoRA and SplitFed-LoRA have one
// server (one edge whose every round is a cloud round), HierFAVG-LoRA keeps the base config's hierarchy; the
// cells read back as valid run configs.
TEST(Suite, TheBaselinesTurnEveryMechanismOffAndRunTheirOwnLayout) {
  const auto dir = scratch("baselines");
  const auto file = suite_file(dir, "[suite]\nconfig = \"" + (dir / "base.toml").string() + "\"\n"
                                    "methods = [\"fedavg_lora\", \"hierfavg_lora\", \"splitfed_lora\"]\n"
                                    "[set.topology]\nedges = 2\nrounds = 4\nkappa2 = 2\n"
                                    "[set.privacy]\ncapture = 2\n");
  const auto cells = read_suite(file).cells(dir / "out");
  ASSERT_EQ(cells.size(), 3u);
  const std::vector<std::string> layouts = {"whole_model", "whole_model", "two_part"};
  const std::vector<int64_t> edges = {1, 2, 1}, kappa2 = {1, 2, 1}, capture = {0, 0, 2};
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& c = cells[i].config;
    EXPECT_EQ(c["split"]["layout"].value<std::string>(), layouts[i]) << cells[i].method;
    EXPECT_EQ(c["split"]["mode"].value<std::string>(), "fixed");
    EXPECT_EQ(c["elsa"]["clustering"].value<std::string>(), "none");
    EXPECT_EQ(c["elsa"]["trust_weighting"].value<bool>(), false);
    EXPECT_EQ(c["elsa"]["assignment"].value<std::string>(), "round_robin");
    EXPECT_EQ(c["compress"]["adapters"].value<std::string>(), "none");
    EXPECT_EQ(c["privacy"]["ssop"].value<bool>(), false);
    EXPECT_EQ(c["privacy"]["capture"].value<int64_t>(), capture[i]) << cells[i].method;
    EXPECT_EQ(c["topology"]["edges"].value<int64_t>(), edges[i]) << cells[i].method;
    EXPECT_EQ(c["topology"]["kappa2"].value<int64_t>(), kappa2[i]) << cells[i].method;
    EXPECT_EQ(c["topology"]["rounds"].value<int64_t>(), 4) << "the same rounds for every method";
    EXPECT_EQ(c["profiles"]["edge_cloud_latency_ms"].value<double>().has_value(), edges[i] == 1)
      << cells[i].method << ": one server's edge and cloud stand in one place";
    // Valid as a run config: written out and read back.
    const auto cfg_file = dir / (cells[i].id + ".toml");
    std::ofstream(cfg_file) << c << "\n";
    const auto cfg = run::read_run_config(cfg_file);
    EXPECT_EQ(cfg.split_layout, layouts[i]);
  }
}

TEST(Suite, BadSuitesAreRefusedWithOneLineNamingTheKey) {
  const auto dir = scratch("bad");
  const auto base = "[suite]\nconfig = \"" + (dir / "base.toml").string() + "\"\n";
  auto e = error_of(suite_file(dir, base + "methods = [\"elsa\", \"fedprox\"]\n"));
  EXPECT_NE(e.find("[suite] methods[1]: unknown method 'fedprox'; methods: elsa, elsa_no_clustering"), std::string::npos) << e;
  e = error_of(suite_file(dir, base + "methods = [\"elsa\"]\ntask_sets = [[\"spam\", \"supersense\"]]\nalphas = [0.5]\n"));
  EXPECT_NE(e.find("[suite] alphas: a Dirichlet split is of one task's examples, and task_sets[0] has 2 tasks"),
            std::string::npos) << e;
  e = error_of(suite_file(dir, base + "methods = [\"elsa\"]\nfaults = [\"loss\"]\n"));
  EXPECT_NE(e.find("[suite] faults[0] = \"loss\" is not defined; defined: none"), std::string::npos) << e;
  e = error_of(suite_file(dir, base + "methods = [\"elsa\"]\n[set]\nrounds = 2\n"));
  EXPECT_NE(e.find("[set] rounds must be a run-config section"), std::string::npos) << e;
  e = error_of(suite_file(dir, base + "methods = [\"elsa\"]\nseed = [1]\n"));
  EXPECT_NE(e.find("[suite] seed"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  e = error_of(suite_file(dir, "[suite]\nmethods = [\"elsa\"]\n"));
  EXPECT_NE(e.find("[suite] config is missing"), std::string::npos) << e;
  e = error_of(suite_file(dir, base + "methods = []\n"));
  EXPECT_NE(e.find("[suite] methods is missing or empty"), std::string::npos) << e;
  e = error_of(suite_file(dir, base + "methods = [\"elsa\"]\ntask_sets = [\"spam\"]\n"));
  EXPECT_NE(e.find("[suite] task_sets[0] must be a non-empty list of task names"), std::string::npos) << e;
  e = error_of(suite_file(dir, base + "methods = [\"elsa\"]\n[fault.none.faults]\nnet_drop = 0.1\n"));
  EXPECT_NE(e.find("[fault.none] is built in"), std::string::npos) << e;
  e = error_of(suite_file(dir, base + "methods = [\"elsa\"]\nseeds = []\n"));
  EXPECT_NE(e.find("[suite] seeds is empty; leave it out to keep the base config's value"), std::string::npos) << e;
  e = error_of(suite_file(dir, base + "methods = [\"elsa\"]\n[topo]\n"));
  EXPECT_NE(e.find("unknown section or key 'topo'; allowed sections: [suite], [set], [fault]"), std::string::npos) << e;
  e = error_of(suite_file(dir, base + "methods = [\"elsa\"]\nattack = 1\n"));
  EXPECT_NE(e.find("[suite] attack"), std::string::npos) << e;
}

TEST(Suite, AValueGivenTwiceWouldMakeOneRunCountTwiceAndIsRefused) {
  const auto dir = scratch("twice");
  const auto s = read_suite(suite_file(dir, "[suite]\nconfig = \"" + (dir / "base.toml").string() +
                                                "\"\nmethods = [\"elsa\"]\nseeds = [1, 1]\n"));
  try {
    (void)s.cells(dir / "out");
    FAIL() << "a seed given twice was taken";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("two cells would be elsa-spam-s1-none"), std::string::npos) << e.what();
  }
}

// results.csv: one row per run, naming its run directory under the suite's folder; results.md: one row per
// cell with mean +- std over its seeds and the settings every run shared.
TEST(Results, OneCsvRowPerRunAndOneTableRowPerCellOverItsSeeds) {
  const auto dir = scratch("results");
  suite s;
  s.file = "suite.toml";
  s.base_config = "base.toml";
  std::vector<run_result> runs;
  for (int seed = 1; seed <= 2; ++seed) {
    run_result r;
    r.method = "elsa";
    r.tasks = {"spam"};
    r.alpha = 0.5;
    r.seed = static_cast<uint64_t>(seed);
    r.faults = "none";
    r.run_dir = dir / "runs" / ("elsa-" + std::to_string(seed));
    fs::create_directories(r.run_dir);
    write(r.run_dir / "config.toml", "[topology]\nrounds = 4\nkappa1 = " + std::to_string(seed) + "\n");
    r.summary = {{"finished", true},
                 {"tasks", {{"spam", {{"test_accuracy", seed == 1 ? 0.8 : 0.9}, {"test_macro_f1", 0.7}}}}},
                 {"bytes", {{"client_to_edge", 2e6}, {"edge_to_client", 1e6}, {"edge_to_cloud", 0}, {"cloud_to_edge", 0}, {"control", 10}}},
                 {"round_to_target", seed == 1 ? nlohmann::json(2) : nlohmann::json(nullptr)},
                 {"client_flops", {{"0", 1e9}, {"1", 3e9}}},
                 {"client_peak_memory_bytes", {{"0", 5e6}, {"1", 7e6}}},
                 {"wall_seconds", 12.5}};
    runs.push_back(r);
  }
  const auto csv = results_csv(runs, dir);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "method,tasks,alpha,seed,faults,test_accuracy,test_macro_f1,rounds_to_target,sim_time_to_target_s,sim_time_s,"
            "bytes_client_to_edge,bytes_edge_to_client,bytes_edge_to_cloud,bytes_cloud_to_edge,bytes_control,"
            "client_gflops,client_peak_memory_mb,inversion_token_accuracy,wall_seconds,finished,run_dir");
  EXPECT_NE(csv.find("\nelsa,spam,0.5,1,none,0.8000,0.7000,3,,0.000,2000000,1000000,0,0,10,2.000,7.0,,12.5,true,runs/elsa-1\n"),
            std::string::npos) << csv;
  EXPECT_NE(csv.find("\nelsa,spam,0.5,2,none,0.9000,"), std::string::npos) << csv;
  const auto md = results_md(s, runs, "elsa experiment suite.toml --out x");
  EXPECT_NE(md.find("| elsa | spam | 0.5 | none | 2 | 0.8500 +- 0.0707 | 0.7000 +- 0.0000 | 3.0 (1 of 2 seeds) |"),
            std::string::npos) << md;
  EXPECT_NE(md.find("- [topology] kappa1 = 1, 2 (differs between runs)"), std::string::npos) << md;
  EXPECT_NE(md.find("- [topology] rounds = 4\n"), std::string::npos) << md;
  EXPECT_NE(md.find("Made by `elsa experiment suite.toml --out x`"), std::string::npos) << md;
}

} // namespace
} // namespace elsa::experiment
