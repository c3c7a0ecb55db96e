// `elsa experiment SUITE.toml --out DIR`: every cell of a suite's grid (core/experiment/suite.hpp) as a run in
// DIR/runs/ID from its config DIR/configs/ID.toml, one after the other in this process; then results.csv and
// results.md in DIR (rewritten after every run, so a long suite shows what it has). Resumable: a finished run
// is not rerun, a stopped or killed one continues from its last checkpoint. Progress and an ETA on stderr.
#include "cli/commands.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "actors/runtime.hpp"
#include "cli/support.hpp"
#include "core/attack/inversion.hpp"
#include "core/errors.hpp"
#include "core/experiment/results.hpp"
#include "core/experiment/suite.hpp"
#include "core/files.hpp"
#include "core/run/run_config.hpp"
#include "core/run/run_dir.hpp"

namespace elsa::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<json> read_json_file(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec))
    return std::nullopt;
  auto j = json::parse(read_all(p), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  return j;
}

std::string clock_text(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60) : fmt::format("{}m{:02}s", s / 60, s % 60);
}

// What state a cell's run directory is in.
enum class cell_state { fresh, finished, partial };

cell_state state_of(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec) || fs::is_empty(dir, ec))
    return cell_state::fresh;
  const auto summary = read_json_file(dir / "summary.json");
  if (summary && summary->value("finished", false))
    return cell_state::finished;
  return cell_state::partial;
}

// A run directory of this suite holds the config the cell asks for now; else the suite changed under it.
void check_same_config(const fs::path& dir, const run::run_config& cfg, const std::string& id, const fs::path& out) {
  const auto file = dir / "config.toml";
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw error(errc::invalid_argument,
                fmt::format("{}: has no config.toml, so it is not a run of this suite; remove it or use another --out",
                            dir.string()));
  // The folder may be named another way than last time (--out ./runs/q, an absolute path): [output] dir aside.
  auto stored = run::read_run_config(file);
  stored.out_dir = cfg.out_dir;
  if (run::to_toml(stored) != run::to_toml(cfg))
    throw error(errc::invalid_argument,
                fmt::format("{}: cell {} ran with another config than the suite now gives it (compare {} with {}); "
                            "remove that run directory to run it again, or use another --out",
                            dir.string(), id, file.string(), (out / "configs" / (id + ".toml")).string()));
}

// One cell's run: fresh, or continued from its last checkpoint. Returns false when a signal stopped it.
bool run_cell(const run::run_config& cfg, cell_state state) {
  actors::run_hooks hooks;
  hooks.stop_requested = [] { return stop_signal_name(); };
  actors::run_start start;
  std::ostringstream results;  // each run's own table is not wanted here: results.md has them all
  if (state == cell_state::partial) {
    // From its last readable checkpoint (from the start when it wrote none); an error ends the suite with the
    // run directory as it was, never replaced.
    start.resume = true;
    start.fallback = true;
    hooks.before_write = [] { arm_stop(); };
    try {
      const auto r = actors::run_federation(cfg, std::cerr, &results, hooks, start);
      return !r.summary.contains("stop_reason");
    } catch (const error&) {
      if (stop_signal() != 0)
        return false;  // a signal during set-up: stopped, not failed
      throw;
    }
  }
  const auto dir = run::run_dir::claim(cfg.out_dir, true, "run directory " + cfg.out_dir.string(),
                                       "remove it", run::federated_run_markers());
  hooks.before_write = [&dir] {
    arm_stop();
    dir.create();
  };
  const auto r = actors::run_federation(cfg, std::cerr, &results, hooks);
  return !r.summary.contains("stop_reason");
}

void write_results(const experiment::suite& s, const std::vector<experiment::run_result>& done, const fs::path& out,
                   const std::string& command) {
  write_file_atomically(out / "results.csv", experiment::results_csv(done, out));
  write_file_atomically(out / "results.md", experiment::results_md(s, done, command));
}

void run_suite(const std::string& suite_file, const std::string& out_text) {
  const fs::path out = out_text;
  const auto s = experiment::read_suite(suite_file);
  const auto cells = s.cells(out);
  const std::string command = fmt::format("elsa experiment {} --out {}", suite_file, out_text);
  // Every cell's config is written and read back before the first run: a bad cell stops the suite now, not
  // hours in.
  std::vector<run::run_config> configs;
  for (const auto& c : cells) {
    const auto file = out / "configs" / (c.id + ".toml");
    std::ostringstream text;
    text << "# cell " << c.id << " of " << suite_file << " (written by elsa experiment; edit the suite, not this)\n"
         << c.config << "\n";
    fs::create_directories(file.parent_path());
    write_file_atomically(file, text.str());
    auto cfg = run::read_run_config(file);
    run::check_input_folders(cfg, file);
    if (s.attack && cfg.capture == 0 && !cfg.whole_model())  // (a whole-model client sends no activations)
      throw error(errc::invalid_argument,
                  fmt::format("{}: [suite] attack = true needs activations to attack, and this cell has [privacy] "
                              "capture = 0; set it in [set.privacy] (e.g. capture = 4)", file.string()));
    configs.push_back(std::move(cfg));
  }
  install_stop_handlers();
  std::vector<experiment::run_result> done;
  double spent = 0;
  int64_t ran = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& c = cells[i];
    const auto& cfg = configs[i];
    const auto dir = cfg.out_dir;
    auto state = state_of(dir);
    if (state != cell_state::fresh)
      check_same_config(dir, cfg, c.id, out);
    const auto left = static_cast<double>(cells.size() - i);
    const std::string eta = ran > 0 ? fmt::format(", ETA {}", clock_text(spent / static_cast<double>(ran) * left)) : "";
    if (state == cell_state::finished) {
      std::cerr << fmt::format("[{}/{}] {}: finished earlier, kept\n", i + 1, cells.size(), c.id);
    } else {
      std::cerr << fmt::format("[{}/{}] {}: {}{}\n", i + 1, cells.size(), c.id,
                               state == cell_state::partial ? "continuing from its last checkpoint" : "running", eta);
      const auto t0 = std::chrono::steady_clock::now();
      const bool whole = run_cell(cfg, state);
      spent += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++ran;
      if (!whole) {
        write_results(s, done, out, command);
        std::cerr << fmt::format("stopped by {} in cell {} of {}; run the same command again to go on from there\n",
                                 stop_signal_name(), i + 1, cells.size());
        throw exit_status{128 + stop_signal()};
      }
    }
    experiment::run_result r;
    r.method = c.method;
    r.tasks = c.tasks;
    r.alpha = c.alpha;
    r.seed = c.seed;
    r.faults = c.faults;
    r.run_dir = dir;
    r.summary = read_json_file(dir / "summary.json").value_or(json::object());
    if (s.attack && !cfg.whole_model()) {
      r.attack = read_json_file(dir / "attack.json");
      if (!r.attack) {
        attack::invert_options o;
        if (s.attack_public_tokens)
          o.public_tokens = *s.attack_public_tokens;
        if (s.attack_epochs)
          o.epochs = *s.attack_epochs;
        o.threads = cfg.torch_threads;
        std::cerr << fmt::format("  inversion attack on {}\n", dir.string());
        const auto report = attack::invert_run(dir, o, nullptr).to_json();
        write_file_atomically(dir / "attack.json", report.dump(2) + "\n");
        r.attack = report;
      }
    }
    const auto v = experiment::values_of(r);
    std::cerr << fmt::format("  test accuracy {:.4f}, {:.1f} s\n", v.accuracy, v.wall_seconds);
    done.push_back(std::move(r));
    write_results(s, done, out, command);
  }
  std::cout << fmt::format("{} runs; wrote {} and {}\n", done.size(), (out / "results.csv").string(),
                           (out / "results.md").string());
}

} // namespace

void add_experiment_command(CLI::App& app) {
  struct options {
    std::string suite;
    std::string out;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
    "experiment", "a grid of runs (methods x task sets x alphas x seeds x faults) and its results table "
                  "(configs/suites/quick.toml; docs/experiments.md)");
  cmd->add_option("suite", o->suite, "suite TOML file, e.g. configs/suites/quick.toml")->required();
  cmd->add_option("--out", o->out, "folder for configs/, runs/, results.csv and results.md; run again to go on")
    ->required();
  cmd->callback([o] { run_suite(o->suite, o->out); });
}

} // namespace elsa::cli
