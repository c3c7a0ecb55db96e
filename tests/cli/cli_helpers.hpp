// Running the built `elsa` program as a user would, for the CLI tests: stdout and stderr apart, from a
// chosen directory, or as a child process to send signals to; tiny real run configs; file helpers.
#pragma once

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "core/run/run_config.hpp"
#include "tests/test_support.hpp"

namespace elsa::testing {

/// A fresh folder for one test (removed first if a previous run left it).
inline std::filesystem::path scratch_dir(const std::string& name) {
  const auto p
    = std::filesystem::temp_directory_path() / ("elsa_cli_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  return nlohmann::json::parse(read_text(p));
}

/// The `round` of every line of a run's metrics.jsonl, in file order.
inline std::vector<int64_t> recorded_rounds(const std::filesystem::path& metrics) {
  std::vector<int64_t> rounds;
  std::istringstream in(read_text(metrics));
  for (std::string line; std::getline(in, line);)
    rounds.push_back(nlohmann::json::parse(line)["round"].get<int64_t>());
  return rounds;
}

inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline long lines_of(const std::string& text) {
  return static_cast<long>(std::count(text.begin(), text.end(), '\n'));
}

/// What one run of the program printed, apart.
struct split_result {
  int exit_code = -1;
  std::string out; // stdout
  std::string err; // stderr
};

/// Runs `elsa ARGS` through the shell in `cwd` (the test's own directory when empty).
inline split_result run_split(const std::string& args, const std::filesystem::path& cwd = {}) {
  static int counter = 0;
  const auto base = std::filesystem::temp_directory_path()
                    / ("elsa_cli_out_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  const auto out = base.string() + ".out", err = base.string() + ".err";
  std::string command = elsa_bin() + " " + args + " >" + out + " 2>" + err;
  if (!cwd.empty())
    command = "cd '" + cwd.string() + "' && " + command;
  const int status = std::system(command.c_str());
  split_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

/// A child `elsa ARGS...` with stdout and stderr in files, SIGINT ignored when `ignore_sigint` (as a shell
/// starts a background job).
struct child {
  pid_t pid = -1;
  std::filesystem::path out, err;

  /// Waits for the child: its exit status, or 128 + the signal that ended it.
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    if (WIFEXITED(status))
      return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  }
};

inline child spawn_elsa(const std::vector<std::string>& args, const std::filesystem::path& logs,
                        bool ignore_sigint) {
  child c;
  c.out = logs / "stdout.txt";
  c.err = logs / "stderr.txt";
  std::vector<std::string> argv_s{elsa_bin()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  c.pid = ::fork();
  if (c.pid == 0) {
    if (ignore_sigint)
      std::signal(SIGINT, SIG_IGN);
    const int out = ::open(c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    for (auto& a : argv_s)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return c;
}

/// A tiny real run: 2 clients under 1 edge, spam, `rounds` edge rounds of 1 step, short sequences, a few
/// evaluation examples (seconds).
inline run::run_config tiny_run(int64_t rounds = 2, bool deterministic = true) {
  run::run_config cfg;
  cfg.model_dir = source_dir() / "models/elsa-base";
  cfg.data_dir = data_dir();
  cfg.clients = 2;
  cfg.edges = 1;
  cfg.rounds = rounds;
  cfg.kappa1 = 1;
  cfg.kappa2 = 2;
  cfg.max_len = 32;
  cfg.eval_examples = 32;
  cfg.test_examples = 32;
  cfg.deterministic = deterministic;
  return cfg;
}

/// Writes `cfg` as a TOML file in `dir` and returns its path.
inline std::filesystem::path write_config(const std::filesystem::path& dir, const run::run_config& cfg,
                                          const std::string& name = "run.toml") {
  const auto p = dir / name;
  write_text(p, run::to_toml(cfg));
  return p;
}

/// Every file under `dir` with its bytes, to check a command left a folder as it was.
inline std::vector<std::pair<std::string, std::string>> snapshot(const std::filesystem::path& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      files.emplace_back(e.path().string(), read_text(e.path()));
  std::sort(files.begin(), files.end());
  return files;
}

#define ELSA_REQUIRE_PROGRAM()                                                                               \
  do {                                                                                                       \
    if (!std::filesystem::exists(elsa::testing::elsa_bin()))                                                 \
      GTEST_FAIL() << "the elsa program " << elsa::testing::elsa_bin()                                       \
                   << " is not built; build the 'elsa' target";                                              \
  } while (false)

} // namespace elsa::testing
