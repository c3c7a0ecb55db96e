// Strict TOML config reading: parse errors with the line, unknown sections and keys, type and range checks,
// all as elsa::error values that name the file and the [section] key.
#include "core/toml_reader.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::toml_config {

toml::table parse(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status))
    throw error(errc::file_not_found, fmt::format("{}: config file not found", path.string()));
  if (std::filesystem::is_directory(status))
    throw error(errc::invalid_argument,
                fmt::format("{}: is a folder, not a config file; name the TOML file itself", path.string()));
  try {
    return toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    throw error(errc::malformed_input, fmt::format("{}:{}: not valid TOML: {}", path.string(),
                                                   e.source().begin.line, e.description()));
  }
}

void check_sections(const std::filesystem::path& path, const toml::table& root,
                    const std::vector<std::string>& allowed) {
  for (auto&& [k, v] : root) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end())
      continue;
    std::string list;
    for (const auto& a : allowed)
      list += std::string(list.empty() ? "" : ", ") + "[" + a + "]";
    throw error(errc::invalid_argument, fmt::format("{}: unknown section or key '{}'; allowed sections: {}",
                                                    path.string(), k.str(), list));
  }
}

void check_sections(const std::filesystem::path& path, const toml::table& root,
                    std::initializer_list<const char*> allowed) {
  check_sections(path, root, std::vector<std::string>(allowed.begin(), allowed.end()));
}

// -- messages -----------------------------------------------------------------------------------------------

std::string range_problem(int64_t value, int64_t lo, int64_t hi) {
  if (value >= lo && value <= hi)
    return {};
  return fmt::format("= {} is out of range; allowed {}..{}", value, lo, hi);
}

std::string range_problem(double value, double lo, double hi, bool lo_open) {
  if ((lo_open ? value > lo : value >= lo) && value <= hi)
    return {};
  return fmt::format("= {} is out of range; allowed {}{}, {}]", value, lo_open ? "(" : "[", lo, hi);
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string choice_problem(const std::string& value, const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end())
    return {};
  return fmt::format("= \"{}\" is not one of {}", value, join(allowed));
}

// -- section_reader -----------------------------------------------------------------------------------------

section_reader::section_reader(const std::filesystem::path& file, const toml::table& root, std::string name)
    : file_(file.string()), name_(std::move(name)) {
  if (auto* node = root.get(name_)) {
    table_ = node->as_table();
    if (table_ == nullptr)
      fail("", "must be a table ([" + name_ + "])");
  }
}

void section_reader::get(const char* key, int64_t& out, int64_t lo, int64_t hi) {
  if (auto* n = take(key)) {
    auto v = n->value<int64_t>();
    if (!v || !n->is_integer())
      fail(key, fmt::format("must be an integer in {}..{}", lo, hi));
    if (auto what = range_problem(*v, lo, hi); !what.empty())
      fail(key, what);
    out = *v;
  }
}

void section_reader::get(const char* key, uint64_t& out) {
  int64_t v = static_cast<int64_t>(out);
  get(key, v, 0, std::numeric_limits<int64_t>::max());
  out = static_cast<uint64_t>(v);
}

void section_reader::get(const char* key, double& out, double lo, double hi, bool lo_open) {
  if (auto* n = take(key)) {
    auto v = n->value<double>();
    if (!v || !(n->is_floating_point() || n->is_integer()))
      fail(key, fmt::format("must be a number in {}{}, {}]", lo_open ? "(" : "[", lo, hi));
    if (auto what = range_problem(*v, lo, hi, lo_open); !what.empty())
      fail(key, what);
    out = *v;
  }
}

void section_reader::get(const char* key, bool& out) {
  if (auto* n = take(key)) {
    if (!n->is_boolean())
      fail(key, "must be true or false");
    out = *n->value<bool>();
  }
}

void section_reader::get(const char* key, std::string& out) {
  if (auto* n = take(key)) {
    if (!n->is_string())
      fail(key, "must be a string");
    out = *n->value<std::string>();
  }
}

void section_reader::get(const char* key, std::string& out, const std::vector<std::string>& allowed) {
  if (auto* n = take(key)) {
    if (!n->is_string())
      fail(key, "must be a string, one of " + join(allowed));
    auto v = *n->value<std::string>();
    if (auto what = choice_problem(v, allowed); !what.empty())
      fail(key, what);
    out = std::move(v);
  }
}

void section_reader::get(const char* key, std::filesystem::path& out) {
  std::string s = out.string();
  get(key, s);
  out = s;
}

void section_reader::get(const char* key, std::vector<std::string>& out) {
  if (auto* n = take(key)) {
    auto* arr = n->as_array();
    if (arr == nullptr)
      fail(key, "must be a list of strings");
    out.clear();
    for (auto& e : *arr) {
      if (!e.is_string())
        fail(key, "must be a list of strings");
      out.push_back(*e.value<std::string>());
    }
  }
}

void section_reader::get(const char* key, std::vector<std::string>& out,
                         const std::vector<std::string>& allowed) {
  if (auto* n = take(key)) {
    auto* arr = n->as_array();
    if (arr == nullptr)
      fail(key, "must be a list of strings, each one of " + join(allowed));
    std::vector<std::string> values;
    for (auto& e : *arr) {
      if (!e.is_string())
        fail(key, "must be a list of strings, each one of " + join(allowed));
      values.push_back(*e.value<std::string>());
      if (auto what = choice_problem(values.back(), allowed); !what.empty())
        fail(fmt::format("{}[{}]", key, values.size() - 1), what);
    }
    out = std::move(values);
  }
}

// A list of numbers of one kind: `is_kind` accepts an element, `problem` checks one value (empty: fine).
template <class T, class IsKind, class Problem>
void section_reader::get_list(const char* key, std::vector<T>& out, const std::string& type_error, IsKind is_kind,
                              Problem problem) {
  if (auto* n = take(key)) {
    auto* arr = n->as_array();
    if (arr == nullptr)
      fail(key, type_error);
    std::vector<T> values;
    for (auto& e : *arr) {
      if (!is_kind(e))
        fail(key, type_error);
      values.push_back(*e.template value<T>());
      if (auto what = problem(values.back()); !what.empty())
        fail(fmt::format("{}[{}]", key, values.size() - 1), what);
    }
    out = std::move(values);
  }
}

void section_reader::get(const char* key, std::vector<int64_t>& out, int64_t lo, int64_t hi) {
  get_list(key, out, fmt::format("must be a list of integers, each in {}..{}", lo, hi),
           [](const toml::node& e) { return e.is_integer(); },
           [&](int64_t v) { return range_problem(v, lo, hi); });
}

void section_reader::get(const char* key, std::vector<double>& out, double lo, double hi) {
  get_list(key, out, fmt::format("must be a list of numbers, each in [{}, {}]", lo, hi),
           [](const toml::node& e) { return e.is_integer() || e.is_floating_point(); },
           [&](double v) { return range_problem(v, lo, hi, false); });
}

void section_reader::check_done() {
  if (table_ == nullptr)
    return;
  for (auto&& [k, v] : *table_)
    if (!claimed_.count(std::string(k.str())))
      fail(std::string(k.str()), "is not a known key of this section (check the spelling; see configs/)");
}

void section_reader::fail(const std::string& key, const std::string& what) const {
  const auto origin = origins_.find(key.substr(0, key.find('[')));
  const bool from_option = !key.empty() && origin != origins_.end();
  throw error(errc::invalid_argument,
              fmt::format("{}: [{}]{}{} {}{}", from_option ? origin->second : file_, name_,
                          key.empty() ? "" : " ", key, what, from_option ? "" : note_));
}

void section_reader::set_origin(const std::string& key, std::string origin) {
  origins_[key] = std::move(origin);
}

void section_reader::set_note(std::string note) {
  note_ = std::move(note);
}

const toml::node* section_reader::take(const char* key) {
  claimed_[key] = true;
  return table_ == nullptr ? nullptr : table_->get(key);
}

} // namespace elsa::toml_config
