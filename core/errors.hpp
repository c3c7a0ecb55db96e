// Error codes and the one exception type core/ raises for bad input (files, configs, message bytes).
// core/ has no CAF: at actor boundaries these become caf::error values; the CLI prints what() as one line.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace elsa {

/// What went wrong, and whether trying again can help.
enum class errc : uint8_t {
  none = 0,
  /// A required file or folder is missing. Retry after fixing the path (or running scripts/setup.sh).
  file_not_found,
  /// A file, message or argument does not parse or breaks its format. Retrying the same input cannot help.
  malformed_input,
  /// A well-formed value lies outside what is allowed (a config key out of range, an unknown name).
  invalid_argument,
  /// Reading or writing failed part-way (disk full, permissions). A retry may help.
  io_error,
  /// A library call failed inside ELSA (a LibTorch error in a training step): a bug, not bad input; the
  /// message says which step. The same input will fail again.
  internal,
  /// Bytes arrived damaged (their checksum does not match): sending them again may help.
  damaged,
};

/// Returns the enum's name, e.g. "malformed_input".
const char* to_string(errc code);

/// The exception core/ throws for bad input. The message names the file (and line) or key, and what to do.
class error : public std::runtime_error {
public:
  error(errc code, const std::string& what) : std::runtime_error(what), code_(code) {
    // nop
  }

  errc code() const noexcept {
    return code_;
  }

private:
  errc code_;
};

} // namespace elsa
