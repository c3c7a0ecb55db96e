// Participant models and block selection (see lora_model.hpp).
#include "core/fed/lora_model.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/model/model_dir.hpp"

namespace elsa::fed {

frozen_base::frozen_base(model::GPT2 model) : model_(std::move(model)) {
  for (auto& p : model_->parameters())
    p.set_requires_grad(false);
  model_->eval();
}

base_ptr load_frozen_base(const std::filesystem::path& model_dir) {
  return std::make_shared<const frozen_base>(model::load_model(model_dir));
}

int64_t base_layers(const frozen_base& base) {
  return base.config().n_layer;
}

int64_t base_bytes(const frozen_base& base) {
  int64_t n = 0;
  for (const auto& p : base.module()->parameters())
    n += p.numel() * static_cast<int64_t>(p.element_size());
  return n;
}

std::unique_ptr<model::adapter_bank> make_bank(const frozen_base& base, const run::run_config& cfg,
                                               const std::vector<int64_t>& blocks) {
  return std::make_unique<model::adapter_bank>(base.config(), cfg.lora, blocks);
}

std::vector<int64_t> block_range(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t i = first; i < last; ++i)
    out.push_back(i);
  return out;
}

int64_t block_of(const std::string& name) {
  static const std::string marker = ".h.";
  const auto at = name.find(marker);
  if (at == std::string::npos)
    return -1;
  const char* begin = name.c_str() + at + marker.size();
  char* end = nullptr;
  const long v = std::strtol(begin, &end, 10);
  if (end == begin || *end != '.')
    return -1;
  return v;
}

std::map<std::string, torch::Tensor> select_blocks(const std::map<std::string, torch::Tensor>& state,
                                                   int64_t first, int64_t last, bool with_classifier) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : state) {
    const int64_t b = block_of(name);
    if (b >= 0 ? (b >= first && b < last) : with_classifier)
      out[name] = t;
  }
  return out;
}

void check_split(int64_t L, int64_t head_blocks, int64_t tail_blocks) {
  if (head_blocks < 1 || tail_blocks < 1 || head_blocks + tail_blocks >= L)
    throw error(errc::invalid_argument,
                fmt::format("[split] head_blocks = {}, tail_blocks = {} do not fit a {}-block model: need "
                            "head_blocks >= 1, tail_blocks >= 1 and head_blocks + tail_blocks < {} (the edge runs at "
                            "least one block)",
                            head_blocks, tail_blocks, L, L));
}

} // namespace elsa::fed
