// TOML readers for configs/pretrain.toml and configs/finetune*.toml, strict about unknown keys, types and
// ranges, plus the learning-rate schedule. No torch here, so changing a key does not recompile LibTorch code.
#include "core/train/finetune.hpp"
#include "core/train/pretrain.hpp"

#include <cmath>
#include <functional>
#include <map>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/errors.hpp"

namespace elsa::train {

namespace {

// Reads one [section] of a TOML file; every key must be claimed by a get_*() call, else check_done()
// reports the first unknown one.
class section_reader {
public:
  section_reader(const std::filesystem::path& file, const toml::table& root, std::string name)
      : file_(file.string()), name_(std::move(name)) {
    if (auto* node = root.get(name_)) {
      table_ = node->as_table();
      if (table_ == nullptr)
        fail("", "must be a table ([" + name_ + "])");
    }
  }

  void get(const char* key, int64_t& out, int64_t lo, int64_t hi) {
    if (auto* n = take(key)) {
      auto v = n->value<int64_t>();
      if (!v || !n->is_integer())
        fail(key, fmt::format("must be an integer in {}..{}", lo, hi));
      if (*v < lo || *v > hi)
        fail(key, fmt::format("= {} is out of range; allowed {}..{}", *v, lo, hi));
      out = *v;
    }
  }
  void get(const char* key, uint64_t& out) {
    int64_t v = static_cast<int64_t>(out);
    get(key, v, 0, std::numeric_limits<int64_t>::max());
    out = static_cast<uint64_t>(v);
  }
  void get(const char* key, double& out, double lo, double hi) {
    if (auto* n = take(key)) {
      auto v = n->value<double>();
      if (!v || !(n->is_floating_point() || n->is_integer()))
        fail(key, fmt::format("must be a number in [{}, {}]", lo, hi));
      if (!(*v >= lo && *v <= hi))
        fail(key, fmt::format("= {} is out of range; allowed [{}, {}]", *v, lo, hi));
      out = *v;
    }
  }
  void get(const char* key, bool& out) {
    if (auto* n = take(key)) {
      if (!n->is_boolean())
        fail(key, "must be true or false");
      out = *n->value<bool>();
    }
  }
  void get(const char* key, std::string& out) {
    if (auto* n = take(key)) {
      if (!n->is_string())
        fail(key, "must be a string");
      out = *n->value<std::string>();
    }
  }
  void get(const char* key, std::filesystem::path& out) {
    std::string s = out.string();
    get(key, s);
    out = s;
  }
  void get(const char* key, std::vector<std::string>& out) {
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

  void check_done() {
    if (table_ == nullptr)
      return;
    for (auto&& [k, v] : *table_)
      if (!claimed_.count(std::string(k.str())))
        fail(std::string(k.str()), "is not a known key of this section (check the spelling; see configs/)");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw error(errc::invalid_argument,
                fmt::format("{}: [{}]{}{} {}", file_, name_, key.empty() ? "" : " ", key, what));
  }

private:
  const toml::node* take(const char* key) {
    claimed_[key] = true;
    return table_ == nullptr ? nullptr : table_->get(key);
  }

  std::string file_;
  std::string name_;
  const toml::table* table_ = nullptr;
  std::map<std::string, bool> claimed_;
};

toml::table parse(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw error(errc::file_not_found, fmt::format("{}: config file not found", path.string()));
  try {
    return toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    throw error(errc::malformed_input, fmt::format("{}:{}: not valid TOML: {}", path.string(),
                                                   e.source().begin.line, e.description()));
  }
}

void check_sections(const std::filesystem::path& path, const toml::table& root,
                    std::initializer_list<const char*> allowed) {
  for (auto&& [k, v] : root) {
    bool ok = false;
    for (const char* a : allowed)
      ok = ok || k.str() == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed)
        list += std::string(list.empty() ? "" : ", ") + "[" + a + "]";
      throw error(errc::invalid_argument, fmt::format("{}: unknown section or key '{}'; allowed sections: {}",
                                                      path.string(), k.str(), list));
    }
  }
}

} // namespace

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

double learning_rate(const pretrain_config& cfg, int64_t step, double elapsed_seconds) {
  if (step < cfg.warmup_steps)
    return cfg.lr * static_cast<double>(step + 1) / static_cast<double>(cfg.warmup_steps);
  const double span = static_cast<double>(std::max<int64_t>(1, cfg.steps - cfg.warmup_steps));
  double progress = std::min(1.0, static_cast<double>(step - cfg.warmup_steps) / span);
  if (cfg.max_minutes > 0)
    progress = std::max(progress, std::min(1.0, elapsed_seconds / (60.0 * cfg.max_minutes)));
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
