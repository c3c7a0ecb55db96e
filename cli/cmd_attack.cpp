// `elsa attack invert --run RUN`: the inversion attack of an honest-but-curious edge on the activations a
// run captured ([privacy] capture = N), core/attack/inversion.hpp. Writes RUN/attack.json; prints a table
// (or, with --json, the report) on stdout and progress on stderr.
#include "cli/commands.hpp"

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/support.hpp"
#include "core/attack/inversion.hpp"
#include "core/files.hpp"

namespace elsa::cli {

void add_attack_command(CLI::App& app) {
  struct options {
    std::string run;
    attack::invert_options invert;
    bool json = false;
    bool quiet = false;
  };
  auto o = std::make_shared<options>();
  auto* attack = app.add_subcommand("attack", "attacks on what a run sent over the network (docs/privacy.md)");
  attack->require_subcommand(1);
  auto* inv = attack->add_subcommand(
    "invert", "an honest-but-curious edge inverts the head activations it captured back to tokens; writes RUN/attack.json");
  inv->add_option("--run", o->run, "run directory of a run with [privacy] capture > 0")->required();
  inv->add_option("--public-tokens", o->invert.public_tokens, "public text tokens the inverters train on")
    ->capture_default_str()
    ->check(int_range(1000, 100000000));
  inv->add_option("--epochs", o->invert.epochs, "passes over the public tokens")->capture_default_str()->check(int_range(1, 1000));
  inv->add_option("--hidden", o->invert.hidden, "hidden width of the MLP inverter")->capture_default_str()->check(int_range(1, 65536));
  inv->add_option("--lr", o->invert.lr, "Adam learning rate")->capture_default_str()->check(real_range(0.0, 1.0, true));
  inv->add_option("--seed", o->invert.seed, "seed of the public sample, the inverters' init and the simulated noise")
    ->capture_default_str();
  inv->add_option("--threads", o->invert.threads, "torch threads")->capture_default_str()->check(int_range(1, 256));
  inv->add_flag("--json", o->json, "print RUN/attack.json on stdout instead of the table")->default_str("off");
  inv->add_flag("--quiet", o->quiet, "no progress lines on stderr")->default_str("off");
  inv->callback([o] {
    require_folder("--run", o->run, "name the run directory of a run with [privacy] capture > 0");
    const auto r = attack::invert_run(o->run, o->invert, o->quiet ? nullptr : &std::cerr);
    const auto j = r.to_json();
    const auto path = std::filesystem::path(o->run) / "attack.json";
    write_file_atomically(path, j.dump(2) + "\n");
    if (o->json) {
      std::cout << j.dump(2) << std::endl;
      return;
    }
    fmt::print("inversion of {} ({} of {} captured batches scored, {} tokens; SS-OP {}):\n", o->run, r.scored_batches,
               r.captured_batches, r.scored_tokens,
               r.ssop ? fmt::format("k = {}, sigma = {}", r.ssop_k, r.ssop_sigma) : std::string("off"));
    fmt::print("| guess | token accuracy | ROUGE-L |\n|---|---|---|\n");
    for (const auto& i : r.inverters)
      fmt::print("| {} inverter{} | {:.4f} | {:.4f} |\n", i.name, i.name == r.best ? " (best on public text)" : "",
                 i.token_accuracy, i.rouge_l);
    fmt::print("| unigram (most frequent public token) | {:.4f} | {:.4f} |\n", r.unigram_token_accuracy, r.unigram_rouge_l);
    fmt::print("wrote {}\n", path.string());
  });
}

} // namespace elsa::cli
