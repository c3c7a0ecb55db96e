// Strict reading of TOML config files (configs/pretrain.toml, finetune*.toml, quickstart.toml): unknown
// sections and keys, wrong types and out-of-range values are elsa::error values whose text names the file,
// the [section] key, the value and what is allowed:
// `FILE: [topology] clients = 0 is out of range; allowed 1..4096`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace elsa::toml_config {

/// Parses a config file: errc::file_not_found when it is missing, errc::malformed_input naming the line when
/// it is not TOML.
toml::table parse(const std::filesystem::path& path);

/// Every top-level key of `root` must be one of the `allowed` section names, else errc::invalid_argument
/// listing them.
void check_sections(const std::filesystem::path& path, const toml::table& root,
                    std::initializer_list<const char*> allowed);
void check_sections(const std::filesystem::path& path, const toml::table& root,
                    const std::vector<std::string>& allowed);

// -- what a message says after "[section] key" --------------------------------------------------------------
// Shared with checks of values set in code (e.g. elsa::run::validate), so both read the same.

/// "= 0 is out of range; allowed 1..4096", or "" when lo <= value <= hi.
std::string range_problem(int64_t value, int64_t lo, int64_t hi);

/// "= 2 is out of range; allowed [0, 1]" (or "(0, 1]" when lo_open), or "" when the value is inside.
/// NaN is never inside.
std::string range_problem(double value, double lo, double hi, bool lo_open = false);

/// "= \"x\" is not one of a, b, c", or "" when value is one of `allowed`.
std::string choice_problem(const std::string& value, const std::vector<std::string>& allowed);

/// "a, b, c".
std::string join(const std::vector<std::string>& names);

/// Reads one [section] of a TOML file; every key must be claimed by a get() call, else check_done() reports
/// the first unknown one. A missing section or key leaves the value as it was (the default).
class section_reader {
public:
  section_reader(const std::filesystem::path& file, const toml::table& root, std::string name);

  /// An integer in lo..hi.
  void get(const char* key, int64_t& out, int64_t lo, int64_t hi);
  /// A non-negative integer (a seed).
  void get(const char* key, uint64_t& out);
  /// A number (integer or float) in [lo, hi], or (lo, hi] when lo_open.
  void get(const char* key, double& out, double lo, double hi, bool lo_open = false);
  void get(const char* key, bool& out);
  void get(const char* key, std::string& out);
  /// A string that is one of `allowed`.
  void get(const char* key, std::string& out, const std::vector<std::string>& allowed);
  void get(const char* key, std::filesystem::path& out);
  void get(const char* key, std::vector<std::string>& out);
  /// A list of strings, each one of `allowed` (a bad entry is reported as key[i]).
  void get(const char* key, std::vector<std::string>& out, const std::vector<std::string>& allowed);
  /// A list of integers, each in lo..hi (a bad entry is reported as key[i]).
  void get(const char* key, std::vector<int64_t>& out, int64_t lo, int64_t hi);
  /// A list of numbers (integers or floats), each in [lo, hi] (a bad entry is reported as key[i]).
  void get(const char* key, std::vector<double>& out, double lo, double hi);

  /// Fails on the first key of the section that no get() claimed.
  void check_done();

  /// Throws errc::invalid_argument "FILE: [section] key what", or "ORIGIN: [section] key what" for a key
  /// given an origin by set_origin(); messages that name the file end with the note of set_note().
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

  /// Messages about `key` (and its entries `key[i]`) name `origin` instead of the file: the command-line
  /// option that set the key over the file, e.g. "--rounds 1".
  void set_origin(const std::string& key, std::string origin);
  /// Appended to the messages that name the file, e.g. " (with --rounds 4)" when options changed other keys.
  void set_note(std::string note);

private:
  const toml::node* take(const char* key);
  template <class T, class IsKind, class Problem>
  void get_list(const char* key, std::vector<T>& out, const std::string& type_error, IsKind is_kind, Problem problem);

  std::string file_;
  std::string name_;
  std::string note_;
  std::map<std::string, std::string> origins_;
  const toml::table* table_ = nullptr;
  std::map<std::string, bool> claimed_;
};

} // namespace elsa::toml_config
