// Run directories and input folders, checked before a command starts work (see run_dir.hpp).
#include "core/run/run_dir.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <unistd.h>

#include "core/errors.hpp"
#include "core/run/run_config.hpp"

namespace elsa::run {

namespace {

namespace fs = std::filesystem;

fs::path absolute_of(const fs::path& p) {
  std::error_code ec;
  auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal();
}

std::string current_dir() {
  std::error_code ec;
  const auto cwd = fs::current_path(ec);
  return ec ? std::string("?") : cwd.string();
}

// True when `inner` is `outer` or lies under it (both absolute and normal).
bool contains(const fs::path& outer, const fs::path& inner) {
  auto o = outer.begin(), i = inner.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (o->empty() && std::next(o) == outer.end()) // a trailing separator
      return true;
    if (i == inner.end() || *o != *i)
      return false;
  }
  return true;
}

} // namespace

run_dir run_dir::claim(const fs::path& dir, bool replace, const std::string& where, const std::string& fix,
                       const std::vector<std::string>& markers) {
  run_dir d;
  d.dir_ = dir;
  d.replace_ = replace;
  d.where_ = where;
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (fs::exists(status) && !fs::is_directory(status))
    throw error(errc::invalid_argument, fmt::format("{}: is a file, not a folder; {}", where, fix));
  if (fs::is_directory(status)) {
    const bool empty = fs::is_empty(dir, ec) && !ec;
    if (!empty && !replace)
      throw error(
        errc::invalid_argument,
        fmt::format("{}: the folder exists and is not empty (an earlier run?); {}, or add --force to "
                    "replace what is in it",
                    where, fix));
    if (!empty) {
      const auto abs = absolute_of(dir);
      const auto cwd = absolute_of(fs::current_path(ec));
      if (abs == abs.root_path() || contains(abs, cwd))
        throw error(errc::invalid_argument,
                    fmt::format("{}: --force would delete {}, which holds the current directory; {}", where,
                                abs.string(), fix));
      const bool is_run = std::any_of(markers.begin(), markers.end(), [&](const std::string& m) {
        std::error_code e;
        return fs::exists(dir / m, e);
      });
      if (!is_run) {
        std::string names;
        for (const auto& m : markers)
          names += (names.empty() ? "" : ", ") + m;
        throw error(errc::invalid_argument,
                    fmt::format("{}: the folder holds files but no earlier run (none of {}); --force only "
                                "replaces a run folder: {}, or empty the folder yourself",
                                where, names, fix));
      }
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
      throw error(errc::io_error, fmt::format("{}: the folder is not writable; {}", where, fix));
    return d;
  }
  // A new folder: create it once to learn now whether that works (a path under /proc, a file as a parent,
  // no permission), then remove what was created, so a run that fails before it starts leaves nothing.
  fs::path first_missing = absolute_of(dir);
  for (auto p = first_missing.parent_path(); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    first_missing = p;
    if (p == p.root_path())
      break;
  }
  fs::create_directories(dir, ec);
  if (ec)
    throw error(errc::io_error,
                fmt::format("{}: cannot create the folder ({}); {}", where, ec.message(), fix));
  fs::remove_all(first_missing, ec);
  return d;
}

void run_dir::create() const {
  std::error_code ec;
  std::error_code absent;  // --force on a folder that does not exist yet: nothing to replace
  if (replace_ && fs::is_directory(dir_, absent)) {
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      std::error_code e;
      fs::remove_all(entry.path(), e);
      if (e)
        throw error(errc::io_error, fmt::format("{}: cannot remove {} of the earlier run ({})", where_,
                                                entry.path().string(), e.message()));
    }
    if (ec)
      throw error(errc::io_error, fmt::format("{}: cannot read the folder ({})", where_, ec.message()));
  }
  fs::create_directories(dir_, ec);
  if (ec)
    throw error(errc::io_error, fmt::format("{}: cannot create the folder ({})", where_, ec.message()));
}

const std::vector<std::string>& federated_run_markers() {
  static const std::vector<std::string> names
    = {"config.toml", "metrics.jsonl", "events.jsonl", "summary.json"};
  return names;
}

std::string missing_folder_problem(const fs::path& dir, const fs::path& near) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (fs::is_directory(status))
    return {};
  const auto abs = absolute_of(dir);
  std::string what = fs::exists(status) ? fmt::format("{} is a file, not a folder", abs.string())
                                        : fmt::format("no folder {}", abs.string());
  if (dir.is_relative())
    what += fmt::format(" (relative paths are taken from the current directory, {})", current_dir());
  if (dir.is_relative() && !near.empty()) {
    for (auto p = absolute_of(near); !p.empty(); p = p.parent_path()) {
      if (fs::is_directory(p / dir, ec))
        return what
               + fmt::format("; it is at {}: run from {} or write that absolute path",
                             (p / dir).lexically_normal().string(), p.string());
      if (p == p.root_path())
        break;
    }
  }
  return what;
}

void check_input_folders(const run_config& cfg, const fs::path& config_file) {
  const auto near = absolute_of(config_file).parent_path();
  if (auto what = missing_folder_problem(cfg.model_dir, near); !what.empty())
    throw error(errc::file_not_found,
                fmt::format("{}: [model] model_dir = \"{}\": {}{}", config_file.string(),
                            cfg.model_dir.string(), what,
                            what.find("; it is at ") == std::string::npos
                              ? "; set it to a model folder (the repository ships models/elsa-base)"
                              : ""));
  if (auto what = missing_folder_problem(cfg.data_dir, near); !what.empty())
    throw error(errc::file_not_found,
                fmt::format("{}: [data] data_dir = \"{}\": {}{}", config_file.string(), cfg.data_dir.string(),
                            what,
                            what.find("; it is at ") == std::string::npos
                              ? "; scripts/fetch_data.sh fetches the data sets into data/ at the repository "
                                "root, or set it to the folder the script filled"
                              : ""));
}

} // namespace elsa::run
