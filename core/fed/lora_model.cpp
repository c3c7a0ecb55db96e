// Participant models and block selection (see lora_model.hpp).
#include "core/fed/lora_model.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/model/model_dir.hpp"

namespace elsa::fed {

model::GPT2 load_lora_model(const run::run_config& cfg) {
  auto m = model::load_model(cfg.model_dir);
  m->add_lora(cfg.lora);
  m->train();
  return m;
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

void check_split(const model::GPT2& model, int64_t head_blocks, int64_t tail_blocks) {
  const int64_t L = model->n_layer();
  if (head_blocks < 1 || tail_blocks < 1 || head_blocks + tail_blocks > L)
    throw error(errc::invalid_argument,
                fmt::format("split (a={}, b={}) is not valid for a {}-block model; need a >= 1, b >= 1, a + b <= {}",
                            head_blocks, tail_blocks, L, L));
}

} // namespace elsa::fed
