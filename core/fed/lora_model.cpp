// The frozen base, adapter banks over it and split checks (see lora_model.hpp).
#include "core/fed/lora_model.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/model/model_dir.hpp"
#include "core/train/classify.hpp"

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

model::gpt2_config base_config(const frozen_base& base) {
  return base.config();
}

std::unique_ptr<model::adapter_bank> make_bank(const frozen_base& base, const run::run_config& cfg,
                                               const std::vector<int64_t>& blocks,
                                               const model::adapter_bank* previous, const std::string& origin) {
  auto bank = std::make_unique<model::adapter_bank>(base.config(), cfg.lora, blocks);
  if (previous)
    bank->load(previous->state(), origin);
  return bank;
}

std::vector<int64_t> block_range(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t i = first; i < last; ++i)
    out.push_back(i);
  return out;
}

void check_split(int64_t L, int64_t head_blocks, int64_t tail_blocks, bool two_part) {
  if (two_part) {
    if (head_blocks < 1 || tail_blocks != 0 || head_blocks >= L)
      throw error(errc::invalid_argument,
                  fmt::format("[split] head_blocks = {} (tail {}) does not fit a two-part split of a {}-block model: "
                              "need 1 <= head_blocks < {} and no tail (the edge runs the rest)",
                              head_blocks, tail_blocks, L, L));
    return;
  }
  if (head_blocks < 1 || tail_blocks < 1 || head_blocks + tail_blocks >= L)
    throw error(errc::invalid_argument,
                fmt::format("[split] head_blocks = {}, tail_blocks = {} do not fit a {}-block model: need "
                            "head_blocks >= 1, tail_blocks >= 1 and head_blocks + tail_blocks < {} (the edge runs at "
                            "least one block)",
                            head_blocks, tail_blocks, L, L));
}

void check_against_base(const frozen_base& base, const run::run_config& cfg) {
  check_split(base.config().n_layer, cfg.head_blocks, cfg.client_tail_blocks(), cfg.two_part());
  if (cfg.max_len > base.config().n_positions)
    throw error(errc::invalid_argument,
                fmt::format("[model] max_len = {} exceeds the model's n_positions = {}; set it to at most {}",
                            cfg.max_len, base.config().n_positions, base.config().n_positions));
}

torch::Tensor base_head_outputs(const frozen_base& base, const std::vector<std::vector<int32_t>>& seqs,
                                int64_t blocks, int32_t pad, std::size_t batch) {
  torch::NoGradGuard no_grad;
  auto model = base.module();
  std::vector<torch::Tensor> rows;
  for (std::size_t first = 0; first < seqs.size(); first += batch) {
    auto b = train::make_token_batch(seqs, first, first + batch, pad);
    auto h = model->run_blocks(model->embed(b.ids), 0, blocks, b.mask, nullptr);
    rows.push_back(h.reshape({-1, h.size(-1)}).index({b.mask.reshape({-1}).to(torch::kBool)}));
  }
  if (rows.empty())
    return torch::zeros({0, base.config().n_embd});
  return torch::cat(rows);
}

} // namespace elsa::fed
