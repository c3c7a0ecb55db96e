// Sequence classification plumbing shared by centralised and federated fine-tuning (see classify.hpp).
#include "core/train/classify.hpp"

#include <algorithm>

namespace elsa::train {

std::vector<encoded> encode_examples(const text::bpe_tokenizer& tok, const std::vector<data::example>& xs,
                                int64_t max_len, bool append_eot) {
  std::vector<encoded> out;
  out.reserve(xs.size());
  for (const auto& x : xs) {
    auto ids = tok.encode_ordinary(x.text);
    const int64_t keep = append_eot ? max_len - 1 : max_len;
    if (static_cast<int64_t>(ids.size()) > keep)
      ids.resize(static_cast<size_t>(keep));
    if (append_eot || ids.empty())
      ids.push_back(tok.eot_id());
    out.push_back({std::move(ids), x.label});
  }
  return out;
}

classify_batch make_classify_batch(const std::vector<const encoded*>& items, int32_t pad) {
  size_t T = 0;
  for (const auto* e : items)
    T = std::max(T, e->ids.size());
  const auto B = static_cast<int64_t>(items.size());
  classify_batch b;
  b.ids = torch::full({B, static_cast<int64_t>(T)}, pad, torch::kLong);
  b.mask = torch::zeros({B, static_cast<int64_t>(T)}, torch::kLong);
  b.labels = torch::empty({B}, torch::kLong);
  auto ia = b.ids.accessor<int64_t, 2>();
  auto ma = b.mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const auto& e = *items[static_cast<size_t>(i)];
    for (size_t t = 0; t < e.ids.size(); ++t) {
      ia[i][static_cast<int64_t>(t)] = e.ids[t];
      ma[i][static_cast<int64_t>(t)] = 1;
    }
    b.labels[i] = e.label;
  }
  return b;
}

classify_batch make_token_batch(const std::vector<std::vector<int32_t>>& seqs, size_t first, size_t end, int32_t pad) {
  std::vector<encoded> items;
  for (auto j = first; j < std::min(seqs.size(), end); ++j)
    items.push_back({seqs[j], 0});
  std::vector<const encoded*> ptrs;
  for (const auto& x : items)
    ptrs.push_back(&x);
  return make_classify_batch(ptrs, pad);
}

// Batches of similar length (less padding, a large speed-up on CPU), in random order.
std::vector<std::vector<const encoded*>> bucketed_batches(const std::vector<encoded>& xs, int64_t batch_size,
                                                          std::mt19937_64& rng) {
  std::vector<const encoded*> order;
  for (const auto& x : xs)
    order.push_back(&x);
  std::shuffle(order.begin(), order.end(), rng);
  const size_t chunk = static_cast<size_t>(batch_size) * 32;
  std::vector<std::vector<const encoded*>> batches;
  for (size_t c = 0; c < order.size(); c += chunk) {
    auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), c + chunk));
    std::sort(order.begin() + static_cast<std::ptrdiff_t>(c), end,
              [](const encoded* a, const encoded* b) { return a->ids.size() < b->ids.size(); });
    for (auto it = order.begin() + static_cast<std::ptrdiff_t>(c); it < end; it += batch_size)
      batches.emplace_back(it, std::min(end, it + batch_size));
  }
  std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

eval_result evaluate_classifier(model::GPT2& model, model::Classifier& cls, const std::vector<encoded>& xs, int64_t K,
                     int32_t pad, const model::adapter_bank* bank) {
  torch::NoGradGuard no_grad;
  if (!bank)
    model->eval();
  cls->eval();
  std::vector<const encoded*> order;
  for (const auto& x : xs)
    order.push_back(&x);
  std::sort(order.begin(), order.end(), [](const encoded* a, const encoded* b) { return a->ids.size() < b->ids.size(); });
  std::vector<int64_t> tp(static_cast<size_t>(K)), fp(static_cast<size_t>(K)), fn(static_cast<size_t>(K));
  int64_t correct = 0;
  double loss_sum = 0;
  for (size_t i = 0; i < order.size(); i += 32) {
    std::vector<const encoded*> items(order.begin() + static_cast<std::ptrdiff_t>(i),
                                      order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), i + 32)));
    auto b = make_classify_batch(items, pad);
    auto logits = cls->forward(model->hidden(b.ids, b.mask, bank), b.mask);
    loss_sum += torch::nn::functional::cross_entropy(logits, b.labels,
                                                     torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                  .item<double>();
    auto pred = logits.argmax(1);
    auto pa = pred.accessor<int64_t, 1>();
    auto la = b.labels.accessor<int64_t, 1>();
    for (int64_t j = 0; j < pred.size(0); ++j) {
      const auto p = static_cast<size_t>(pa[j]), l = static_cast<size_t>(la[j]);
      if (p == l) {
        ++correct;
        ++tp[p];
      } else {
        ++fp[p];
        ++fn[l];
      }
    }
  }
  if (!bank)
    model->train();
  cls->train();
  eval_result r;
  r.count = static_cast<int64_t>(xs.size());
  r.loss = xs.empty() ? 0.0 : loss_sum / static_cast<double>(xs.size());
  r.accuracy = xs.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(xs.size());
  double f1 = 0;
  int64_t present = 0;
  for (size_t k = 0; k < static_cast<size_t>(K); ++k) {
    if (tp[k] + fn[k] == 0)
      continue; // class absent from this split
    ++present;
    const double denom = static_cast<double>(2 * tp[k] + fp[k] + fn[k]);
    f1 += denom > 0 ? 2.0 * static_cast<double>(tp[k]) / denom : 0.0;
  }
  r.macro_f1 = present > 0 ? f1 / static_cast<double>(present) : 0.0;
  return r;
}

} // namespace elsa::train
