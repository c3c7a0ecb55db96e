// `elsa generate --model DIR --prompt TEXT --max-new N [--greedy | --top-k K --seed S]` and
// `elsa eval-lm --model DIR`: what a user runs to see what a base model learned. No torch header here.
#include "cli/commands.hpp"

#include <iostream>
#include <limits>
#include <memory>

#include <fmt/core.h>

#include "cli/support.hpp"
#include "core/train/lm_tools.hpp"

namespace elsa::cli {

void add_model_commands(CLI::App& app) {
  auto gen = std::make_shared<train::generate_options>();
  auto gen_model = std::make_shared<std::string>("models/elsa-base");
  auto* g = app.add_subcommand("generate", "continue a prompt with a model directory");
  g->add_option("--model", *gen_model, "model directory")->capture_default_str();
  g->add_option("--prompt", gen->prompt, "text to continue")->required();
  g->add_option("--max-new", gen->max_new, "tokens to generate at most")
    ->capture_default_str()
    ->check(int_range(0, 100000));
  g->add_flag("--greedy", gen->greedy, "always take the most likely token")->default_str("off");
  g->add_option("--top-k", gen->top_k, "sample from the k most likely tokens")
    ->capture_default_str()
    ->check(int_range(1, int64_t{1} << 20));
  g->add_option("--temperature", gen->temperature, "softmax temperature for sampling")
    ->capture_default_str()
    ->check(real_range(0.0, 1e6, true));
  g->add_option("--seed", gen->seed, "sampling seed")->capture_default_str();
  g->callback([gen, gen_model] {
    require_folder("--model", *gen_model, "name a model folder (the repository ships models/elsa-base)");
    std::cout << train::generate(*gen_model, *gen) << std::endl;
  });

  struct eval_options {
    std::string model = "models/elsa-base";
    std::string data_dir = "data";
    int64_t max_tokens = 262144;
    int64_t threads = 2;
  };
  auto ev = std::make_shared<eval_options>();
  auto* e = app.add_subcommand("eval-lm", "held-out perplexity of a model next to an add-one unigram baseline");
  e->add_option("--model", ev->model, "model directory")->capture_default_str();
  e->add_option("--data-dir", ev->data_dir, "folder filled by scripts/fetch_data.sh")->capture_default_str();
  e->add_option("--max-tokens", ev->max_tokens, "held-out tokens scored, in evenly spread windows (0 = all)")
    ->capture_default_str()
    ->check(int_range(0, std::numeric_limits<int64_t>::max()));
  e->add_option("--threads", ev->threads, "torch threads")->capture_default_str()->check(int_range(1, 256));
  e->callback([ev] {
    require_folder("--model", ev->model, "name a model folder (the repository ships models/elsa-base)");
    require_folder("--data-dir", ev->data_dir,
                   "scripts/fetch_data.sh fetches the data sets into data/ at the "
                   "repository root");
    const auto r = train::evaluate_lm(ev->model, ev->data_dir, ev->max_tokens, ev->threads);
    fmt::print("held-out text: {} documents (validation splits of the four tasks), {} tokens scored\n", r.documents,
               r.tokens);
    fmt::print("| model | held-out perplexity |\n|---|---|\n| {} | {:.2f} |\n| unigram (add-one, pre-training corpus) | "
               "{:.2f} |\n",
               ev->model, r.model_perplexity, r.unigram_perplexity);
  });
}

} // namespace elsa::cli
