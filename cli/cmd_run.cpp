// `elsa run CONFIG --out RUN`: the main job, a whole ELSA run (clients, edges, coordinator, cloud as actors in
// one process) from a TOML config (configs/quickstart.toml; keys in docs/configuration.md).
#include "cli/commands.hpp"

#include <iostream>
#include <memory>

#include "actors/runtime.hpp"
#include "core/run/run_config.hpp"

namespace elsa::cli {

void add_run_command(CLI::App& app) {
  struct options {
    std::string config;
    std::string out;
    int64_t rounds = 0;
    bool deterministic = false;
    bool quiet = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("run", "run ELSA: split + hierarchical federated fine-tuning (configs/quickstart.toml)");
  cmd->add_option("config", o->config, "TOML run config, e.g. configs/quickstart.toml")->required();
  cmd->add_option("--out", o->out, "run directory (overrides [output] dir): metrics.jsonl, summary.json, adapters/");
  cmd->add_option("--rounds", o->rounds, "override [topology] rounds (a multiple of kappa2)");
  cmd->add_flag("--deterministic", o->deterministic, "deterministic scheduler and simulated clock (bit-for-bit)");
  cmd->add_flag("--quiet", o->quiet, "no progress lines");
  cmd->callback([o] {
    auto cfg = run::read_run_config(o->config);
    if (!o->out.empty())
      cfg.out_dir = o->out;
    if (o->rounds > 0)
      cfg.rounds = o->rounds;
    if (o->deterministic)
      cfg.deterministic = true;
    if (o->quiet)
      cfg.progress = false;
    actors::run_federation(cfg, std::cerr);
  });
}

} // namespace elsa::cli
