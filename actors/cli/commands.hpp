// Subcommands of the `elsa` program. Each add_*_command registers one CLI11 subcommand (with its options
// and callback) on the top-level app; main() wires them explicitly, in the order `elsa --help` lists them.
#pragma once

#include <CLI/CLI.hpp>

namespace elsa::cli {

/// `elsa data stats`: per-task split counts and per-client partition counts.
void add_data_command(CLI::App& app);

/// `elsa tokenizer encode|decode|train`.
void add_tokenizer_command(CLI::App& app);

} // namespace elsa::cli
