// Many clients in one process: the same ELSA run at 100, 250, 500 and 1,000 clients with 10 edges (spam and
// supersense by task, kappa1 = 1, 2 edge rounds, threaded scheduler on the real clock), reporting peak RSS,
// memory per client beyond the shared base model and data, and seconds per edge round. What makes it fit:
// one frozen base per process (each participant owns only its adapters) and step admission
// ([topology] max_concurrent_steps), so at most a few step graphs per edge exist at a time.
//
//   build/elsa_scale_benchmark --clients N   one size; the last line of standard output is
//                                            clients=N peak_rss_mb=X per_client_mb=Y round_s=Z
//   build/elsa_scale_benchmark               every size, each in a fresh process (peak RSS is per process),
//                                            then the table, the fitted slope of round time against clients
//                                            and t(largest)/t(smallest)
//   build/elsa_scale_benchmark --clients N --per-round K   one size, K clients sampled per edge round
//   build/elsa_scale_benchmark --sampling    1,000 clients all taking part, then 50 sampled per edge round
//                                            ([topology] clients_per_round), 4 edge rounds each in a fresh
//                                            process, and the ratio of their seconds per edge round over all
//                                            rounds and over rounds 2-4 (target about 50/1000); the cloud's
//                                            validation scoring (the same work at any sample) runs beside the
//                                            next round and is shown apart
//   --rounds R (even) sets the edge rounds of one size (default 2); steady_s is the seconds per round after
//   the first (no registration, no first link measurement)
// Run from the repository root (it reads models/elsa-base and data/).
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "actors/runtime.hpp"
#include "core/errors.hpp"
#include "core/run/run_config.hpp"

namespace {

using namespace elsa;

double current_rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double peak_rss_mb() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

run::run_config scale_config(int64_t clients) {
  run::run_config cfg;
  cfg.model_dir = "models/elsa-base";
  cfg.data_dir = "data";
  cfg.out_dir = std::filesystem::temp_directory_path() / fmt::format("elsa_scale_benchmark_{}", clients);
  cfg.tasks = {"spam", "supersense"};
  cfg.partition = "by_task";
  cfg.clients = clients;
  cfg.edges = 10;
  cfg.rounds = 2;
  cfg.kappa1 = 1;
  cfg.kappa2 = 2;
  cfg.max_concurrent_steps = 1;  // per edge: 10 step graphs in the process at most
  cfg.batch_size = 4;            // 500 spam clients at 1,000 need shards of 2 x batch (spam has 4,662)
  cfg.max_len = 64;
  cfg.threads = 2;
  cfg.torch_threads = 1;
  cfg.eval_examples = 64;
  cfg.test_examples = 64;
  cfg.round_deadline_ms = 1800000;  // a measurement, not a fault test: nobody is late
  cfg.step_deadline_ms = 1800000;
  cfg.progress = false;
  cfg.save_adapters = false;
  return cfg;
}

struct point {
  int64_t clients = 0;
  double peak = 0, per_client = 0, round_s = 0, steady_s = 0, steady_eval_s = 0;
};

int run_one(int64_t clients, int64_t per_round, int64_t rounds) {
  auto cfg = scale_config(clients);
  cfg.clients_per_round = per_round;
  cfg.rounds = rounds;
  std::filesystem::remove_all(cfg.out_dir);
  double rss_loaded = 0;
  actors::run_hooks hooks;
  hooks.after_load = [&rss_loaded] { rss_loaded = current_rss_mb(); };
  std::ostringstream log;
  const auto r = actors::run_federation(cfg, log, hooks);
  const double peak = peak_rss_mb();
  // Edge-round wall time: metrics lines carry the seconds since the run started when each round was recorded.
  double previous = 0, total = 0;
  std::string each;
  for (const auto& line : r.metrics) {
    const double at = line.value("elapsed_s", 0.0);
    each += fmt::format(" {:.2f}", at - previous);
    total += at - previous;
    previous = at;
  }
  std::cout << "seconds of each edge round:" << each << "\n";
  const double round_s = r.metrics.empty() ? 0.0 : total / static_cast<double>(r.metrics.size());
  // Rounds after the first: without the registration of every client and the first link measurement.
  const double steady_s = r.metrics.size() < 2 ? round_s
                                               : (r.metrics.back().value("elapsed_s", 0.0)
                                                  - r.metrics.front().value("elapsed_s", 0.0))
                                                   / static_cast<double>(r.metrics.size() - 1);
  // The cloud's validation scoring per round (metrics lines' eval_s): the same work however many clients take
  // part, beside the next round (a line's elapsed_s is when its training was over, not when it was scored).
  double eval_after_first = 0;
  for (std::size_t k = 1; k < r.metrics.size(); ++k)
    eval_after_first += r.metrics[k].value("eval_s", 0.0);
  const double steady_eval_s = r.metrics.size() < 2 ? 0.0 : eval_after_first / static_cast<double>(r.metrics.size() - 1);
  const double per_client = (peak - rss_loaded) / static_cast<double>(clients);
  std::cout << fmt::format("rss after base model and data: {:.1f} MB; steps {}; test accuracy spam {:.3f}, "
                           "supersense {:.3f}; wall {:.1f} s\n",
                           rss_loaded, r.steps, r.summary["tasks"]["spam"].value("test_accuracy", 0.0),
                           r.summary["tasks"]["supersense"].value("test_accuracy", 0.0), r.wall_seconds);
  std::cout << fmt::format("clients={} peak_rss_mb={:.1f} per_client_mb={:.3f} round_s={:.2f} steady_s={:.2f} "
                           "steady_eval_s={:.3f}",
                           clients, peak, per_client, round_s, steady_s, steady_eval_s)
            << std::endl;
  std::filesystem::remove_all(cfg.out_dir);
  return 0;
}

// Runs `self --clients n --per-round k --rounds r` and parses its last line.
point run_child(const std::string& self, int64_t n, int64_t per_round = 0, int64_t rounds = 2) {
  const auto cmd = fmt::format("'{}' --clients {} --per-round {} --rounds {}", self, n, per_round, rounds);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
  if (!pipe)
    throw error(errc::io_error, "cannot start " + cmd);
  std::array<char, 4096> buf{};
  std::string last;
  while (std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr) {
    std::cout << "  " << buf.data();
    last = buf.data();
  }
  point p;
  if (std::sscanf(last.c_str(),
                  "clients=%ld peak_rss_mb=%lf per_client_mb=%lf round_s=%lf steady_s=%lf steady_eval_s=%lf",
                  &p.clients, &p.peak, &p.per_client, &p.round_s, &p.steady_s, &p.steady_eval_s) != 6)
    throw error(errc::io_error, fmt::format("{} did not end with its clients=... line", cmd));
  return p;
}

} // namespace

int main(int argc, char** argv) try {
  int64_t clients = 0, per_round = 0, rounds = 2;
  bool sampling = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--clients" && i + 1 < argc)
      clients = std::atoll(argv[++i]);
    else if (a == "--per-round" && i + 1 < argc)
      per_round = std::atoll(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::atoll(argv[++i]);
    else if (a == "--sampling")
      sampling = true;
    else {
      std::cerr << "usage: elsa_scale_benchmark [--clients N [--per-round K] [--rounds R] | --sampling]\n";
      return 1;
    }
  }
  if (clients != 0 && (clients < 10 || clients > 100000)) {
    std::cerr << "elsa_scale_benchmark: --clients must be in 10..100000\n";
    return 1;
  }
  if (per_round < 0 || per_round > clients) {
    std::cerr << "elsa_scale_benchmark: --per-round must be in 0..clients (0: every client)\n";
    return 1;
  }
  if (rounds < 2 || rounds > 1000 || rounds % 2 != 0) {
    std::cerr << "elsa_scale_benchmark: --rounds must be even, in 2..1000 (kappa2 = 2)\n";
    return 1;
  }
  if (clients > 0)
    return run_one(clients, per_round, rounds);
  if (sampling) {
    // The same 1,000-client run, the same work per taking part client, all of them or 50 per edge round;
    // 4 edge rounds (2 cloud rounds), so that rounds 2 to 4 show the cost of a round once the run is going.
    std::cout << "1000 clients, all taking part ...\n" << std::flush;
    const auto all = run_child(argv[0], 1000, 0, 4);
    std::cout << "1000 clients, 50 sampled per edge round ...\n" << std::flush;
    const auto some = run_child(argv[0], 1000, 50, 4);
    std::cout << fmt::format(
      "\n| clients per edge round | s per edge round, all 4 | s per edge round, rounds 2-4 | the cloud's validation "
      "per edge round, beside the next round |\n|---|---|---|---|\n| 1000 | {:.2f} | {:.2f} | {:.3f} |\n"
      "| 50 | {:.2f} | {:.2f} | {:.3f} |\n\n"
      "ratio {:.3f} over all rounds, {:.3f} over rounds 2-4 (50/1000 = 0.050)\n",
      all.round_s, all.steady_s, all.steady_eval_s, some.round_s, some.steady_s, some.steady_eval_s,
      some.round_s / all.round_s, some.steady_s / all.steady_s);
    return 0;
  }

  std::vector<point> points;
  for (int64_t n : {100, 250, 500, 1000}) {
    std::cout << fmt::format("clients = {} ...\n", n) << std::flush;
    points.push_back(run_child(argv[0], n));
  }
  // Least-squares line round_s = a + b * clients.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& p : points) {
    sx += static_cast<double>(p.clients);
    sy += p.round_s;
    sxx += static_cast<double>(p.clients) * static_cast<double>(p.clients);
    sxy += static_cast<double>(p.clients) * p.round_s;
  }
  const double n = static_cast<double>(points.size());
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const double intercept = (sy - slope * sx) / n;
  std::cout << "\n| clients | peak RSS (MB) | per client (MB) | s per edge round |\n|---|---|---|---|\n";
  for (const auto& p : points)
    std::cout << fmt::format("| {} | {:.0f} | {:.3f} | {:.2f} |\n", p.clients, p.peak, p.per_client, p.round_s);
  std::cout << fmt::format("\nround time fit: {:.3f} s + {:.5f} s per client; t({})/t({}) = {:.2f}\n", intercept,
                           slope, points.back().clients, points.front().clients,
                           points.back().round_s / points.front().round_s);
  return 0;
} catch (const elsa::error& e) {
  std::cerr << "elsa_scale_benchmark: " << e.what() << "\n";
  return 1;
}
