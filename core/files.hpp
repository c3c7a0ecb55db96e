// Writing a whole file so that a crash never leaves half of it under its name: into PATH.tmp, fsync, a
// rename, then an fsync of the folder (so the rename itself survives a power cut).
#pragma once

#include <filesystem>
#include <string_view>

namespace elsa {

/// Writes `bytes` to `path` through `path`.tmp and a rename; elsa::error (io_error) naming the file when
/// the folder is missing, the disk is full or the rename fails.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

} // namespace elsa
