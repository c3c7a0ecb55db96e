// `elsa run CONFIG --out RUN`: the main job, a whole ELSA run (clients, edges, coordinator, cloud as actors
// in one process) from a TOML config (configs/quickstart.toml; keys in docs/configuration.md). The options
// are set over the file and checked with it; the run directory is claimed before anything loads and created
// only once set-up succeeded; SIGINT/SIGTERM stop a run cleanly once training started. Results (the table,
// the paths, or summary.json with --json) go to stdout, progress and diagnostics to stderr.
#include "cli/commands.hpp"

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "actors/runtime.hpp"
#include "cli/support.hpp"
#include "core/errors.hpp"
#include "core/run/run_config.hpp"
#include "core/run/run_dir.hpp"

namespace elsa::cli {

void add_run_command(CLI::App& app) {
  struct options {
    std::string config;
    std::string out;
    int64_t rounds = 0;
    bool force = false;
    bool deterministic = false;
    bool quiet = false;
    bool json = false;
    std::vector<std::string> sets;
  };
  const run::run_config defaults;
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
    "run", "run ELSA: split + hierarchical federated fine-tuning (configs/quickstart.toml)");
  cmd
    ->add_option("config", o->config,
                 "TOML run config, e.g. configs/quickstart.toml (relative paths in it are "
                 "taken from the current directory)")
    ->required();
  auto* out
    = cmd
        ->add_option("--out", o->out,
                     "run directory for config.toml, metrics.jsonl, events.jsonl, summary.json, adapters/; "
                     "must be new or empty (see --force)")
        ->default_str("CONFIG's [output] dir");
  cmd->add_flag("--force", o->force, "replace an earlier run in the run directory (deletes what is in it)")
    ->default_str("off");
  auto* rounds = cmd
                   ->add_option("--rounds", o->rounds,
                                "edge rounds in total, a multiple of kappa2 (sets [topology] rounds)")
                   ->default_str(fmt::format("CONFIG's [topology] rounds, built-in {}", defaults.rounds));
  cmd
    ->add_flag("--deterministic", o->deterministic,
               "deterministic scheduler and simulated clock, bit-for-bit reruns (sets [run] deterministic)")
    ->default_str(fmt::format("CONFIG's [run] deterministic, built-in {}", defaults.deterministic));
  cmd->add_flag("--quiet", o->quiet, "no progress lines on stderr (results still print on stdout)")
    ->default_str("off");
  cmd->add_option("--set", o->sets,
                 "SECTION.KEY=VALUE over the file, repeatable (e.g. --set privacy.ssop=false); VALUE is a TOML "
                 "number, true/false or string (quotes optional)")
    ->expected(1)
    ->take_all();
  cmd->add_flag("--json", o->json, "print summary.json on stdout instead of the table (for scripts)")
    ->default_str("off");
  cmd->callback([o, out, rounds] {
    std::vector<run::key_override> extra;
    if (rounds->count() > 0)
      extra.push_back({fmt::format("--rounds {}", o->rounds), "topology", "rounds", o->rounds});
    if (o->deterministic)
      extra.push_back({"--deterministic", "run", "deterministic", true});
    std::string where;
    const auto cfg = read_with_options(o->config, out->count() > 0, o->out, o->quiet, o->sets, extra, where);
    const auto dir = run::run_dir::claim(cfg.out_dir, o->force, where, "choose another --out",
                                         run::federated_run_markers());

    install_stop_handlers();
    actors::run_hooks hooks;
    hooks.before_write = [&dir] {
      arm_stop(); // training starts: from here a signal stops the run cleanly
      dir.create();
    };
    hooks.stop_requested = [] { return stop_signal_name(); };
    actors::run_result r;
    try {
      r = actors::run_federation(cfg, std::cerr, o->json ? nullptr : &std::cout, hooks);
    } catch (const error& e) {
      // Set-up checks against the model ("[split] ...") name the key; the config file is named here.
      if (e.what()[0] == '[')
        throw error(e.code(), fmt::format("{}: {}", o->config, e.what()));
      throw;
    }
    if (o->json)
      std::cout << r.summary.dump(2) << std::endl;
    if (r.summary.contains("stop_reason"))
      throw exit_status{128 + stop_signal()};
  });
}

} // namespace elsa::cli
