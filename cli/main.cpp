// The `elsa` program: one binary, one subcommand per job (data, tokenizer, ...). main() only wires the
// subcommands together and turns errors into one clear line on stderr and a non-zero exit code.
#include "cli/commands.hpp"

#include <cstdio>

#include <fmt/core.h>

#include "core/errors.hpp"

int main(int argc, char** argv) {
  CLI::App app{"elsa: split learning + hierarchical federated fine-tuning of language models at the edge"};
  app.require_subcommand(1);
  elsa::cli::add_data_command(app);
  elsa::cli::add_tokenizer_command(app);
  elsa::cli::add_pretrain_command(app);
  elsa::cli::add_finetune_command(app);
  elsa::cli::add_model_commands(app);
  elsa::cli::add_run_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const elsa::error& e) {
    fmt::print(stderr, "elsa: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "elsa: internal error: {}\n", e.what());
    return 2;
  }
  return 0;
}
