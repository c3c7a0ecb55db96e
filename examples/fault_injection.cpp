// Example: a whole ELSA run built in code, with faults injected: 8 clients on 2 edge servers train on real
// spam data while clients 2 and 5 crash in round 1 (after 3 of their 6 local steps), and client 6 is a
// straggler whose updates always arrive after the round deadline. The run uses CAF's deterministic scheduler (simulated
// clock), so the same seed gives the same record every time. It prints, per edge round, who reported, who
// was late or down, and the validation accuracy after each cloud aggregation, then the final test accuracy.
//
// Run from the repository root after scripts/setup.sh:
//   build/elsa_example_fault_injection [--rounds 4] [--policy drop|staleness]
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "actors/runtime.hpp"
#include "core/errors.hpp"
#include "core/run/run_config.hpp"

int main(int argc, char** argv) try {
  using namespace elsa;
  run::run_config cfg;  // the defaults of configs/quickstart.toml, then:
  cfg.rounds = 4;
  CLI::App app{"an ELSA run with injected dropouts and a straggler (run from the repository root)"};
  app.add_option("--rounds", cfg.rounds, "edge rounds (a multiple of 2)")->capture_default_str()->check(CLI::Range(2, 100));
  app.add_option("--policy", cfg.straggler_policy_name, "late updates: drop or staleness")
    ->capture_default_str()
    ->check(CLI::IsMember({"drop", "staleness"}));
  CLI11_PARSE(app, argc, argv);
  cfg.out_dir = "runs/example_faults";
  cfg.deterministic = true;
  cfg.progress = false;
  cfg.kappa1 = 6;
  cfg.max_len = 64;
  cfg.round_deadline_ms = 10000;
  cfg.dropouts = {2, 5};
  cfg.dropout_round = 1;
  cfg.dropout_step = 3;
  cfg.stragglers = {6};
  cfg.straggler_delay_ms = 15000;  // 1.5 deadlines: late every round, but never silent long enough to be "down"
  std::ostringstream quiet;  // the per-round progress lines; the table below reads the record instead
  const auto r = actors::run_federation(cfg, quiet);
  fmt::print("{:>5} {:>9} {:>11} {:>10} {:>9} {:>9}\n", "round", "reported", "stragglers", "down", "val acc", "loss");
  for (const auto& line : r.metrics)
    fmt::print("{:>5} {:>5}/{:<3} {:>11} {:>10} {:>9} {:>9.4f}\n", line["round"].get<int>(),
               line["clients_reported"].get<int>(), line["clients_expected"].get<int>(), line["stragglers"].dump(),
               line["down"].dump(),
               line["accuracy"].is_object() ? fmt::format("{:.3f}", line["accuracy"]["spam"].get<double>()) : "-",
               line["train_loss"].get<double>());
  const auto& spam = r.summary["tasks"]["spam"];
  fmt::print("test accuracy {:.4f} (majority class {:.4f}); late updates {}; record in {}/\n",
             spam["test_accuracy"].get<double>(), spam["majority_accuracy"].get<double>(),
             r.summary["late_updates"].get<int>(), cfg.out_dir.string());
  return 0;
} catch (const elsa::error& e) {
  std::cerr << "fault_injection: error: " << e.what() << "\n";
  return 1;
}
