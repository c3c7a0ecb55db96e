// The pre-training loop: random windows of the corpus token stream, AdamW with decoupled weight decay on
// matrices only, warm-up + cosine learning rate, gradient clipping, held-out perplexity, checkpoint/resume.
#include "core/train/pretrain.hpp"

#include <chrono>
#include <fstream>
#include <ostream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/data/corpus.hpp"
#include "core/errors.hpp"
#include "core/model/model_dir.hpp"
#include "core/train/tokens.hpp"
#include "core/train/windows.hpp"

namespace elsa::train {

namespace fs = std::filesystem;

namespace {

using clock_type = std::chrono::steady_clock;

std::string duration_text(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600)
    return fmt::format("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}m{:02}s", s / 60, s % 60);
}

// Mean next-token NLL over the windows eval_windows() picks from `stream`.
double heldout_nll(model::GPT2& model, const std::vector<int32_t>& stream, int64_t T, int64_t max_tokens,
                   int64_t batch, int64_t* counted) {
  torch::NoGradGuard no_grad;
  model->eval();
  const auto starts = eval_windows(static_cast<int64_t>(stream.size()), T, max_tokens);
  const auto windows = static_cast<int64_t>(starts.size());
  double total = 0;
  int64_t count = 0;
  for (int64_t w0 = 0; w0 < windows; w0 += batch) {
    const int64_t nb = std::min(batch, windows - w0);
    auto buf = window_batch(stream, starts, w0, nb, T);
    auto x = buf.slice(1, 0, T), y = buf.slice(1, 1, T + 1);
    auto logits = model->forward(x);
    auto loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), y.reshape(-1),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    total += loss.item<double>();
    count += nb * T;
  }
  model->train();
  if (counted)
    *counted = count;
  return count > 0 ? total / static_cast<double>(count) : 0.0;
}

struct run_state {
  int64_t step = 0;
  int64_t tokens_seen = 0;
  double train_seconds = 0; // wall time spent in earlier runs (resume adds to it)
  double last_heldout_ppl = 0;
};

void save_checkpoint(const fs::path& run_dir, model::GPT2& model, torch::optim::AdamW& opt, const run_state& st) {
  const auto tmp = run_dir / "checkpoint.tmp";
  const auto dst = run_dir / "checkpoint";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  model::write_safetensors(tmp / "model.safetensors", model::base_state(model));
  torch::save(opt, (tmp / "optimizer.pt").string());
  nlohmann::json j = {{"step", st.step},
                      {"tokens_seen", st.tokens_seen},
                      {"train_seconds", st.train_seconds},
                      {"last_heldout_ppl", st.last_heldout_ppl}};
  std::ofstream(tmp / "state.json") << j.dump(2) << "\n";
  // Swap in the complete folder: the old one is moved aside first, so a kill at any point leaves a complete
  // checkpoint (checkpoint/, or checkpoint.old/ which load_checkpoint falls back to).
  const auto old = run_dir / "checkpoint.old";
  fs::remove_all(old);
  if (fs::exists(dst))
    fs::rename(dst, old);
  fs::rename(tmp, dst);
  fs::remove_all(old);
}

run_state load_checkpoint(const fs::path& run_dir, model::GPT2& model, torch::optim::AdamW& opt) {
  auto dir = run_dir / "checkpoint";
  if (!fs::exists(dir / "state.json") && fs::exists(run_dir / "checkpoint.old" / "state.json"))
    dir = run_dir / "checkpoint.old";  // killed between the two renames of save_checkpoint
  auto data = model::read_safetensors(dir / "model.safetensors");
  model::load_base_state(model, data.tensors, (dir / "model.safetensors").string());
  torch::load(opt, (dir / "optimizer.pt").string());
  std::ifstream in(dir / "state.json");
  if (!in)
    throw error(errc::file_not_found, fmt::format("{}: missing; the checkpoint is incomplete", (dir / "state.json").string()));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw error(errc::malformed_input, fmt::format("{}: {}", (dir / "state.json").string(), e.what()));
  }
  run_state st;
  st.step = j.at("step").get<int64_t>();
  st.tokens_seen = j.at("tokens_seen").get<int64_t>();
  st.train_seconds = j.at("train_seconds").get<double>();
  st.last_heldout_ppl = j.value("last_heldout_ppl", 0.0);
  return st;
}

std::vector<int32_t> cached_stream(const fs::path& cache, const text::bpe_tokenizer& tok, uint64_t hash,
                                   const std::vector<std::string>& docs, int64_t threads) {
  auto tokens = read_token_cache(cache, hash);
  if (tokens.empty()) {
    tokens = tokenize_documents(tok, docs, threads);
    write_token_cache(cache, hash, tokens);
  }
  return tokens;
}

} // namespace

pretrain_outcome run_pretrain(const pretrain_config& cfg_in, bool resume, std::ostream& log, int64_t stop_after) {
  pretrain_config cfg = cfg_in;
  torch::set_num_threads(static_cast<int>(cfg.threads));
  const auto t_start = clock_type::now();
  if (!fs::exists(cfg.tokenizer_dir / "vocab.json") || !fs::exists(cfg.tokenizer_dir / "merges.txt"))
    throw error(
      errc::file_not_found,
      fmt::format("pretrain: [paths] tokenizer_dir = \"{}\": no vocab.json and merges.txt in {}; make them "
                  "with `elsa tokenizer train --vocab-size 8192 --out {}` (relative paths are taken from the "
                  "current directory)",
                  cfg.tokenizer_dir.string(), fs::absolute(cfg.tokenizer_dir).lexically_normal().string(),
                  cfg.tokenizer_dir.string()));
  const auto tok = load_tokenizer(cfg.tokenizer_dir);
  std::error_code ec;
  fs::create_directories(cfg.run_dir, ec);
  if (ec)
    throw error(errc::io_error,
                fmt::format("pretrain: [paths] run_dir = \"{}\": cannot create the folder ({})",
                            cfg.run_dir.string(), ec.message()));

  const uint64_t hash = vocabulary_hash(tok);
  const auto train_cache = cfg.run_dir / "train_tokens.bin";
  const auto heldout_cache = cfg.run_dir / "heldout_tokens.bin";
  token_streams streams;
  streams.vocab_size = static_cast<int64_t>(tok.vocab_size());
  streams.eot_id = tok.eot_id();
  streams.train = read_token_cache(train_cache, hash);
  streams.heldout = read_token_cache(heldout_cache, hash);
  if (streams.train.empty() || streams.heldout.empty()) {
    log << "tokenising the corpus (cached in " << cfg.run_dir.string() << ") ..." << std::endl;
    streams.train = cached_stream(train_cache, tok, hash, data::pretraining_corpus(cfg.data_dir), cfg.threads);
    streams.heldout = cached_stream(heldout_cache, tok, hash, data::lm_heldout(cfg.data_dir), cfg.threads);
  }
  const double prep_seconds = std::chrono::duration<double>(clock_type::now() - t_start).count();
  log << fmt::format("corpus: {} training tokens, {} held-out tokens, vocabulary {} (prepared in {:.1f} s)\n",
                     streams.train.size(), streams.heldout.size(), tok.vocab_size(), prep_seconds);
  const auto outcome = pretrain_on(cfg, streams, resume, log, stop_after);
  if (outcome.completed &&
      (!fs::exists(cfg.out_dir / "vocab.json") || !fs::equivalent(cfg.out_dir, cfg.tokenizer_dir))) {
    fs::copy_file(cfg.tokenizer_dir / "vocab.json", cfg.out_dir / "vocab.json", fs::copy_options::overwrite_existing);
    fs::copy_file(cfg.tokenizer_dir / "merges.txt", cfg.out_dir / "merges.txt", fs::copy_options::overwrite_existing);
  }
  return outcome;
}

pretrain_outcome pretrain_on(const pretrain_config& cfg_in, const token_streams& streams, bool resume,
                             std::ostream& log, int64_t stop_after) {
  pretrain_config cfg = cfg_in;
  torch::set_num_threads(static_cast<int>(cfg.threads));
  cfg.model.vocab_size = streams.vocab_size;
  cfg.model.validate();
  const int64_t T = cfg.model.n_positions;
  const auto& train = streams.train;
  const auto& heldout = streams.heldout;
  fs::create_directories(cfg.run_dir);
  if (static_cast<int64_t>(train.size()) < 2 * (T + 1))
    throw error(errc::invalid_argument, fmt::format("pretrain: the corpus has only {} tokens", train.size()));

  torch::manual_seed(cfg.seed);
  model::GPT2 model(cfg.model);
  model->train();
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model->parameters())
    (p.dim() >= 2 ? decay : no_decay).push_back(p);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto opts = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(cfg.lr).betas({cfg.beta1, cfg.beta2}).weight_decay(wd).eps(1e-8));
  };
  groups.emplace_back(decay, opts(cfg.weight_decay));
  groups.emplace_back(no_decay, opts(0.0));
  torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(cfg.lr));

  run_state st;
  if (resume && (fs::exists(cfg.run_dir / "checkpoint" / "state.json") ||
                 fs::exists(cfg.run_dir / "checkpoint.old" / "state.json"))) {
    st = load_checkpoint(cfg.run_dir, model, opt);
    log << fmt::format("resumed from {} at step {} ({} tokens seen)\n", (cfg.run_dir / "checkpoint").string(),
                       st.step, st.tokens_seen);
  } else if (resume) {
    log << "no checkpoint in " << cfg.run_dir.string() << "; starting from scratch\n";
  }
  log << fmt::format("model: {} layers, {} heads, n_embd {}, n_positions {}, {} parameters; {} steps x {} x {} "
                     "tokens, {} threads\n",
                     cfg.model.n_layer, cfg.model.n_head, cfg.model.n_embd, T, cfg.model.parameter_count(),
                     cfg.steps, cfg.batch_size, T, cfg.threads);
  log.flush();

  std::ofstream metrics(cfg.run_dir / "metrics.jsonl", std::ios::app);
  const int64_t n = static_cast<int64_t>(train.size());
  const auto params = model->parameters();
  auto interval_start = clock_type::now();
  auto session_start = clock_type::now();
  int64_t interval_tokens = 0;
  double interval_loss = 0;
  int64_t interval_steps = 0;
  double step_seconds_total = 0; // training steps only (no evaluation), for the ETA
  int64_t steps_timed = 0;
  const double base_seconds = st.train_seconds;
  auto elapsed = [&] {
    return base_seconds + std::chrono::duration<double>(clock_type::now() - session_start).count();
  };

  bool out_of_time = false;
  while (st.step < cfg.steps && !out_of_time) {
    const auto t0 = clock_type::now();
    const double lr = learning_rate(cfg, st.step);
    for (auto& g : opt.param_groups())
      static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    // Each step's windows come from its own seeded generator, so a resumed run sees the same batches.
    std::mt19937_64 rng(cfg.seed * 1000003ull + static_cast<uint64_t>(st.step));
    std::uniform_int_distribution<int64_t> pick(0, n - T - 2);
    auto buf = torch::empty({cfg.batch_size, T + 1}, torch::kLong);
    auto acc = buf.accessor<int64_t, 2>();
    for (int64_t b = 0; b < cfg.batch_size; ++b) {
      const int64_t off = pick(rng);
      for (int64_t t = 0; t <= T; ++t)
        acc[b][t] = train[static_cast<size_t>(off + t)];
    }
    auto x = buf.slice(1, 0, T), y = buf.slice(1, 1, T + 1);
    opt.zero_grad();
    auto logits = model->forward(x);
    auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), y.reshape(-1));
    loss.backward();
    if (cfg.grad_clip > 0)
      torch::nn::utils::clip_grad_norm_(params, cfg.grad_clip);
    opt.step();
    const double loss_v = loss.item<double>();
    if (!std::isfinite(loss_v))
      throw error(errc::invalid_argument,
                  fmt::format("pretrain: loss became {} at step {}; lower [train] lr", loss_v, st.step));
    ++st.step;
    st.tokens_seen += cfg.batch_size * T;
    interval_tokens += cfg.batch_size * T;
    interval_loss += loss_v;
    ++interval_steps;
    step_seconds_total += std::chrono::duration<double>(clock_type::now() - t0).count();
    ++steps_timed;

    // The wall-clock budget and stop_after end this invocation at a checkpoint; the schedule is unaffected.
    const double session_seconds = std::chrono::duration<double>(clock_type::now() - session_start).count();
    out_of_time = (cfg.max_minutes > 0 && session_seconds > 60.0 * cfg.max_minutes) ||
                  (stop_after > 0 && st.step >= stop_after);
    const bool last = st.step == cfg.steps || out_of_time;
    if (st.step % cfg.log_every == 0 || last) {
      const double dt = std::chrono::duration<double>(clock_type::now() - interval_start).count();
      const double frac = static_cast<double>(st.step) / static_cast<double>(cfg.steps);
      const int width = 24;
      const int filled = static_cast<int>(frac * width);
      const double per_step = step_seconds_total / static_cast<double>(steps_timed);
      const int64_t left = cfg.steps - st.step;
      // ETA includes the evaluations still to come, costed like the training steps they resemble.
      const double eval_share = static_cast<double>(cfg.eval_tokens) / static_cast<double>(cfg.batch_size * T) / 3.0;
      const double evals_left = static_cast<double>(left / cfg.eval_every + 1);
      double eta = per_step * (static_cast<double>(left) + evals_left * eval_share);
      log << fmt::format("[{}{}] {:3.0f}% step {}/{} | loss {:.4f} | lr {:.2e} | {:.0f} tok/s | {} elapsed | ETA {}\n",
                         std::string(static_cast<size_t>(filled), '#'), std::string(static_cast<size_t>(width - filled), '.'),
                         100.0 * frac, st.step, cfg.steps, interval_loss / static_cast<double>(interval_steps), lr,
                         static_cast<double>(interval_tokens) / dt, duration_text(elapsed()), duration_text(eta));
      log.flush();
      interval_start = clock_type::now();
      interval_tokens = 0;
      interval_loss = 0;
      interval_steps = 0;
    }
    if (st.step % cfg.eval_every == 0 || last) {
      const auto e0 = clock_type::now();
      int64_t counted = 0;
      const double nll = heldout_nll(model, heldout, T, cfg.eval_tokens, 16, &counted);
      st.last_heldout_ppl = std::exp(nll);
      log << fmt::format("eval step {}: held-out perplexity {:.2f} (nll {:.4f} over {} tokens, {:.1f} s)\n", st.step,
                         st.last_heldout_ppl, nll, counted,
                         std::chrono::duration<double>(clock_type::now() - e0).count());
      metrics << nlohmann::json{{"step", st.step}, {"tokens_seen", st.tokens_seen}, {"heldout_nll", nll},
                                {"heldout_ppl", st.last_heldout_ppl}, {"lr", lr}, {"seconds", elapsed()}}
                     .dump()
              << "\n";
      metrics.flush();
      interval_start = clock_type::now();
    }
    if (st.step % cfg.checkpoint_every == 0 || last) {
      st.train_seconds = elapsed();
      save_checkpoint(cfg.run_dir, model, opt, st);
    }
  }

  if (st.step < cfg.steps) {
    log << fmt::format("stopped at step {} of {} ({}); the checkpoint is in {}: continue with --resume\n", st.step,
                       cfg.steps,
                       stop_after > 0 && st.step >= stop_after ? fmt::format("--stop-after {}", stop_after)
                                                                : fmt::format("[train] max_minutes = {}", cfg.max_minutes),
                       (cfg.run_dir / "checkpoint").string());
    return {st.step, false};
  }
  // Final: a larger evaluation than the periodic ones (the same windows `elsa eval-lm` scores by default).
  int64_t counted = 0;
  const double nll = heldout_nll(model, heldout, T, cfg.final_eval_tokens, 16, &counted);
  st.train_seconds = elapsed();
  model::save_model(cfg.out_dir, model, streams.eot_id);
  nlohmann::ordered_json summary = {
      {"steps", st.step},
      {"planned_steps", cfg.steps},
      {"tokens_seen", st.tokens_seen},
      {"train_wall_seconds", st.train_seconds},
      {"batch_size", cfg.batch_size},
      {"n_positions", T},
      {"parameters", cfg.model.parameter_count()},
      {"train_corpus_tokens", train.size()},
      {"heldout_tokens", counted},
      {"heldout_nll", nll},
      {"heldout_perplexity", std::exp(nll)},
      {"threads", cfg.threads},
  };
  std::ofstream(cfg.run_dir / "summary.json") << summary.dump(2) << "\n";
  log << fmt::format("done: {} steps, {} tokens seen, {} training wall time; held-out perplexity {:.2f} over {} "
                     "tokens; model written to {}\n",
                     st.step, st.tokens_seen, duration_text(st.train_seconds), std::exp(nll), counted,
                     cfg.out_dir.string());
  return {st.step, true};
}

} // namespace elsa::train
