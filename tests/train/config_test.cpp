// Config readers reject bad TOML with the file and key named; the learning-rate schedule has its documented
// shape; the shipped configs parse; evaluation windows spread over the stream.
#include "core/train/finetune.hpp"
#include "core/train/pretrain.hpp"
#include "core/train/tokens.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/errors.hpp"
#include "tests/test_support.hpp"

namespace et = elsa::train;
namespace fs = std::filesystem;

namespace {

fs::path write_toml(const std::string& name, const std::string& text) {
  auto p = fs::temp_directory_path() / ("elsa_train_test_" + name + "_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(p) << text;
  return p;
}

std::string pretrain_error(const std::string& text) {
  const auto p = write_toml("bad", text);
  try {
    et::read_pretrain_config(p);
  } catch (const elsa::error& e) {
    fs::remove(p);
    return e.what();
  }
  fs::remove(p);
  return "";
}

} // namespace

TEST(PretrainConfig, ShippedConfigParses) {
  const auto cfg = et::read_pretrain_config(elsa::testing::source_dir() / "configs" / "pretrain.toml");
  EXPECT_EQ(cfg.model.n_positions, 128);
  EXPECT_EQ(cfg.model.n_embd % cfg.model.n_head, 0);
  EXPECT_GT(cfg.steps, cfg.warmup_steps);
}

TEST(PretrainConfig, BadValuesNameTheKeyAndRange) {
  auto e = pretrain_error("[train]\nsteps = 0\n");
  EXPECT_NE(e.find("steps"), std::string::npos) << e;
  EXPECT_NE(e.find("1.."), std::string::npos) << e;
  e = pretrain_error("[train]\nstepz = 10\n");
  EXPECT_NE(e.find("stepz"), std::string::npos) << e;
  e = pretrain_error("[modle]\nn_layer = 2\n");
  EXPECT_NE(e.find("modle"), std::string::npos) << e;
  e = pretrain_error("[model]\nn_embd = 100\nn_head = 3\n");
  EXPECT_NE(e.find("multiple of n_head"), std::string::npos) << e;
  e = pretrain_error("[train]\nlr = \"fast\"\n");
  EXPECT_NE(e.find("lr"), std::string::npos) << e;
  e = pretrain_error("[train]\nlr = 0.001\nmin_lr = 0.01\n");
  EXPECT_NE(e.find("min_lr"), std::string::npos) << e;
  e = pretrain_error("[train\nsteps = 3\n");
  EXPECT_NE(e.find("TOML"), std::string::npos) << e;
  EXPECT_THROW(et::read_pretrain_config("/nonexistent/pretrain.toml"), elsa::error);
}

TEST(PretrainConfig, WarmupThenCosine) {
  et::pretrain_config c;
  c.steps = 1000;
  c.warmup_steps = 100;
  c.lr = 1e-3;
  c.min_lr = 1e-4;
  EXPECT_NEAR(et::learning_rate(c, 0), 1e-5, 1e-12);
  EXPECT_NEAR(et::learning_rate(c, 49), 5e-4, 1e-12);
  EXPECT_NEAR(et::learning_rate(c, 100), 1e-3, 1e-12);
  // Half-way through the decay: the mean of lr and min_lr.
  EXPECT_NEAR(et::learning_rate(c, 550), 5.5e-4, 1e-9);
  EXPECT_NEAR(et::learning_rate(c, 1000), 1e-4, 1e-12);
  for (int64_t s = 101; s < 1000; ++s)
    EXPECT_LE(et::learning_rate(c, s), et::learning_rate(c, s - 1) + 1e-15);
}

TEST(PretrainConfig, TimeBudgetDoesNotChangeTheSchedule) {
  et::pretrain_config c;
  c.steps = 1000;
  c.warmup_steps = 100;
  c.lr = 1e-3;
  c.min_lr = 1e-4;
  const double without = et::learning_rate(c, 200);
  c.max_minutes = 10;
  EXPECT_EQ(et::learning_rate(c, 200), without);
}

TEST(FinetuneConfig, ReadsKnownKeysAndRejectsOthers) {
  auto p = write_toml("ft", "[task]\nname = \"party\"\n[lora]\nrank = 4\ntargets = [\"c_attn\"]\n[train]\nepochs = 3\n");
  const auto c = et::read_finetune_config(p);
  EXPECT_EQ(c.task, "party");
  EXPECT_EQ(c.lora.rank, 4);
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.lora.targets, std::vector<std::string>{"c_attn"});
  fs::remove(p);
  p = write_toml("ft2", "[lora]\ntargets = [\"q_proj\"]\n");
  try {
    et::read_finetune_config(p);
    ADD_FAILURE();
  } catch (const elsa::error& e) {
    EXPECT_NE(std::string(e.what()).find("q_proj"), std::string::npos) << e.what();
  }
  fs::remove(p);
}

TEST(EvalWindows, SpreadEvenlyAndStayInside) {
  const auto all = et::eval_windows(1001, 10, 0);
  EXPECT_EQ(all.size(), 100u);
  const auto some = et::eval_windows(1001, 10, 40);
  ASSERT_EQ(some.size(), 4u);
  EXPECT_EQ(some.front(), 0);
  EXPECT_GT(some.back(), 500); // reaches the second half of the stream
  for (auto s : some)
    EXPECT_LE(s + 11, 1001);
  EXPECT_TRUE(et::eval_windows(5, 10, 0).empty());
}
