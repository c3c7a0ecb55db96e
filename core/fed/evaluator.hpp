// Scores adapter sets on a task's held-out examples with the full (unsplit) model: the split changes where
// layers run, not what they compute. Used by the cloud after each aggregation and at the end of a run.
#pragma once

#include <cstdint>
#include <memory>

#include "core/fed/adapters.hpp"
#include "core/fed/federation_data.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/run/run_config.hpp"

namespace elsa::text {
class bpe_tokenizer;
}

namespace elsa::fed {

struct score {
  double accuracy = 0;
  double macro_f1 = 0;
  double loss = 0;
  int64_t count = 0;
};

enum class held_out : uint8_t { validation, test };

class evaluator {
public:
  /// Encodes cfg.eval_examples validation and cfg.test_examples (0: all) test examples per task, seeded.
  /// Scores over the process's shared `base` with an adapter bank of its own.
  evaluator(const run::run_config& cfg, const federation_data& data, const text::bpe_tokenizer& tok,
            base_ptr base);
  ~evaluator();
  evaluator(const evaluator&) = delete;
  evaluator& operator=(const evaluator&) = delete;

  score evaluate(std::size_t task_index, const adapter_set& adapters, held_out which);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace elsa::fed
