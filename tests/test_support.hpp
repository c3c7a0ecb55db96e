// Shared helpers for the test suites: where the source tree and the fetched data live.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

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

/// The built `elsa` program, for tests that run it as a user would.
inline std::string elsa_bin() {
  if (const char* env = std::getenv("ELSA_BIN"); env != nullptr && *env != '\0')
    return env;
  return std::string{ELSA_BINARY_DIR} + "/elsa";
}

} // namespace elsa::testing
