// The inversion attack (see inversion.hpp).
#include "core/attack/inversion.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <random>

#include <fmt/format.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include "core/data/corpus.hpp"
#include "core/errors.hpp"
#include "core/fed/batch_sampler.hpp"
#include "core/fed/federation_data.hpp"
#include "core/fed/lora_model.hpp"
#include "core/fed/split_client.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "core/privacy/ssop.hpp"
#include "core/run/run_config.hpp"
#include "core/text/tokenizer.hpp"
#include "core/train/tokens.hpp"

namespace elsa::attack {

namespace fs = std::filesystem;

nlohmann::json attack_report::to_json() const {
  nlohmann::json j;
  j["token_accuracy"] = token_accuracy;
  j["rouge_l"] = rouge_l;
  j["best_inverter"] = best;
  j["unigram_token_accuracy"] = unigram_token_accuracy;
  j["unigram_rouge_l"] = unigram_rouge_l;
  j["ssop"] = ssop;
  j["ssop_k"] = ssop_k;
  j["ssop_sigma"] = ssop_sigma;
  j["wire_dtype"] = wire_dtype;
  j["head_blocks"] = head_blocks;
  j["test_accuracy"] = test_accuracy ? nlohmann::json(*test_accuracy) : nlohmann::json();
  j["captured_batches"] = captured_batches;
  j["scored_batches"] = scored_batches;
  j["scored_rows"] = scored_rows;
  j["scored_tokens"] = scored_tokens;
  j["public_tokens"] = public_tokens;
  j["attacker_knows_defence"] = true;
  auto& inv = j["inverters"];
  inv = nlohmann::json::object();
  for (const auto& r : inverters)
    inv[r.name] = {{"token_accuracy", r.token_accuracy},
                   {"rouge_l", r.rouge_l},
                   {"public_accuracy", r.public_accuracy},
                   {"train_seconds", r.train_seconds}};
  return j;
}

double rouge_l(const std::vector<int32_t>& guess, const std::vector<int32_t>& truth) {
  if (guess.empty() || truth.empty())
    return 0.0;
  std::vector<std::size_t> prev(truth.size() + 1, 0), cur(truth.size() + 1, 0);
  for (auto g : guess) {
    for (std::size_t j = 1; j <= truth.size(); ++j)
      cur[j] = g == truth[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  const double lcs = static_cast<double>(prev[truth.size()]);
  if (lcs == 0)
    return 0.0;
  const double p = lcs / static_cast<double>(guess.size());
  const double r = lcs / static_cast<double>(truth.size());
  return 2 * p * r / (p + r);
}

std::optional<std::vector<std::vector<int32_t>>> replay_batch(const std::vector<std::vector<int32_t>>& examples,
                                                              uint64_t seed, std::size_t batch_size,
                                                              std::size_t latest, const std::vector<uint32_t>& lengths) {
  if (examples.empty() || lengths.size() != batch_size)
    return std::nullopt;
  fed::batch_sampler sampler(examples.size(), seed);
  std::optional<std::vector<std::size_t>> best;
  for (std::size_t n = 0; n <= latest; ++n) {
    auto idx = sampler.next(batch_size);
    bool same = true;
    for (std::size_t i = 0; i < batch_size && same; ++i)
      same = examples[idx[i]].size() == lengths[i];
    if (same)
      best = std::move(idx);
  }
  if (!best)
    return std::nullopt;
  std::vector<std::vector<int32_t>> rows;
  for (auto i : *best)
    rows.push_back(examples[i]);
  return rows;
}

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// Public text for the attacker: documents of data::public_corpus in a seeded order, encoded and cut into
// windows of max_len tokens (what a client's row looks like: text from position 0), until `tokens` are in.
std::vector<std::vector<int32_t>> public_windows(const run::run_config& cfg, const text::bpe_tokenizer& tok,
                                                 int64_t tokens, uint64_t seed) {
  auto docs = data::public_corpus(cfg.data_dir);
  std::mt19937_64 rng(seed);
  std::shuffle(docs.begin(), docs.end(), rng);
  std::vector<std::vector<int32_t>> windows;
  int64_t have = 0;
  for (const auto& d : docs) {
    auto ids = tok.encode_ordinary(d);
    for (std::size_t p = 0; p < ids.size() && have < tokens; p += static_cast<std::size_t>(cfg.max_len)) {
      const auto end = std::min(ids.size(), p + static_cast<std::size_t>(cfg.max_len));
      windows.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(p), ids.begin() + static_cast<std::ptrdiff_t>(end));
      have += static_cast<int64_t>(end - p);
    }
    if (have >= tokens)
      break;
  }
  if (have < tokens)
    throw error(errc::invalid_argument,
                fmt::format("the public corpus has {} tokens, fewer than the {} asked for", have, tokens));
  return windows;
}

std::vector<int64_t> flat_ids(const std::vector<std::vector<int32_t>>& seqs) {
  std::vector<int64_t> out;
  for (const auto& s : seqs)
    out.insert(out.end(), s.begin(), s.end());
  return out;
}

// What the edge sees of public activations under the run's defence: SS-OP noise (fresh per call) and the
// wire's rounding.
struct channel {
  bool ssop = false;
  double sigma = 0;
  torch::Tensor basis;
  torch::ScalarType wire = torch::kFloat32;
  std::optional<at::Generator> gen;

  torch::Tensor operator()(const torch::Tensor& h) {
    auto x = ssop ? h + privacy::ssop_noise(h, basis, sigma, *gen) : h;
    return wire == torch::kFloat32 ? x : x.to(wire).to(torch::kFloat32);
  }
};

struct inverter {
  std::string name;
  torch::nn::Sequential net;
};

inverter make_inverter(const std::string& name, int64_t dim, int64_t hidden, int64_t vocab) {
  if (name == "linear")
    return {name, torch::nn::Sequential(torch::nn::Linear(dim, vocab))};
  return {name, torch::nn::Sequential(torch::nn::Linear(dim, hidden), torch::nn::GELU(), torch::nn::Linear(hidden, vocab))};
}

torch::Tensor predict(inverter& inv, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < x.size(0); i += 8192)
    out.push_back(inv.net->forward(x.slice(0, i, std::min(x.size(0), i + 8192))).argmax(-1));
  return out.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(out);
}

} // namespace

attack_report invert_run(const fs::path& run_dir, const invert_options& o, std::ostream* progress) {
  const auto started = clock_type::now();
  auto say = [&](const std::string& line) {
    if (progress)
      *progress << fmt::format("[{:6.1f} s] {}", seconds_since(started), line) << std::endl;
  };
  if (o.public_tokens < 1000 || o.epochs < 1 || o.hidden < 1 || o.batch_tokens < 1 || !(o.lr > 0))
    throw error(errc::invalid_argument, "attack options: public tokens >= 1000, epochs, hidden, batch and lr > 0");
  const auto cfg = run::read_run_config(run_dir / "config.toml");
  auto captures = read_captures(capture_dir(run_dir));
  if (captures.empty())
    throw error(errc::invalid_argument, fmt::format("{}: no captured batches in it (run with [privacy] capture = N)",
                                                    capture_dir(run_dir).string()));
  fed::set_torch_threads(o.threads);
  torch::manual_seed(o.seed);

  attack_report rep;
  rep.ssop = cfg.ssop;
  rep.ssop_k = cfg.ssop_k;
  rep.ssop_sigma = cfg.ssop_sigma;
  rep.captured_batches = static_cast<int64_t>(captures.size());
  rep.head_blocks = captures.front().head_blocks;
  rep.wire_dtype = captures.front().wire_dtype;
  for (const auto& c : captures) {
    if (c.head_blocks != rep.head_blocks || c.wire_dtype != rep.wire_dtype)
      throw error(errc::invalid_argument, "the captured batches differ in head_blocks or wire dtype; attack one split at a time");
    // A capture names its edge, client, round and step: each must exist in the run it is said to be of.
    if (c.edge >= cfg.edges || c.client >= cfg.clients || c.round >= cfg.rounds || c.step >= cfg.kappa1
        || c.lengths.size() != static_cast<std::size_t>(cfg.batch_size))
      throw error(errc::malformed_input,
                  fmt::format("{}: edge {}, client {}, round {}, step {}, {} rows do not fit the run ({} edges, {} clients, "
                              "{} rounds of {} steps, batches of {})",
                              (capture_dir(run_dir) / capture_file_name(c)).string(), c.edge, c.client, c.round, c.step,
                              c.lengths.size(), cfg.edges, cfg.clients, cfg.rounds, cfg.kappa1, cfg.batch_size));
  }
  {
    std::ifstream in(run_dir / "summary.json");
    if (in) {
      try {
        auto s = nlohmann::json::parse(in);
        double sum = 0;
        int n = 0;
        for (const auto& [task, t] : s.at("tasks").items())
          if (t.contains("test_accuracy") && t["test_accuracy"].is_number()) {
            sum += t["test_accuracy"].get<double>();
            ++n;
          }
        if (n > 0)
          rep.test_accuracy = sum / n;
      } catch (const std::exception& e) {
        throw error(errc::malformed_input, fmt::format("{}: {}", (run_dir / "summary.json").string(), e.what()));
      }
    }
  }

  // -- the attacker's side: public model, public text, the public defence --
  say(fmt::format("{} captured batches; loading the base model and {} public tokens ...", captures.size(), o.public_tokens));
  const auto tok = train::load_tokenizer(cfg.model_dir);
  const auto base = fed::load_frozen_base(cfg.model_dir);
  const auto vocab = base->config().vocab_size;
  const auto dim = base->config().n_embd;
  if (rep.head_blocks < 1 || rep.head_blocks >= base->config().n_layer)
    throw error(errc::malformed_input, fmt::format("captures say head_blocks = {}, the model has {} blocks", rep.head_blocks,
                                                   base->config().n_layer));
  const auto held = std::max<int64_t>(1000, o.public_tokens / 20);
  auto windows = public_windows(cfg, tok, o.public_tokens + held, o.seed);
  auto features = fed::base_head_outputs(*base, windows, rep.head_blocks, tok.eot_id());
  auto labels = torch::tensor(flat_ids(windows), torch::kLong);
  rep.public_tokens = features.size(0) - held;
  auto train_x = features.slice(0, 0, rep.public_tokens);
  auto train_y = labels.slice(0, 0, rep.public_tokens);
  auto test_x = features.slice(0, rep.public_tokens);
  auto test_y = labels.slice(0, rep.public_tokens);
  const int64_t unigram = std::get<0>(torch::mode(train_y)).item<int64_t>();

  auto fdata = fed::load_federation_data(cfg);
  if (cfg.ssop)
    fed::attach_probes(fdata, cfg, tok);  // the run's public probes, encoded as its clients encoded them
  channel ch;
  ch.wire = rep.wire_dtype == "f16" ? torch::kFloat16 : rep.wire_dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32;
  if (cfg.ssop) {
    ch.ssop = true;
    ch.sigma = cfg.ssop_sigma;
    ch.basis = privacy::principal_directions(
      fed::base_head_outputs(*base, *fdata.probes, rep.head_blocks, tok.eot_id(), fed::probe_batch_size), cfg.ssop_k);
    ch.gen = at::detail::createCPUGenerator(o.seed * 7919 + 5);
  }
  // Features are standardised with the public activations' own statistics (as the edge sees them).
  auto seen = ch(train_x);
  auto mean = seen.mean(0);
  auto std = seen.std(0) + 1e-6;
  auto prepare = [&](const torch::Tensor& x) { return (x - mean) / std; };
  auto public_test = prepare(ch(test_x));

  // -- the captured activations and, for scoring only, the rows the clients really sent --
  say("replaying the clients' batches to score against (the attack itself never sees them) ...");
  std::map<uint32_t, std::vector<std::vector<int32_t>>> examples;
  std::vector<torch::Tensor> cap_x;
  std::vector<std::vector<int32_t>> truth;  // one per scored row, <|endoftext|> left out
  for (const auto& c : captures) {
    if (!examples.count(c.client))
      examples[c.client] = fed::client_token_ids(cfg, fdata, c.client, tok);
    // A client draws one batch per step begun, so this batch is at most its round x kappa1 + step-th draw
    // (fewer when it missed or abandoned steps earlier).
    const auto expected = static_cast<std::size_t>(c.round) * static_cast<std::size_t>(cfg.kappa1) + c.step;
    auto rows = replay_batch(examples[c.client], fed::batch_sampler::client_seed(cfg.seed, c.client),
                             static_cast<std::size_t>(cfg.batch_size), expected, c.lengths);
    if (!rows)
      continue;
    auto act = fed::from_wire(c.activation);
    if (act.size(2) != dim)
      throw error(errc::malformed_input, fmt::format("captured activations have width {}, the model {}", act.size(2), dim));
    ++rep.scored_batches;
    for (std::size_t i = 0; i < rows->size(); ++i) {
      auto ids = (*rows)[i];
      if (!ids.empty() && ids.back() == tok.eot_id())
        ids.pop_back();
      if (ids.empty())
        continue;
      cap_x.push_back(act[static_cast<int64_t>(i)].slice(0, 0, static_cast<int64_t>(ids.size())).clone());
      truth.push_back(std::move(ids));
      ++rep.scored_rows;
      rep.scored_tokens += static_cast<int64_t>(truth.back().size());
    }
  }
  if (truth.empty())
    throw error(errc::invalid_argument, fmt::format("none of the {} captured batches matched a replayed client batch "
                                                    "(was the run's data or config changed?)", captures.size()));
  say(fmt::format("scoring {} of {} captured batches ({} rows, {} tokens)", rep.scored_batches, captures.size(),
                  rep.scored_rows, rep.scored_tokens));
  auto captured = prepare(torch::cat(cap_x));

  auto score = [&](const torch::Tensor& guess, double& accuracy, double& rl) {
    auto g = guess.contiguous();
    auto ga = g.accessor<int64_t, 1>();
    int64_t p = 0, right = 0;
    double rsum = 0;
    for (const auto& row : truth) {
      std::vector<int32_t> mine;
      for (auto t : row) {
        mine.push_back(static_cast<int32_t>(ga[p]));
        right += ga[p] == t;
        ++p;
      }
      rsum += rouge_l(mine, row);
    }
    accuracy = static_cast<double>(right) / static_cast<double>(p);
    rl = rsum / static_cast<double>(truth.size());
  };
  score(torch::full({captured.size(0)}, unigram, torch::kLong), rep.unigram_token_accuracy, rep.unigram_rouge_l);
  say(fmt::format("unigram guess (token {}): token accuracy {:.4f}, ROUGE-L {:.4f}", unigram, rep.unigram_token_accuracy,
                  rep.unigram_rouge_l));

  // -- train and apply each inverter --
  std::size_t best_index = 0;
  for (const auto* name : {"linear", "mlp"}) {
    const auto t0 = clock_type::now();
    auto inv = make_inverter(name, dim, o.hidden, vocab);
    torch::optim::Adam opt(inv.net->parameters(), torch::optim::AdamOptions(o.lr));
    const auto n = train_x.size(0);
    for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
      auto x = prepare(ch(train_x));  // fresh noise each epoch
      auto perm = torch::randperm(n, torch::kLong);
      double loss_sum = 0;
      int64_t steps = 0;
      for (int64_t i = 0; i < n; i += o.batch_tokens) {
        auto idx = perm.slice(0, i, std::min(n, i + o.batch_tokens));
        auto loss = torch::nn::functional::cross_entropy(inv.net->forward(x.index_select(0, idx)), train_y.index_select(0, idx));
        opt.zero_grad();
        loss.backward();
        opt.step();
        loss_sum += loss.item<double>();
        ++steps;
      }
      say(fmt::format("{} inverter, epoch {}/{}: loss {:.3f}", name, epoch + 1, o.epochs, loss_sum / std::max<int64_t>(1, steps)));
    }
    inverter_result r;
    r.name = name;
    r.public_accuracy = predict(inv, public_test).eq(test_y).to(torch::kDouble).mean().item<double>();
    score(predict(inv, captured), r.token_accuracy, r.rouge_l);
    r.train_seconds = seconds_since(t0);
    say(fmt::format("{} inverter: captured token accuracy {:.4f}, ROUGE-L {:.4f} (held-out public text {:.4f})", name,
                    r.token_accuracy, r.rouge_l, r.public_accuracy));
    // The attacker picks its inverter by what it can measure: accuracy on held-out public text.
    if (rep.inverters.empty() || r.public_accuracy > rep.inverters[best_index].public_accuracy) {
      best_index = rep.inverters.size();
      rep.token_accuracy = r.token_accuracy;
      rep.rouge_l = r.rouge_l;
      rep.best = r.name;
    }
    rep.inverters.push_back(std::move(r));
  }
  return rep;
}

} // namespace elsa::attack
