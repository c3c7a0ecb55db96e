// See files.hpp.
#include "core/files.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa {

namespace {

void sync_folder(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return;  // best effort: the file itself is synced
  ::fsync(fd);
  ::close(fd);
}

} // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  const auto tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw error(errc::io_error, fmt::format("{}: cannot write ({}; does the folder exist?)", tmp, std::strerror(errno)));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw error(errc::io_error, fmt::format("{}: write failed ({}; disk full?)", tmp, std::strerror(err)));
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_err = errno;
  if (::close(fd) != 0 || !synced) {
    const int err = synced ? errno : sync_err;
    ::unlink(tmp.c_str());
    throw error(errc::io_error, fmt::format("{}: cannot flush to disk ({})", tmp, std::strerror(err)));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw error(errc::io_error, fmt::format("{}: cannot rename into place: {}", path.string(), ec.message()));
  sync_folder(path.parent_path());
}

} // namespace elsa
