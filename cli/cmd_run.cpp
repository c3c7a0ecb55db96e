// `elsa run CONFIG --out RUN`: the main job, a whole ELSA run (clients, edges, coordinator, cloud as actors
// in one process) from a TOML config (configs/quickstart.toml; keys in docs/configuration.md). The options
// are set over the file and checked with it; the run directory is claimed before anything loads and created
// only once set-up succeeded; SIGINT/SIGTERM stop a run cleanly once training started. Results (the table,
// the paths, or summary.json with --json) go to stdout, progress and diagnostics to stderr.
#include "cli/commands.hpp"

#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "actors/runtime.hpp"
#include "cli/support.hpp"
#include "core/errors.hpp"
#include "core/run/run_config.hpp"
#include "core/run/run_dir.hpp"

namespace elsa::cli {

namespace {

// Prints the result of a finished or stopped run; a stopped one exits with 128 + the signal.
void report(const actors::run_result& r, bool json) {
  if (json)
    std::cout << r.summary.dump(2) << std::endl;
  if (r.summary.contains("stop_reason"))
    throw exit_status{128 + stop_signal()};
}

// `elsa run --resume RUN`: the run's own config.toml, its folder as it is (the record is cut back to the
// checkpoint by the runtime).
void resume_run(const std::string& dir, const std::string& config, bool fallback, bool quiet, bool json,
                bool changes) {
  if (!config.empty())
    throw error(errc::invalid_argument,
                fmt::format("elsa run: give either CONFIG or --resume RUN, not both (--resume {} uses {}/config.toml)",
                            dir, dir));
  if (changes)
    throw error(errc::invalid_argument,
                "elsa run --resume: --out, --force, --rounds, --deterministic and --set would change the run; "
                "it continues as its config.toml says");
  const auto file = std::filesystem::path(dir) / "config.toml";
  if (!std::filesystem::is_regular_file(file))
    throw error(errc::file_not_found, fmt::format("--resume {}: no config.toml there; not a run directory", dir));
  std::string where;
  const auto cfg = read_with_options(file.string(), true, dir, quiet, {}, {}, where);
  install_stop_handlers();
  actors::run_hooks hooks;
  hooks.before_write = [] { arm_stop(); };
  hooks.stop_requested = [] { return stop_signal_name(); };
  actors::run_start start;
  start.resume = true;
  start.fallback = fallback;
  report(actors::run_federation(cfg, std::cerr, json ? nullptr : &std::cout, hooks, start), json);
}

} // namespace

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
    std::string resume;
    bool fallback = false;
  };
  const run::run_config defaults;
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
    "run", "run ELSA: split + hierarchical federated fine-tuning (configs/quickstart.toml)");
  cmd
    ->add_option("config", o->config,
                 "TOML run config, e.g. configs/quickstart.toml (relative paths in it are "
                 "taken from the current directory); not with --resume");
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
  auto* resume = cmd->add_option("--resume", o->resume,
                                 "continue the stopped or killed run in RUN from its last checkpoint (its own "
                                 "config.toml; every round recorded once; docs/faults.md)")
                   ->option_text("RUN");
  cmd->add_flag("--fallback", o->fallback,
                "with --resume: pass over damaged checkpoints to the newest readable one")
    ->default_str("off");
  cmd->add_flag("--json", o->json, "print summary.json on stdout instead of the table (for scripts)")
    ->default_str("off");
  cmd->callback([o, out, rounds, resume] {
    if (resume->count() > 0) {
      resume_run(o->resume, o->config, o->fallback, o->quiet, o->json,
                 out->count() > 0 || rounds->count() > 0 || o->force || o->deterministic || !o->sets.empty());
      return;
    }
    if (o->config.empty())
      throw error(errc::invalid_argument, "elsa run: give a CONFIG (e.g. configs/quickstart.toml) or --resume RUN");
    if (o->fallback)
      throw error(errc::invalid_argument, "elsa run: --fallback only goes with --resume RUN");
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
    report(r, o->json);
  });
}

} // namespace elsa::cli
