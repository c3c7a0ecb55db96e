// `elsa launch CONFIG --out RUN`: a whole run as separate OS processes on 127.0.0.1 from this binary
// (`elsa node` per process: the cloud's, the coordinator's, one per edge, one per client or group of
// clients), with mutual TLS from throwaway certificates in RUN/certs unless the config names its own or says
// tls = false. Watches the processes, says which one exited how, and leaves the cloud's run record in RUN
// (summary.json's `processes`). RUN/launch.json lists the processes and their pids (for fault tests).
#include "cli/commands.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "actors/network.hpp"
#include "cli/node_args.hpp"
#include "cli/support.hpp"
#include "core/errors.hpp"
#include "core/run/run_config.hpp"
#include "core/run/run_dir.hpp"

extern char** environ;

namespace elsa::cli {

namespace {

struct child {
  std::string name;   // "client 3", "edge 0 1", ...
  std::string role;
  std::vector<uint32_t> ids;
  pid_t pid = -1;
  bool running = true;
};

std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw error(errc::io_error, "cannot find this program's path (/proc/self/exe)");
  return p.string();
}

// Starts argv in its own process group (a Ctrl-C reaches elsa launch only, which stops the run through the
// cloud's process); stdout to `stdout_fd` when >= 0.
pid_t spawn(const std::vector<std::string>& args, int stdout_fd) {
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdout_fd >= 0)
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t all;
  sigemptyset(&all);
  sigaddset(&all, SIGINT);
  sigaddset(&all, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &all);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw error(errc::io_error, fmt::format("cannot start {}: {}", args[0], std::strerror(rc)));
  return pid;
}

std::string how_it_ended(int status) {
  if (WIFEXITED(status))
    return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "ended";
}

// Throwaway mutual-TLS material for loopback: a CA and one certificate per process, by scripts/make_certs.sh.
// Installed (cmake --install): PREFIX/share/elsa/make_certs.sh beside PREFIX/bin/elsa; else this checkout's.
void make_certs(const std::filesystem::path& dir, const std::vector<std::string>& names) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::filesystem::path script = std::filesystem::path(ELSA_SOURCE_DIR) / "scripts" / "make_certs.sh";
  if (!ec && std::filesystem::exists(self.parent_path().parent_path() / "share" / "elsa" / "make_certs.sh"))
    script = self.parent_path().parent_path() / "share" / "elsa" / "make_certs.sh";
  if (!std::filesystem::exists(script))
    throw error(errc::file_not_found,
                fmt::format("{} is not there to make certificates; set [network] certificate, key and cafile, "
                            "or tls = false",
                            script.string()));
  std::vector<std::string> args{"/bin/bash", script.string(), dir.string()};
  args.insert(args.end(), names.begin(), names.end());
  const int devnull = ::open("/dev/null", O_WRONLY);
  const auto pid = spawn(args, devnull);
  ::close(devnull);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw error(errc::io_error, fmt::format("{} {} failed ({}); see above", script.string(), dir.string(),
                                            how_it_ended(status)));
}

std::string cert_name(const std::string& role, const std::vector<uint32_t>& ids) {
  if (role == "cloud" || role == "coordinator")
    return role;
  return fmt::format("{}-{}", role, ids.front());
}

} // namespace

void add_launch_command(CLI::App& app) {
  struct options {
    std::string config;
    std::string out;
    bool force = false;
    bool quiet = false;
    bool json = false;
    int64_t client_processes = 0;
    std::vector<std::string> sets;
    std::string resume;
    bool fallback = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
    "launch", "run ELSA as separate processes on this machine, one per role (mutual TLS; docs/deployment.md)");
  cmd->add_option("config", o->config, "TOML run config, e.g. configs/quickstart.toml; not with --resume");
  auto* out = cmd->add_option("--out", o->out, "run directory (as for elsa run), plus certs/ and launch.json")
                ->default_str("CONFIG's [output] dir");
  cmd->add_flag("--force", o->force, "replace an earlier run in the run directory")->default_str("off");
  cmd->add_flag("--quiet", o->quiet, "no progress lines on stderr")->default_str("off");
  cmd->add_flag("--json", o->json, "print summary.json on stdout instead of the table")->default_str("off");
  cmd->add_option("--client-processes", o->client_processes,
                  "processes the clients are spread over (ids dealt round-robin); 0: one per client")
    ->check(int_range(0, 1 << 20))
    ->default_str("0");
  cmd->add_option("--set", o->sets, "SECTION.KEY=VALUE over the file, repeatable (as for elsa run)")
    ->expected(1)
    ->take_all();
  auto* resume = cmd->add_option("--resume", o->resume,
                                 "start every process again and continue the run in RUN from its last checkpoint "
                                 "(its own config.toml; docs/faults.md)")
                   ->option_text("RUN");
  cmd->add_flag("--fallback", o->fallback,
                "with --resume: pass over damaged checkpoints to the newest readable one")
    ->default_str("off");
  cmd->callback([o, out, resume] {
    const bool resuming = resume->count() > 0;
    if (resuming && (!o->config.empty() || out->count() > 0 || o->force || !o->sets.empty()))
      throw error(errc::invalid_argument,
                  fmt::format("elsa launch --resume {}: it continues as {}/config.toml says; CONFIG, --out, --force "
                              "and --set would change it", o->resume, o->resume));
    if (!resuming && o->config.empty())
      throw error(errc::invalid_argument, "elsa launch: give a CONFIG (e.g. configs/quickstart.toml) or --resume RUN");
    if (!resuming && o->fallback)
      throw error(errc::invalid_argument, "elsa launch: --fallback only goes with --resume RUN");
    if (resuming) {
      o->config = (std::filesystem::path(o->resume) / "config.toml").string();
      if (!std::filesystem::is_regular_file(o->config))
        throw error(errc::file_not_found, fmt::format("--resume {}: no config.toml there; not a run directory", o->resume));
    }
    std::string where;
    const auto cfg = read_with_options(o->config, resuming || out->count() > 0, resuming ? o->resume : o->out,
                                       o->quiet, o->sets, {}, where);
    if (cfg.deterministic)
      throw error(errc::invalid_argument, fmt::format("{}: [run] deterministic = true needs every role in one "
                                                      "process; use elsa run, or --set run.deterministic=false",
                                                      o->config));
    const auto run_path = std::filesystem::absolute(cfg.out_dir);
    // A resumed run's config.toml names the cloud's certificate from the first launch (its --set): those made
    // by elsa launch in RUN/certs are made afresh, one per process, as before.
    const bool launch_certs = resuming && !cfg.certificate.empty()
                              && std::filesystem::path(cfg.certificate).parent_path() == run_path / "certs";
    if (!cfg.certificate.empty() && !launch_certs)
      actors::check_network(cfg);  // certificates the config names: checked before anything starts
    if (!resuming) {
      const auto dir = run::run_dir::claim(cfg.out_dir, o->force, where, "choose another --out",
                                           run::federated_run_markers());
      dir.create();
    }

    // -- the processes: cloud, coordinator, one per edge, the clients one each or in groups --
    std::vector<child> children;
    children.push_back({"cloud", "cloud", {}});
    children.push_back({"coordinator", "coordinator", {}});
    for (int64_t e = 0; e < cfg.edges; ++e)
      children.push_back({fmt::format("edge {}", e), "edge", {static_cast<uint32_t>(e)}});
    const auto groups = o->client_processes == 0 ? cfg.clients : std::min<int64_t>(o->client_processes, cfg.clients);
    std::vector<std::vector<uint32_t>> client_groups(static_cast<std::size_t>(groups));
    for (int64_t c = 0; c < cfg.clients; ++c)
      client_groups[static_cast<std::size_t>(c % groups)].push_back(static_cast<uint32_t>(c));
    for (auto& g : client_groups) {
      std::string name = "client";
      for (auto id : g)
        name += " " + std::to_string(id);
      children.push_back({name, "client", g});
    }
    const bool own_certs = cfg.tls && (cfg.certificate.empty() || launch_certs);
    const auto certs = run_path / "certs";
    if (own_certs) {
      std::vector<std::string> names;
      for (const auto& ch : children)
        names.push_back(cert_name(ch.role, ch.ids));
      if (resuming)
        std::filesystem::remove_all(certs);  // throwaway ones of the killed launch: made afresh
      make_certs(certs, names);
    }

    const auto exe = self_exe();
    auto args_of = [&](const child& ch) {
      std::vector<std::string> a{exe, "node", o->config, "--role", ch.role};
      if (!ch.ids.empty()) {
        std::string ids;
        for (auto id : ch.ids)
          ids += (ids.empty() ? "" : ",") + std::to_string(id);
        a.insert(a.end(), {"--id", ids});
      }
      for (const auto& s : o->sets)
        a.insert(a.end(), {"--set", s});
      if (o->quiet)
        a.push_back("--quiet");
      if (own_certs) {
        const auto n = cert_name(ch.role, ch.ids);
        a.insert(a.end(), {"--set", "network.certificate=" + (certs / (n + ".pem")).string(), "--set",
                           "network.key=" + (certs / (n + ".key")).string(), "--set",
                           "network.cafile=" + (certs / "ca.pem").string()});
      }
      return a;
    };

    install_stop_handlers();
    arm_stop();
    ::setenv("ELSA_LAUNCHER_PID", std::to_string(::getpid()).c_str(), 1);  // the nodes follow this process
    // The cloud first: its stdout says where it listens, then carries the results.
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)  // no other process inherits the cloud's stdout
      throw error(errc::io_error, "cannot make a pipe for the cloud's process");
    auto cloud_args = args_of(children[0]);
    cloud_args.insert(cloud_args.end(), {"--out", run_path.string()});
    if (resuming)
      cloud_args.push_back("--resume");
    if (o->fallback)
      cloud_args.push_back("--fallback");
    if (o->json)
      cloud_args.push_back("--json");
    children[0].pid = spawn(cloud_args, pipe_fds[1]);
    ::close(pipe_fds[1]);
    FILE* cloud_out = fdopen(pipe_fds[0], "r");
    std::string rendezvous;
    {
      char buf[4096];
      const std::string marker = "rendezvous listening on ";
      while (fgets(buf, sizeof buf, cloud_out) != nullptr) {
        std::string line{buf};
        const auto at = line.find(marker);
        if (at != std::string::npos) {
          rendezvous = line.substr(at + marker.size());
          while (!rendezvous.empty() && (rendezvous.back() == '\n' || rendezvous.back() == '\r'))
            rendezvous.pop_back();
          break;
        }
        std::cout << line << std::flush;
      }
    }
    if (rendezvous.empty()) {
      int status = 0;
      waitpid(children[0].pid, &status, 0);
      fclose(cloud_out);
      throw error(errc::io_error, fmt::format("the cloud's process {} before it listened; see above",
                                              how_it_ended(status)));
    }
    // A signal while the cloud loaded is only seen now (fgets restarts after it): pass it on, start no one.
    if (stop_signal() == 0)
      for (std::size_t i = 1; i < children.size(); ++i) {
        auto a = args_of(children[i]);
        a.insert(a.end(), {"--join", rendezvous});
        try {
          children[i].pid = spawn(a, -1);
        } catch (const error& e) {
          std::cerr << "elsa launch: " << e.what() << "; stopping the run" << std::endl;
          kill(children[0].pid, SIGTERM);
          break;
        }
      }
    std::thread forward([cloud_out] {
      char buf[4096];
      while (fgets(buf, sizeof buf, cloud_out) != nullptr)
        std::cout << buf << std::flush;
      fclose(cloud_out);
    });
    {
      nlohmann::json procs = nlohmann::json::array();
      for (const auto& ch : children)
        if (ch.pid > 0)
          procs.push_back({{"role", ch.role}, {"ids", ch.ids}, {"pid", ch.pid}});
      std::ofstream f(run_path / "launch.json");
      f << nlohmann::json{{"rendezvous", rendezvous}, {"processes", procs}}.dump(2) << '\n';
    }
    std::cerr << fmt::format("elsa launch: {} processes, rendezvous {} ({}); pids in {}", children.size(),
                             rendezvous, cfg.tls ? "mutual TLS" : "plaintext", (run_path / "launch.json").string())
              << std::endl;

    // -- watch them: the run ends with the cloud's process; the others get a grace period, then a signal --
    int cloud_status = -1;
    bool forwarded_stop = false;
    std::chrono::steady_clock::time_point cloud_ended;
    bool terminated = false;
    for (;;) {
      if (stop_signal() != 0 && !forwarded_stop && children[0].running) {
        kill(children[0].pid, stop_signal());
        forwarded_stop = true;
      }
      bool any = false;
      for (auto& ch : children) {
        if (!ch.running || ch.pid <= 0) {
          ch.running = false;
          continue;
        }
        int status = 0;
        const auto r = waitpid(ch.pid, &status, WNOHANG);
        if (r == 0) {
          any = true;
          continue;
        }
        ch.running = false;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (&ch == &children[0]) {
          cloud_status = status;
          cloud_ended = std::chrono::steady_clock::now();
        }
        if (!ok && !(terminated && &ch != &children[0]))
          std::cerr << fmt::format("elsa launch: the process of {} (pid {}) {}", ch.name, ch.pid, how_it_ended(status))
                    << std::endl;
      }
      if (!any)
        break;
      if (cloud_status != -1 && !terminated
          && std::chrono::steady_clock::now() - cloud_ended > std::chrono::seconds(30)) {
        for (auto& ch : children)
          if (ch.running) {
            std::cerr << fmt::format("elsa launch: killed the process of {} (pid {}): still running 30 s after "
                                     "the cloud's ended", ch.name, ch.pid)
                      << std::endl;
            kill(ch.pid, SIGKILL);
          }
        terminated = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    forward.join();
    if (!WIFEXITED(cloud_status))
      throw exit_status{128 + (WIFSIGNALED(cloud_status) ? WTERMSIG(cloud_status) : 0)};
    if (WEXITSTATUS(cloud_status) != 0)
      throw exit_status{WEXITSTATUS(cloud_status)};
  });
}

} // namespace elsa::cli
