// TOML readers for configs/pretrain.toml and configs/finetune*.toml, strict about unknown keys, types and
// ranges, plus the learning-rate schedule. No torch here, so changing a key does not recompile LibTorch code.
#include "core/train/finetune.hpp"
#include "core/train/pretrain.hpp"

#include <cmath>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/toml_reader.hpp"

namespace elsa::train {

using toml_config::check_sections;
using toml_config::parse;
using toml_config::section_reader;

pretrain_config read_pretrain_config(const std::filesystem::path& path) {
  const auto root = parse(path);
  check_sections(path, root, {"paths", "model", "train"});
  pretrain_config c;
  section_reader p(path, root, "paths");
  p.get("data_dir", c.data_dir);
  p.get("tokenizer_dir", c.tokenizer_dir);
  p.get("out_dir", c.out_dir);
  p.get("run_dir", c.run_dir);
  p.check_done();
  section_reader m(path, root, "model");
  m.get("n_layer", c.model.n_layer, 1, 48);
  m.get("n_head", c.model.n_head, 1, 64);
  m.get("n_embd", c.model.n_embd, 8, 4096);
  m.get("n_positions", c.model.n_positions, 8, 4096);
  m.get("n_inner", c.model.n_inner, 0, 16384);
  m.get("dropout", c.model.dropout, 0.0, 0.9);
  m.check_done();
  if (c.model.n_embd % c.model.n_head != 0)
    m.fail("n_embd", fmt::format("= {} must be a multiple of n_head = {}", c.model.n_embd, c.model.n_head));
  section_reader t(path, root, "train");
  t.get("steps", c.steps, 1, 10'000'000);
  t.get("batch_size", c.batch_size, 1, 4096);
  t.get("warmup_steps", c.warmup_steps, 0, 10'000'000);
  t.get("lr", c.lr, 1e-7, 1.0);
  t.get("min_lr", c.min_lr, 0.0, 1.0);
  t.get("weight_decay", c.weight_decay, 0.0, 10.0);
  t.get("beta1", c.beta1, 0.0, 0.9999);
  t.get("beta2", c.beta2, 0.0, 0.99999);
  t.get("grad_clip", c.grad_clip, 0.0, 1e6);
  t.get("eval_every", c.eval_every, 1, 10'000'000);
  t.get("eval_tokens", c.eval_tokens, 128, 1'000'000'000);
  t.get("final_eval_tokens", c.final_eval_tokens, 0, 1'000'000'000);
  t.get("max_minutes", c.max_minutes, 0.0, 1e6);
  t.get("checkpoint_every", c.checkpoint_every, 1, 10'000'000);
  t.get("log_every", c.log_every, 1, 1'000'000);
  t.get("threads", c.threads, 1, 256);
  t.get("seed", c.seed);
  t.check_done();
  if (c.min_lr > c.lr)
    t.fail("min_lr", fmt::format("= {} must not exceed lr = {}", c.min_lr, c.lr));
  if (c.warmup_steps >= c.steps)
    t.fail("warmup_steps", fmt::format("= {} must be below steps = {}", c.warmup_steps, c.steps));
  return c;
}

double learning_rate(const pretrain_config& cfg, int64_t step) {
  if (step < cfg.warmup_steps)
    return cfg.lr * static_cast<double>(step + 1) / static_cast<double>(cfg.warmup_steps);
  const double span = static_cast<double>(std::max<int64_t>(1, cfg.steps - cfg.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - cfg.warmup_steps) / span);
  return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + std::cos(M_PI * progress));
}

void validate(const finetune_config& c) {
  auto range = [](const char* key, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi))
      throw error(errc::invalid_argument, fmt::format("finetune: {} = {} is out of range; allowed [{}, {}]", key, v, lo, hi));
  };
  range("epochs", static_cast<double>(c.epochs), 1, 1000);
  range("batch_size", static_cast<double>(c.batch_size), 1, 4096);
  range("lr", c.lr, 1e-7, 1.0);
  range("max_len", static_cast<double>(c.max_len), 2, 4096);
  range("max_train", static_cast<double>(c.max_train), 1, 1e9);
  range("max_eval", static_cast<double>(c.max_eval), 1, 1e9);
  range("threads", static_cast<double>(c.threads), 1, 256);
  c.lora.validate();
}

finetune_config read_finetune_config(const std::filesystem::path& path) {
  const auto root = parse(path);
  check_sections(path, root, {"paths", "task", "lora", "train"});
  finetune_config c;
  section_reader p(path, root, "paths");
  p.get("data_dir", c.data_dir);
  p.get("model_dir", c.model_dir);
  p.get("out_dir", c.out_dir);
  p.check_done();
  section_reader k(path, root, "task");
  k.get("name", c.task);
  k.check_done();
  section_reader l(path, root, "lora");
  l.get("rank", c.lora.rank, 1, 1024);
  l.get("alpha", c.lora.alpha, 1e-6, 1e6);
  l.get("dropout", c.lora.dropout, 0.0, 0.9);
  l.get("targets", c.lora.targets);
  l.check_done();
  section_reader t(path, root, "train");
  t.get("epochs", c.epochs, 1, 1000);
  t.get("batch_size", c.batch_size, 1, 4096);
  t.get("lr", c.lr, 1e-7, 1.0);
  t.get("weight_decay", c.weight_decay, 0.0, 10.0);
  t.get("warmup_steps", c.warmup_steps, 0, 1'000'000);
  t.get("grad_clip", c.grad_clip, 0.0, 1e6);
  t.get("max_len", c.max_len, 2, 4096);
  t.get("append_eot", c.append_eot);
  t.get("max_train", c.max_train, 1, 1'000'000'000);
  t.get("max_eval", c.max_eval, 1, 1'000'000'000);
  t.get("train_base", c.train_base);
  t.get("threads", c.threads, 1, 256);
  t.get("seed", c.seed);
  t.check_done();
  try {
    c.lora.validate();
  } catch (const error& e) {
    throw error(e.code(), fmt::format("{}: {}", path.string(), e.what()));
  }
  return c;
}

} // namespace elsa::train
