// Classifying new texts with a run's adapters (see predict.hpp).
#include "core/train/predict.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "core/data/clean.hpp"
#include "core/errors.hpp"
#include "core/model/model_dir.hpp"
#include "core/train/classify.hpp"
#include "core/train/export.hpp"
#include "core/train/tokens.hpp"

namespace elsa::train {

struct predictor::impl {
  model::GPT2 model{nullptr};
  model::Classifier classifier{nullptr};
  std::optional<text::bpe_tokenizer> tok;  // loaded in the constructor
  int64_t max_len = 0;
  int64_t num_labels = 0;
  std::vector<std::string> labels;
};

predictor::predictor(const std::filesystem::path& model_dir, const std::filesystem::path& adapter_dir, int64_t max_len)
  : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  const auto info = model::read_adapter_config(adapter_dir);
  if (info.num_labels <= 0)
    throw error(errc::invalid_argument,
                fmt::format("{}: the adapters hold no classifier (adapter_config.json has no num_labels)",
                            (adapter_dir / "adapter_config.json").string()));
  s.tok.emplace(load_tokenizer(model_dir));
  s.model = model::load_model(model_dir);
  s.model->add_lora(info.lora);
  s.classifier = model::Classifier(s.model->config().n_embd, info.num_labels);
  model::load_adapters(adapter_dir, s.model, s.classifier);
  s.model->eval();
  s.classifier->eval();
  s.max_len = max_len;
  s.num_labels = info.num_labels;
}

predictor::predictor(const std::filesystem::path& merged_dir) : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  const auto info = read_merged_info(merged_dir);
  s.tok.emplace(load_tokenizer(merged_dir));
  s.model = model::load_model(merged_dir);
  s.num_labels = static_cast<int64_t>(info.labels.size());
  s.classifier = model::Classifier(s.model->config().n_embd, s.num_labels);
  const auto head = merged_dir / "score.safetensors";
  const auto data = model::read_safetensors(head);
  const auto it = data.tensors.find("score.weight");
  if (it == data.tensors.end() || data.tensors.size() != 1)
    throw error(errc::malformed_input, fmt::format("{}: must hold exactly one tensor, score.weight", head.string()));
  if (it->second.sizes() != s.classifier->score->weight.sizes())
    throw error(errc::malformed_input,
                fmt::format("{}: score.weight is {}, the model and {} labels need ({}, {})", head.string(),
                            fmt::join(it->second.sizes(), "x"), s.num_labels, s.num_labels, s.model->config().n_embd));
  {
    torch::NoGradGuard no_grad;
    s.classifier->score->weight.copy_(it->second.to(torch::kFloat32));
  }
  s.model->eval();
  s.classifier->eval();
  s.max_len = info.max_len;
  s.labels = info.labels;
}

predictor::~predictor() = default;

const std::vector<std::string>& predictor::labels() const {
  return impl_->labels;
}

int64_t predictor::num_labels() const {
  return impl_->num_labels;
}

std::vector<prediction> predictor::predict(const std::vector<std::string>& texts) const {
  auto& s = *impl_;
  std::vector<data::example> xs;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto text = data::collapse_whitespace(texts[i]);
    if (text.empty())
      throw error(errc::invalid_argument, fmt::format("text {} is empty", i + 1));
    xs.push_back({std::move(text), 0, {}});
  }
  const auto enc = encode_examples(*s.tok, xs, s.max_len, true);
  // Batches of 32 in length order, as evaluate_classifier scores them (the same arithmetic, so the same
  // answers as the run's test score).
  std::vector<std::size_t> order(enc.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&enc](std::size_t a, std::size_t b) { return enc[a].ids.size() < enc[b].ids.size(); });
  std::vector<prediction> out(enc.size());
  torch::NoGradGuard no_grad;
  const auto pad = s.tok->eot_id();
  for (std::size_t i = 0; i < order.size(); i += 32) {
    std::vector<const encoded*> items;
    for (std::size_t j = i; j < std::min(order.size(), i + 32); ++j)
      items.push_back(&enc[order[j]]);
    auto b = make_classify_batch(items, pad);
    auto probs = torch::softmax(s.classifier->forward(s.model->hidden(b.ids, b.mask, nullptr), b.mask), 1).contiguous();
    auto pa = probs.accessor<float, 2>();
    for (int64_t r = 0; r < probs.size(0); ++r) {
      auto& p = out[order[i + static_cast<std::size_t>(r)]];
      p.probabilities.resize(static_cast<std::size_t>(probs.size(1)));
      for (int64_t k = 0; k < probs.size(1); ++k)
        p.probabilities[static_cast<std::size_t>(k)] = pa[r][k];
      p.label = std::max_element(p.probabilities.begin(), p.probabilities.end()) - p.probabilities.begin();
    }
  }
  return out;
}

} // namespace elsa::train
