// The model shape the cost-model, planner, clock and split tests share: models/elsa-base/config.json (4
// blocks of 192, 6 heads, 8,192 tokens, 128 positions) with the runs' adapters (rank 8 on all four targets)
// and spam's two labels. Written out, not read, so these tests need no model folder.
#pragma once

#include "core/sim/cost_model.hpp"

namespace elsa::testing {

inline sim::model_shape shipped_shape() {
  return {4, 192, 6, 768, 8192, 128, 8, {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"}, 2};
}

} // namespace elsa::testing
