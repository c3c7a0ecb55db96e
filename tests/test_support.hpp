// Shared helpers for the test suites: where the source tree and the fetched data live.
#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <sys/wait.h>

namespace elsa::testing {

/// The repository root (set by CMake).
inline std::filesystem::path source_dir() {
  return ELSA_SOURCE_DIR;
}

/// The folder scripts/fetch_data.sh fills: $ELSA_DATA_DIR, or data/ at the repository root.
inline std::filesystem::path data_dir() {
  if (const char* env = std::getenv("ELSA_DATA_DIR"); env != nullptr && *env != '\0')
    return env;
  return source_dir() / "data";
}

/// A test CA and certificates for NAMES (space-separated) in `dir`, by the project's own
/// scripts/make_certs.sh; false when the script failed.
inline bool make_certs(const std::filesystem::path& dir, const std::string& names) {
  return std::system(("bash " + (source_dir() / "scripts/make_certs.sh").string() + " " + dir.string() + " " + names
                      + " >/dev/null")
                       .c_str())
         == 0;
}

/// The built `elsa` program, for tests that run it as a user would.
inline std::string elsa_bin() {
  if (const char* env = std::getenv("ELSA_BIN"); env != nullptr && *env != '\0')
    return env;
  return std::string{ELSA_BINARY_DIR} + "/elsa";
}

/// What running the elsa program printed (stdout and stderr together) and its exit code (-1 if it did
/// not exit normally).
struct program_result {
  int exit_code = -1;
  std::string output;
};

/// Runs `command` through the shell: its exit code and stdout (add 2>&1 for stderr too).
inline program_result run_shell(const std::string& command) {
  program_result r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    return r;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe))
    r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// Runs `elsa ARGS` through the shell, as a user would.
inline program_result run_elsa(const std::string& args) {
  return run_shell(elsa_bin() + " " + args + " 2>&1");
}

} // namespace elsa::testing
