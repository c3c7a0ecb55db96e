// See files.hpp.
#include "core/files.hpp"

#include <fstream>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa {

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      throw error(errc::io_error, fmt::format("{}: cannot write (does the folder exist?)", tmp));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out)
      throw error(errc::io_error, fmt::format("{}: write failed (disk full?)", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw error(errc::io_error, fmt::format("{}: cannot rename into place: {}", path.string(), ec.message()));
}

} // namespace elsa
