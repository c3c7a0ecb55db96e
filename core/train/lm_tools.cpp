// Held-out perplexity of a model directory next to an add-one unigram baseline, and text generation
// (greedy or top-k sampling) for `elsa eval-lm` and `elsa generate`.
#include "core/train/lm_tools.hpp"

#include <cmath>

#include <fmt/format.h>

#include "core/data/corpus.hpp"
#include "core/errors.hpp"
#include "core/model/model_dir.hpp"
#include "core/train/tokens.hpp"
#include "core/train/windows.hpp"

namespace elsa::train {

lm_eval_result evaluate_lm(const std::filesystem::path& model_dir, const std::filesystem::path& data_dir,
                           int64_t max_tokens, int64_t threads) {
  if (threads < 1 || threads > 256)
    throw error(errc::invalid_argument,
                fmt::format("eval-lm: threads = {} is out of range; allowed 1..256", threads));
  if (max_tokens < 0)
    throw error(errc::invalid_argument,
                fmt::format("eval-lm: max_tokens = {} is out of range; allowed 0 (all) or more", max_tokens));
  torch::set_num_threads(static_cast<int>(threads));
  auto model = model::load_model(model_dir);
  model->eval();
  const auto tok = load_tokenizer(model_dir);
  if (static_cast<int64_t>(tok.vocab_size()) != model->config().vocab_size)
    throw error(errc::malformed_input,
                fmt::format("{}: vocab.json has {} tokens but config.json says vocab_size = {}", model_dir.string(),
                            tok.vocab_size(), model->config().vocab_size));
  const auto heldout_docs = data::lm_heldout(data_dir);
  const auto heldout = tokenize_documents(tok, heldout_docs, threads);
  const auto train = tokenize_documents(tok, data::pretraining_corpus(data_dir), threads);

  // Add-one unigram over the pre-training tokens: the baseline a model that ignores context reaches.
  const int64_t V = model->config().vocab_size;
  std::vector<double> counts(static_cast<size_t>(V), 1.0);
  for (int32_t t : train)
    counts[static_cast<size_t>(t)] += 1.0;
  const double total = static_cast<double>(train.size()) + static_cast<double>(V);

  const int64_t T = model->config().n_positions;
  const auto starts = eval_windows(static_cast<int64_t>(heldout.size()), T, max_tokens);
  const auto windows = static_cast<int64_t>(starts.size());
  double nll = 0, unigram_nll = 0;
  int64_t count = 0;
  torch::NoGradGuard no_grad;
  const int64_t batch = 16;
  for (int64_t w0 = 0; w0 < windows; w0 += batch) {
    const int64_t nb = std::min(batch, windows - w0);
    auto buf = window_batch(heldout, starts, w0, nb, T);
    auto acc = buf.accessor<int64_t, 2>();
    auto x = buf.slice(1, 0, T), y = buf.slice(1, 1, T + 1);
    auto logits = model->forward(x);
    nll += torch::nn::functional::cross_entropy(logits.reshape({-1, V}), y.reshape(-1),
                                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
               .item<double>();
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t t = 1; t <= T; ++t)
        unigram_nll -= std::log(counts[static_cast<size_t>(acc[b][t])] / total);
    count += nb * T;
  }
  if (count == 0)
    throw error(errc::invalid_argument, "eval-lm: the held-out text is shorter than one window");
  lm_eval_result r;
  r.model_perplexity = std::exp(nll / static_cast<double>(count));
  r.unigram_perplexity = std::exp(unigram_nll / static_cast<double>(count));
  r.tokens = count;
  r.documents = static_cast<int64_t>(heldout_docs.size());
  return r;
}

std::string generate(const std::filesystem::path& model_dir, const generate_options& o) {
  if (o.max_new < 0 || o.max_new > 100000)
    throw error(errc::invalid_argument, fmt::format("generate: --max-new {} is out of range; allowed 0..100000", o.max_new));
  if (!o.greedy && (o.top_k < 1 || !(o.temperature > 0.0)))
    throw error(errc::invalid_argument,
                fmt::format("generate: need --top-k >= 1 and --temperature > 0 (got {} and {})", o.top_k, o.temperature));
  auto model = model::load_model(model_dir);
  model->eval();
  const auto tok = load_tokenizer(model_dir);
  std::vector<int32_t> ids = tok.encode(o.prompt);
  if (ids.empty())
    ids.push_back(tok.eot_id()); // an empty prompt starts a fresh document
  const size_t prompt_len = ids.size();
  auto gen = at::detail::createCPUGenerator(o.seed);
  const int64_t T = model->config().n_positions;
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < o.max_new; ++i) {
    const size_t start = ids.size() > static_cast<size_t>(T) ? ids.size() - static_cast<size_t>(T) : 0;
    std::vector<int64_t> ctx(ids.begin() + static_cast<std::ptrdiff_t>(start), ids.end());
    auto x = torch::tensor(ctx, torch::kLong).unsqueeze(0);
    auto logits = model->forward(x).index({0, -1});
    int64_t next;
    if (o.greedy) {
      next = logits.argmax().item<int64_t>();
    } else {
      auto top = logits.div(o.temperature).topk(std::min<int64_t>(o.top_k, logits.size(0)));
      auto probs = torch::softmax(std::get<0>(top), -1);
      auto pick = torch::multinomial(probs, 1, false, gen).item<int64_t>();
      next = std::get<1>(top)[pick].item<int64_t>();
    }
    if (next == tok.eot_id())
      break;
    ids.push_back(static_cast<int32_t>(next));
  }
  std::vector<int32_t> out(ids.begin() + static_cast<std::ptrdiff_t>(prompt_len), ids.end());
  return o.prompt + tok.decode(out);
}

} // namespace elsa::train
