// Centralised fine-tuning: task examples -> tokens (truncated, <|endoftext|> appended as the token whose
// hidden state the classifier reads), length-bucketed padded batches, AdamW on adapters + head, evaluation.
#include "core/train/finetune.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <numeric>
#include <ostream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/data/tasks.hpp"
#include "core/errors.hpp"
#include "core/model/model_dir.hpp"
#include "core/train/classify.hpp"
#include "core/train/tokens.hpp"

namespace elsa::train {

namespace {

using clock_type = std::chrono::steady_clock;

} // namespace

finetune_result run_finetune(const finetune_config& cfg, std::ostream& log) {
  return run_finetune(cfg, log, log, {});
}

finetune_result run_finetune(const finetune_config& cfg, std::ostream& log, std::ostream& results,
                             const std::function<void()>& before_write) {
  validate(cfg);
  const auto t_start = clock_type::now();
  torch::set_num_threads(static_cast<int>(cfg.threads));
  const auto task_id = data::task_from_string(cfg.task);
  const auto td = data::load_task(cfg.data_dir, task_id);
  const auto tok = load_tokenizer(cfg.model_dir);
  auto model = model::load_model(cfg.model_dir);
  const int64_t max_len = std::min(cfg.max_len, model->config().n_positions);
  const auto K = static_cast<int64_t>(td.label_names.size());

  torch::manual_seed(cfg.seed);
  model::Classifier cls(model->config().n_embd, K);
  if (!cfg.train_base)
    model->add_lora(cfg.lora);
  model->train();
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters())
    if (p.requires_grad())
      params.push_back(p);
  for (auto& p : cls->parameters())
    params.push_back(p);
  int64_t n_trainable = 0;
  for (auto& p : params)
    n_trainable += p.numel();

  std::mt19937_64 rng(cfg.seed);
  const auto train_all = encode_examples(tok, td.train, max_len, cfg.append_eot);
  const auto validation = encode_examples(tok, subsample(td.validation, cfg.max_eval, rng), max_len, cfg.append_eot);
  const auto test = encode_examples(tok, subsample(td.test, cfg.max_eval, rng), max_len, cfg.append_eot);
  const int64_t per_epoch = std::min<int64_t>(cfg.max_train, static_cast<int64_t>(train_all.size()));
  const int64_t steps_per_epoch = (per_epoch + cfg.batch_size - 1) / cfg.batch_size;
  const int64_t total_steps = steps_per_epoch * cfg.epochs;

  std::vector<int64_t> label_counts(static_cast<size_t>(K));
  for (const auto& e : td.train)
    ++label_counts[static_cast<size_t>(e.label)];
  const auto majority = static_cast<int32_t>(std::max_element(label_counts.begin(), label_counts.end()) - label_counts.begin());
  int64_t majority_hits = 0;
  for (const auto& e : test)
    majority_hits += e.label == majority;

  log << fmt::format("finetune {}: {} labels; train {} (using {} per epoch), validation {}, test {}; max_len {}; "
                     "{} trainable parameters ({}); {} epochs x {} steps\n",
                     cfg.task, K, train_all.size(), per_epoch, validation.size(), test.size(), max_len, n_trainable,
                     cfg.train_base ? "full fine-tuning" : fmt::format("LoRA r={} on {}", cfg.lora.rank, fmt::join(cfg.lora.targets, ",")),
                     cfg.epochs, steps_per_epoch);
  log.flush();

  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay));
  int64_t step = 0;
  eval_result val;
  for (int64_t epoch = 0; epoch < cfg.epochs; ++epoch) {
    const auto epoch_items = subsample(train_all, per_epoch, rng);
    auto batches = bucketed_batches(epoch_items, cfg.batch_size, rng);
    double loss_sum = 0;
    int64_t loss_n = 0, tokens = 0;
    auto t0 = clock_type::now();
    for (const auto& items : batches) {
      const double warm = cfg.warmup_steps > 0 ? std::min(1.0, static_cast<double>(step + 1) / cfg.warmup_steps) : 1.0;
      const double progress = static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, total_steps));
      const double lr = cfg.lr * warm * 0.5 * (1.0 + std::cos(M_PI * progress));
      for (auto& g : opt.param_groups())
        static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      auto b = make_classify_batch(items, tok.eot_id());
      opt.zero_grad();
      auto logits = cls->forward(model->hidden(b.ids, b.mask), b.mask);
      auto loss = torch::nn::functional::cross_entropy(logits, b.labels);
      loss.backward();
      if (cfg.grad_clip > 0)
        torch::nn::utils::clip_grad_norm_(params, cfg.grad_clip);
      opt.step();
      loss_sum += loss.item<double>();
      ++loss_n;
      tokens += b.mask.sum().item<int64_t>();
      ++step;
      if (step % 50 == 0) {
        const double dt = std::chrono::duration<double>(clock_type::now() - t0).count();
        log << fmt::format("  epoch {} step {}/{} | loss {:.4f} | lr {:.2e} | {:.0f} tok/s\n", epoch + 1, step,
                           total_steps, loss_sum / static_cast<double>(loss_n), lr, static_cast<double>(tokens) / dt);
        log.flush();
      }
    }
    val = evaluate_classifier(model, cls, validation, K, tok.eot_id());
    log << fmt::format("epoch {}: train loss {:.4f}, validation accuracy {:.4f}, macro-F1 {:.4f}\n", epoch + 1,
                       loss_n ? loss_sum / static_cast<double>(loss_n) : 0.0, val.accuracy, val.macro_f1);
    log.flush();
  }
  const auto te = evaluate_classifier(model, cls, test, K, tok.eot_id());

  finetune_result r;
  r.validation_accuracy = val.accuracy;
  r.test_accuracy = te.accuracy;
  r.test_macro_f1 = te.macro_f1;
  r.majority_accuracy = test.empty() ? 0.0 : static_cast<double>(majority_hits) / static_cast<double>(test.size());
  r.train_examples = per_epoch;
  r.test_examples = static_cast<int64_t>(test.size());
  r.trainable_parameters = n_trainable;
  r.wall_seconds = std::chrono::duration<double>(clock_type::now() - t_start).count();

  if (before_write)
    before_write();
  std::filesystem::create_directories(cfg.out_dir);
  if (!cfg.train_base)
    model::save_adapters(cfg.out_dir / "adapter", model, cls,
                         std::filesystem::absolute(cfg.model_dir).lexically_normal().string());
  nlohmann::ordered_json j = {
      {"task", cfg.task},
      {"model_dir", cfg.model_dir.string()},
      {"mode", cfg.train_base ? "full" : "lora"},
      {"test_accuracy", r.test_accuracy},
      {"test_macro_f1", r.test_macro_f1},
      {"validation_accuracy", r.validation_accuracy},
      {"majority_test_accuracy", r.majority_accuracy},
      {"labels", td.label_names},
      {"train_examples_available", train_all.size()},
      {"train_examples_per_epoch", per_epoch},
      {"validation_examples", validation.size()},
      {"test_examples", test.size()},
      {"epochs", cfg.epochs},
      {"batch_size", cfg.batch_size},
      {"lr", cfg.lr},
      {"max_len", max_len},
      {"append_eot", cfg.append_eot},
      {"lora_rank", cfg.lora.rank},
      {"lora_alpha", cfg.lora.alpha},
      {"lora_targets", cfg.lora.targets},
      {"trainable_parameters", n_trainable},
      {"threads", cfg.threads},
      {"seed", cfg.seed},
      {"wall_seconds", r.wall_seconds},
  };
  std::ofstream(cfg.out_dir / "summary.json") << j.dump(2) << "\n";

  results << fmt::format(
    "\n| task | test acc | test macro-F1 | val acc | majority | train/epoch | test n | wall |\n"
    "|---|---|---|---|---|---|---|---|\n"
    "| {} | {:.4f} | {:.4f} | {:.4f} | {:.4f} | {} | {} | {:.0f} s |\n",
    cfg.task, r.test_accuracy, r.test_macro_f1, r.validation_accuracy, r.majority_accuracy, per_epoch,
    r.test_examples, r.wall_seconds);
  results << "wrote " << (cfg.out_dir / "summary.json").string()
          << (cfg.train_base ? "" : " and " + (cfg.out_dir / "adapter/").string()) << "\n";
  return r;
}

} // namespace elsa::train
