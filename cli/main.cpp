// The `elsa` program: one binary, one subcommand per job (data, tokenizer, ...). main() only wires the
// subcommands together and turns every error into one line on stderr: a usage or input error (an unknown
// command or option, a bad value, a missing file, a bad config key) exits with 1, a bug with 2; --help exits
// with 0 and a run stopped by a signal with 128 + the signal.
#include "cli/commands.hpp"

#include <cstdio>
#include <filesystem>

#include <fmt/core.h>

#include "cli/support.hpp"
#include "core/errors.hpp"

namespace {

// "elsa tokenizer" for the deepest subcommand CLI11 selected, for "see `... --help`".
std::string command_path(const CLI::App& app) {
  std::string path = "elsa";
  const CLI::App* current = &app;
  while (!current->get_subcommands().empty()) {
    current = current->get_subcommands().front();
    path += " " + current->get_name();
  }
  return path;
}

std::string command_names(const CLI::App& app) {
  std::string names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names += (names.empty() ? "" : ", ") + sub->get_name();
  return names;
}

// `elsa frobnicate` or `elsa tokenizer` alone: CLI11 would say "A subcommand is required" or that arguments
// were not expected. Walks the words before the first option; "" when they name known commands.
std::string command_problem(const CLI::App& app, int argc, char** argv) {
  const CLI::App* current = &app;
  std::string path = "elsa";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-')
      return {};
    const auto subs = current->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty())
      return {}; // a positional argument of a command
    const CLI::App* next = nullptr;
    for (const auto* sub : subs)
      if (sub->get_name() == word)
        next = sub;
    if (next == nullptr)
      return fmt::format("unknown command '{}'{}; the commands are {} (see `{} --help`)", word,
                         path == "elsa" ? "" : " of " + path, command_names(*current), path);
    current = next;
    path += " " + word;
  }
  if (current->get_require_subcommand_min() > 0)
    return fmt::format("{}no command given; the commands are {} (see `{} --help`)",
                       path == "elsa" ? "" : path + ": ", command_names(*current), path);
  return {};
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"elsa: split learning + hierarchical federated fine-tuning of language models at the edge"};
  app.require_subcommand(1);
  app.set_version_flag("--version", elsa::cli::version_text);
  elsa::cli::add_data_command(app);
  elsa::cli::add_tokenizer_command(app);
  elsa::cli::add_pretrain_command(app);
  elsa::cli::add_finetune_command(app);
  elsa::cli::add_model_commands(app);
  elsa::cli::add_run_command(app);
  elsa::cli::add_experiment_command(app);
  elsa::cli::add_launch_command(app);
  elsa::cli::add_node_command(app);
  elsa::cli::add_attack_command(app);
  elsa::cli::add_predict_command(app);
  elsa::cli::add_export_command(app);
  if (const auto problem = command_problem(app, argc, argv); !problem.empty()) {
    fmt::print(stderr, "elsa: error: {}\n", problem);
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
      return app.exit(e); // --help
    const auto path = command_path(app);
    fmt::print(stderr, "elsa: error: {}: {} (see `{} --help`)\n", path, elsa::cli::one_line(e.what()), path);
    return 1;
  } catch (const elsa::cli::exit_status& e) {
    return e.code;
  } catch (const elsa::error& e) {
    const bool bug = e.code() == elsa::errc::internal;
    fmt::print(stderr, "elsa: {}error: {}\n", bug ? "internal " : "", elsa::cli::one_line(e.what()));
    return bug ? 2 : 1;
  } catch (const std::filesystem::filesystem_error& e) {
    fmt::print(stderr, "elsa: error: {}\n", elsa::cli::one_line(e.what())); // names the path
    return 1;
  } catch (const std::exception& e) {
    // A bug, not bad input: the first line only (a LibTorch message continues with a stack trace).
    const std::string what = e.what();
    fmt::print(stderr, "elsa: internal error: {}\n", what.substr(0, what.find('\n')));
    return 2;
  }
  return 0;
}
