// `elsa node`: one process's part of a run across processes (actors/node.hpp): the cloud's process listens
// (the rendezvous) and writes the run record; every other process joins it. docs/deployment.md has the
// commands for several machines; `elsa launch` (cmd_launch.cpp) starts a whole topology on one.
#include "cli/commands.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>
#include <memory>
#include <optional>
#include <tuple>

#include <csignal>
#include <cstdlib>

#include <fmt/format.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "actors/node.hpp"
#include "cli/node_args.hpp"
#include "cli/support.hpp"
#include "core/errors.hpp"
#include "core/run/run_config.hpp"
#include "core/run/run_dir.hpp"

namespace elsa::cli {

namespace {

// A process elsa launch started (ELSA_LAUNCHER_PID set) gets SIGTERM when elsa launch goes away, however it
// went: a clean stop, as for Ctrl-C, so no node outlives its launcher.
void follow_launcher() {
  const char* launcher = std::getenv("ELSA_LAUNCHER_PID");
  if (launcher == nullptr)
    return;
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (std::to_string(::getppid()) != launcher)  // it went before the line above
    std::raise(SIGTERM);
}

} // namespace

namespace {

// The first line in which two configs (as run::to_toml writes them) differ outside [network] and [output], or "".
std::string first_difference(const std::string& a, const std::string& b) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    bool skip = false;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line[0] == '[')
        skip = line.rfind("[network]", 0) == 0 || line.rfind("[output]", 0) == 0;
      if (!skip && !line.empty() && line[0] != '#')
        out.push_back(line);
    }
    return out;
  };
  const auto x = lines(a), y = lines(b);
  for (std::size_t i = 0; i < std::max(x.size(), y.size()); ++i) {
    const auto& l = i < x.size() ? x[i] : std::string("(nothing)");
    const auto& r = i < y.size() ? y[i] : std::string("(nothing)");
    if (l != r)
      return fmt::format("{} vs {}", l, r);
  }
  return {};
}

} // namespace

void add_node_command(CLI::App& app) {
  struct options {
    std::string config;
    std::string role;
    std::string ids;
    std::string listen = "127.0.0.1:0";
    std::string join;
    std::string advertise;
    std::string out;
    bool force = false;
    bool quiet = false;
    bool json = false;
    bool resume = false;
    bool fallback = false;
    std::vector<std::string> sets;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
    "node", "run one role of an ELSA run as its own process, over the network (docs/deployment.md)");
  cmd->add_option("config", o->config, "TOML run config, the same file on every node")->required();
  cmd->add_option("--role", o->role, "cloud (the rendezvous; writes the run record), coordinator, edge or client")
    ->required();
  cmd->add_option("--id", o->ids, "edge or client id(s) this process runs: 3, or several: 0,1,2");
  cmd->add_option("--listen", o->listen, "HOST:PORT this process accepts its peers on; port 0: any free port")
    ->default_str("127.0.0.1:0");
  cmd->add_option("--advertise", o->advertise,
                  "HOST the other machines reach this process at (needed with --listen 0.0.0.0:PORT)")
    ->default_str("--listen's host");
  cmd->add_option("--join", o->join, "HOST:PORT of the cloud's process (every role but the cloud)");
  auto* out = cmd->add_option("--out", o->out, "cloud: the run directory (new or empty; see --force)")
                ->default_str("CONFIG's [output] dir");
  cmd->add_flag("--force", o->force, "cloud: replace an earlier run in the run directory")->default_str("off");
  cmd->add_flag("--resume", o->resume,
                "cloud: continue the run in --out from its last checkpoint (the other processes start as usual; "
                "docs/faults.md)")
    ->default_str("off");
  cmd->add_flag("--fallback", o->fallback,
                "cloud, with --resume: pass over damaged checkpoints to the newest readable one")
    ->default_str("off");
  cmd->add_flag("--quiet", o->quiet, "cloud: no progress lines on stderr")->default_str("off");
  cmd->add_flag("--json", o->json, "cloud: print summary.json on stdout instead of the table")->default_str("off");
  cmd->add_option("--set", o->sets, "SECTION.KEY=VALUE over the file, repeatable (as for elsa run)")
    ->expected(1)
    ->take_all();
  cmd->callback([o, out] {
    std::string where;
    const auto cfg = read_with_options(o->config, out->count() > 0, o->out, o->quiet, o->sets, {}, where);
    // Options that would do nothing for this role are refused rather than ignored.
    const bool cloud = o->role == "cloud";
    const auto refuse = [&o](const char* option, const char* why) {
      throw error(errc::invalid_argument, fmt::format("{} with --role {}: {}", option, o->role, why));
    };
    if (!cloud && (out->count() > 0 || o->force || o->json || o->resume || o->fallback))
      refuse(out->count() > 0 ? "--out" : o->force ? "--force" : o->json ? "--json" : o->resume ? "--resume" : "--fallback",
             "only the cloud's process writes the run record, its checkpoints and the results");
    if (o->fallback && !o->resume)
      refuse("--fallback", "it only goes with --resume");
    if (o->resume && o->force)
      refuse("--force", "--resume continues the run in --out; --force would delete it");
    if (cloud && !o->join.empty())
      refuse("--join", "the cloud's process is the rendezvous; the others join it");
    if ((cloud || o->role == "coordinator") && !o->ids.empty())
      refuse("--id", "a run has one cloud and one coordinator; --id is for edges and clients");
    actors::node_options opt;
    opt.role = o->role;
    if (!o->ids.empty())
      opt.ids = parse_ids("--id", o->ids);
    std::tie(opt.listen_host, opt.listen_port) = parse_endpoint("--listen", o->listen, true);
    opt.advertise_host = o->advertise;
    opt.resume = o->resume;
    opt.fallback = o->fallback;
    if (!o->join.empty())
      std::tie(opt.join_host, opt.join_port) = parse_endpoint("--join", o->join, false);
    install_stop_handlers();
    follow_launcher();
    actors::run_hooks hooks;
    hooks.stop_requested = [] { return stop_signal_name(); };
    if (opt.role != "cloud") {
      arm_stop();
      actors::run_node(cfg, opt, std::cerr, nullptr, hooks);
      return;
    }
    // A folder holding only what elsa launch put there first (certs/) is taken as new.
    std::optional<run::run_dir> dir;
    if (o->resume) {
      // The run goes on as it began: CONFIG (with --set) must be the run's own config.toml but for [network]
      // (this process's certificates) and [output].
      const auto own = cfg.out_dir / "config.toml";
      if (!std::filesystem::is_regular_file(own))
        throw error(errc::file_not_found, fmt::format("--resume: {} holds no run (no config.toml)", cfg.out_dir.string()));
      const auto differs = first_difference(run::to_toml(cfg), run::to_toml(run::read_run_config(own)));
      if (!differs.empty())
        throw error(errc::invalid_argument,
                    fmt::format("--resume: {}{} differs from the run's own {} ({}); pass that file", o->config,
                                o->sets.empty() ? "" : " with --set", own.string(), differs));
    }
    if (!o->resume && !only_launch_files(cfg.out_dir))
      dir = run::run_dir::claim(cfg.out_dir, o->force, where, "choose another --out", run::federated_run_markers());
    hooks.before_write = [&dir] {
      arm_stop();
      if (dir)
        dir->create();
    };
    opt.on_listening = [](const std::string& host, uint16_t port) {
      std::cout << "elsa node: rendezvous listening on " << host << ":" << port << std::endl;
    };
    const auto r = actors::run_node(cfg, opt, std::cerr, o->json ? nullptr : &std::cout, hooks);
    if (o->json)
      std::cout << r.summary.dump(2) << std::endl;
    if (r.summary.contains("stop_reason"))
      throw exit_status{128 + stop_signal()};
  });
}

} // namespace elsa::cli
