// The folders a command writes and reads, checked before any work starts: the run directory policy of
// `elsa run` and `elsa finetune` (a new folder is created, an earlier run is only replaced when asked, a
// run that fails before it starts leaves nothing behind) and the folders a run reads (model, data), whose
// errors say which absolute path was tried. Relative paths are taken from the current directory. No torch,
// no CAF here.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace elsa::run {

/// A run directory claimed by a command. claim() checks everything that can be checked before the work
/// starts and creates nothing that stays; create() makes the folder when the work starts.
class run_dir {
public:
  /// `where` names the setting in messages, e.g. "--out runs/x" or "configs/a.toml: [output] dir =
  /// \"runs/x\""; `fix` says how to choose another folder, e.g. "choose another --out". Errors
  /// (errc::invalid_argument, one line): `dir` is a file; it is a non-empty folder and `replace` is false
  /// ("... add --force to replace it"); with `replace`, a non-empty folder that holds none of `markers` (the
  /// files of an earlier run), that contains the current directory, or is "/"; a folder that cannot be
  /// created (io_error).
  static run_dir claim(const std::filesystem::path& dir, bool replace, const std::string& where,
                       const std::string& fix, const std::vector<std::string>& markers);

  /// Creates the folder; with `replace`, first removes everything in it. errc::io_error naming it on failure.
  void create() const;

  const std::filesystem::path& path() const {
    return dir_;
  }

private:
  std::filesystem::path dir_;
  bool replace_ = false;
  std::string where_;
};

/// The files whose presence marks a folder as an earlier `elsa run` (config.toml, metrics.jsonl, ...).
const std::vector<std::string>& federated_run_markers();

/// "" when `dir` is a folder; else what is wrong, for after "SETTING = PATH: ": "no folder /abs/PATH
/// (relative paths are taken from the current directory, /cwd)" (or "... is a file, not a folder"), and, when
/// `near` is set and PATH exists relative to `near` or one of its parents, where it was found and how to
/// use it.
std::string missing_folder_problem(const std::filesystem::path& dir, const std::filesystem::path& near = {});

struct run_config;

/// Checks that [model] model_dir and [data] data_dir of a config read from `config_file` are folders,
/// before anything is loaded: errc::file_not_found, e.g. `CONFIG: [model] model_dir = "models/elsa-base":
/// no folder /tmp/models/elsa-base (relative paths are taken from the current directory, /tmp); ...`.
void check_input_folders(const run_config& cfg, const std::filesystem::path& config_file);

} // namespace elsa::run
