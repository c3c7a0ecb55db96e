// The read-only resources the split-training tests share: a run config, its data, the tokenizer and the
// frozen base, loaded once per suite (they take seconds). A suite derives from split_resources<Suite> and
// gives `static run::run_config config()`; `static void loaded()` may prepare more once the tokenizer is in.
#pragma once

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "core/fed/federation_data.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "core/text/tokenizer.hpp"
#include "core/train/tokens.hpp"
#include "tests/test_support.hpp"

namespace elsa::fed {

/// Two clients on one edge with the shipped model and real spam data, 48-token examples, at most
/// `max_train` training examples each.
inline run::run_config two_clients(int64_t max_train) {
  run::run_config cfg;
  cfg.model_dir = testing::source_dir() / "models/elsa-base";
  cfg.data_dir = testing::data_dir();
  cfg.clients = 2;
  cfg.edges = 1;
  cfg.max_len = 48;
  cfg.max_train_per_client = max_train;
  return cfg;
}

/// Largest absolute difference between two adapter sets with the same names and shapes.
inline double max_diff(const std::vector<messages::named_tensor>& a, const std::vector<messages::named_tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    worst = std::max(worst, (from_wire(a[i].tensor) - from_wire(b[i].tensor)).abs().max().item<double>());
  }
  return worst;
}

template <class Suite>
struct split_resources : ::testing::Test {
  static void SetUpTestSuite() {
    torch::set_num_threads(1);
    cfg = new run::run_config(Suite::config());
    data = new federation_data(load_federation_data(*cfg));
    tok = new text::bpe_tokenizer(train::load_tokenizer(cfg->model_dir));
    Suite::loaded();
    base = new base_ptr(load_frozen_base(cfg->model_dir));
  }
  static void TearDownTestSuite() {
    delete base;
    delete tok;
    delete data;
    delete cfg;
  }
  static void loaded() {
  }
  static inline run::run_config* cfg = nullptr;
  static inline federation_data* data = nullptr;
  static inline text::bpe_tokenizer* tok = nullptr;
  static inline base_ptr* base = nullptr;
};

} // namespace elsa::fed
