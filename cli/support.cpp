// Shared pieces of the `elsa` program (see support.hpp).
#include "cli/support.hpp"

#include <toml++/toml.h>

#include <atomic>
#include <csignal>
#include <limits>

#include <fmt/format.h>
#include <unistd.h>

#include "core/errors.hpp"
#include "core/run/run_dir.hpp"

namespace elsa::cli {

namespace {

std::atomic<bool> armed{false};
std::atomic<int> received{0};  // lock-free, so usable in a handler; exchanged so two signals cannot both be "first"

void write_stderr(const char* text) {
  size_t n = 0;
  while (text[n] != '\0')
    ++n;
  [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, text, n);
}

// Async-signal-safe: only atomics, write(2), signal(), raise() and _exit().
extern "C" void on_stop_signal(int sig) {
  if (!armed.load()) {
    write_stderr(sig == SIGINT
                   ? "\nelsa: interrupted (SIGINT) before training started; nothing was written\n"
                   : "\nelsa: terminated (SIGTERM) before training started; nothing was written\n");
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  int none = 0;
  if (!received.compare_exchange_strong(none, sig)) {
    write_stderr("\nelsa: second signal: exiting at once (summary.json not written)\n");
    ::_exit(128 + sig);
  }
}

} // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);  // the handler is not interrupted by the other stop signal
  sigaddset(&action.sa_mask, SIGTERM);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  // A job started in the background may also have these blocked; unblock them in this thread (CAF's
  // threads, started later, inherit the mask).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void arm_stop() {
  armed.store(true);
}

int stop_signal() {
  return received;
}

std::string stop_signal_name() {
  switch (received) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return {};
  }
}

void require_folder(const std::string& option, const std::filesystem::path& dir, const std::string& fix) {
  if (auto what = run::missing_folder_problem(dir); !what.empty())
    throw error(errc::file_not_found, fmt::format("{} {}: {}; {}", option, dir.string(), what, fix));
}

CLI::Validator int_range(int64_t lo, int64_t hi) {
  const auto allowed = hi == std::numeric_limits<int64_t>::max() ? fmt::format("{} or more", lo)
                                                                 : fmt::format("{}..{}", lo, hi);
  return CLI::Validator(
    [lo, hi, allowed](std::string& input) {
      int64_t v = 0;
      if (!CLI::detail::lexical_cast(input, v))
        return fmt::format("{} is not an integer; allowed {}", input, allowed);
      if (v < lo || v > hi)
        return fmt::format("{} is out of range; allowed {}", input, allowed);
      return std::string{};
    },
    "in " + allowed);
}

CLI::Validator real_range(double lo, double hi, bool lo_open) {
  const auto allowed = fmt::format("{}{}, {}]", lo_open ? "(" : "[", lo, hi);
  return CLI::Validator(
    [lo, hi, lo_open, allowed](std::string& input) {
      double v = 0;
      if (!CLI::detail::lexical_cast(input, v))
        return fmt::format("{} is not a number; allowed {}", input, allowed);
      if (!((lo_open ? v > lo : v >= lo) && v <= hi))
        return fmt::format("{} is out of range; allowed {}", input, allowed);
      return std::string{};
    },
    "in " + allowed);
}

std::string one_line(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r')
      continue;
    if (text[i] == '\n') {
      while (i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == ' '))
        ++i;
      if (!out.empty() && i + 1 < text.size())
        out += "; ";
      continue;
    }
    out += text[i];
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';'))
    out.pop_back();
  return out;
}

// "--set privacy.ssop_sigma=1.5" -> {privacy, ssop_sigma, 1.5}; the config reader then checks the key, its
// type and its range as it checks the file's.
run::key_override parse_set(const std::string& text) {
  const auto option = "--set " + text;
  const auto eq = text.find('=');
  const auto dot = text.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot == 0 || dot + 1 >= eq)
    throw error(errc::invalid_argument, fmt::format("{}: expected SECTION.KEY=VALUE, e.g. --set privacy.ssop=false", option));
  run::key_override o{option, text.substr(0, dot), text.substr(dot + 1, eq - dot - 1), std::string{}};
  const auto value = text.substr(eq + 1);
  toml::table t;
  try {
    t = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    o.value = value;  // a bare word: a string
    return o;
  }
  const auto* v = t.get("v");
  if (auto i = v->value_exact<int64_t>())
    o.value = *i;
  else if (auto d = v->value_exact<double>())
    o.value = *d;
  else if (auto b = v->value_exact<bool>())
    o.value = *b;
  else if (auto s = v->value_exact<std::string>())
    o.value = *s;
  else
    throw error(errc::invalid_argument,
                fmt::format("{}: VALUE must be a number, true/false or a string; lists and tables go in the file", option));
  return o;
}


run::run_config read_with_options(const std::string& config, bool out_given, const std::string& out, bool quiet,
                                  const std::vector<std::string>& sets, std::vector<run::key_override> extra,
                                  std::string& where) {
  std::vector<run::key_override> overrides;
  if (out_given)
    overrides.push_back({"--out " + out, "output", "dir", out});
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  if (quiet)
    overrides.push_back({"--quiet", "output", "progress", false});
  for (const auto& s : sets)
    overrides.push_back(parse_set(s));
  auto cfg = run::read_run_config(config, overrides);
  run::check_input_folders(cfg, config);
  where = out_given ? "--out " + out : fmt::format("{}: [output] dir = \"{}\"", config, cfg.out_dir.string());
  return cfg;
}

} // namespace elsa::cli
