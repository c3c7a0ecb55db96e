// Held-out scoring of adapter sets (see evaluator.hpp).
#include "core/fed/evaluator.hpp"

#include <random>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/fed/lora_model.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "core/train/classify.hpp"

namespace elsa::fed {

namespace {

struct task_eval {
  std::string name;  // as in [data] tasks: its head's name in adapter sets (adapters.hpp)
  int64_t num_labels = 2;
  std::vector<train::encoded> validation, test;
  model::Classifier classifier{nullptr};
};

} // namespace

struct evaluator::impl {
  base_ptr base;
  model::GPT2 model{nullptr};                 // base->module()
  std::unique_ptr<model::adapter_bank> bank;  // every block: the adapter set being scored
  std::vector<task_eval> tasks;
  int32_t pad = 0;
};

evaluator::evaluator(const run::run_config& cfg, const federation_data& data, const text::bpe_tokenizer& tok,
                     base_ptr base)
  : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  s.pad = tok.eot_id();
  s.base = std::move(base);
  s.model = s.base->module();
  s.bank = make_bank(*s.base, cfg, block_range(0, s.model->n_layer()));
  std::mt19937_64 rng(cfg.seed ^ 0xe7a1ULL);
  for (std::size_t i = 0; i < data.tasks.size(); ++i) {
    const auto& td = *data.tasks[i];
    task_eval te;
    te.name = td.name;
    te.num_labels = data.num_labels(i);
    te.validation = train::encode_examples(tok, train::subsample(td.validation, cfg.eval_examples, rng),
                                           cfg.max_len, true);
    const int64_t n_test = cfg.test_examples > 0 ? cfg.test_examples : static_cast<int64_t>(td.test.size());
    te.test = train::encode_examples(tok, train::subsample(td.test, n_test, rng), cfg.max_len, true);
    te.classifier = model::Classifier(s.model->config().n_embd, te.num_labels);
    s.tasks.push_back(std::move(te));
  }
}

evaluator::~evaluator() = default;

score evaluator::evaluate(std::size_t task_index, const adapter_set& adapters, held_out which) {
  auto& s = *impl_;
  if (task_index >= s.tasks.size())
    throw error(errc::invalid_argument, fmt::format("evaluate: no task {}", task_index));
  auto& te = s.tasks[task_index];
  // A cluster's set may hold the heads of several tasks: the LoRA and this task's head are scored.
  model::load_lora_state(*s.bank, from_wire(for_task(adapters, te.name)), te.classifier, "adapters to evaluate");
  const auto r = train::evaluate_classifier(s.model, te.classifier,
                                            which == held_out::validation ? te.validation : te.test,
                                            te.num_labels, s.pad, s.bank.get());
  return {r.accuracy, r.macro_f1, r.loss, r.count};
}

} // namespace elsa::fed
