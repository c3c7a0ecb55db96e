// What the subcommands of the `elsa` program share: the exit status a command asks for, the SIGINT/SIGTERM
// handlers that let `elsa run` stop cleanly, the check that an input folder named by an option exists, and
// the one-line text of an error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "core/run/run_config.hpp"

namespace elsa::cli {

/// Thrown by a command that ends with a status other than 0 or 1 (a run stopped by SIGINT: 130).
struct exit_status {
  int code;
};

/// Installs handlers for SIGINT and SIGTERM, whatever the inherited disposition (a shell starts background
/// jobs with SIGINT ignored). Until arm_stop() a signal ends the process as it would without handlers
/// (after one line on stderr); once armed the first signal is only recorded (stop_signal()), the second
/// exits at once with 128 + the signal.
void install_stop_handlers();

/// From now on a signal asks for a stop instead of ending the process (training has started).
void arm_stop();

/// The first signal received once armed: 0, SIGINT or SIGTERM.
int stop_signal();

/// "SIGINT", "SIGTERM" or "" for stop_signal().
std::string stop_signal_name();

/// Throws elsa::error (file_not_found) "OPTION PATH: no folder /abs/PATH (...); FIX" unless `dir` is a
/// folder.
void require_folder(const std::string& option, const std::filesystem::path& dir, const std::string& fix);

/// Option checks whose messages read like the config's: "--threads: 0 is out of range; allowed 1..256".
CLI::Validator int_range(int64_t lo, int64_t hi);
/// "--lr: 0 is out of range; allowed (0, 1]" (lo excluded when lo_open).
CLI::Validator real_range(double lo, double hi, bool lo_open = false);

/// "--set privacy.ssop_sigma=1.5" -> {privacy, ssop_sigma, 1.5}: the config reader then checks the key, its
/// type and its range as it checks the file's. errc::invalid_argument when TEXT is not SECTION.KEY=VALUE.
run::key_override parse_set(const std::string& text);

/// The options of the commands that run a config (run, launch, node), read over CONFIG and checked with it:
/// --out when given (`out_given`), then `extra` (e.g. --rounds), --quiet, every --set (last wins); model and data folders
/// checked. `where` is set to how the run directory was named, for run_dir::claim's messages.
run::run_config read_with_options(const std::string& config, bool out_given, const std::string& out, bool quiet,
                                  const std::vector<std::string>& sets, std::vector<run::key_override> extra,
                                  std::string& where);

/// The text of an error as one line: line breaks become "; ", trailing blanks go.
std::string one_line(const std::string& text);

} // namespace elsa::cli
