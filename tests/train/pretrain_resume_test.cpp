// The pre-training recipe is bit-reproducible: N steps straight and N/2 steps, a stop at a checkpoint, then
// --resume for the other N/2 give byte-identical weights on one thread (a tiny model on a seeded stream).
#include "core/train/pretrain.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

namespace et = elsa::train;
namespace fs = std::filesystem;

namespace {

// A token stream with structure to learn (a noisy cycle), so the optimizer moments matter.
et::token_streams cyclic_streams() {
  et::token_streams s;
  s.vocab_size = 64;
  s.eot_id = 63;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> noise(0, 62);
  for (int i = 0; i < 6000; ++i)
    s.train.push_back(i % 11 == 0 ? noise(rng) : (i * 5) % 63);
  for (int i = 0; i < 1200; ++i)
    s.heldout.push_back((i * 5) % 63);
  return s;
}

et::pretrain_config tiny_config(const fs::path& dir) {
  et::pretrain_config c;
  c.run_dir = dir / "run";
  c.out_dir = dir / "model";
  c.model.n_layer = 2;
  c.model.n_head = 2;
  c.model.n_embd = 16;
  c.model.n_positions = 16;
  c.steps = 12;
  c.batch_size = 4;
  c.warmup_steps = 3;
  c.lr = 3e-3;
  c.min_lr = 3e-4;
  c.eval_every = 5;
  c.eval_tokens = 256;
  c.final_eval_tokens = 512;
  c.checkpoint_every = 4;
  c.log_every = 4;
  c.threads = 1;
  c.seed = 99;
  return c;
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

fs::path fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("elsa_pretrain_resume_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

} // namespace

TEST(PretrainResume, StopAndResumeGivesTheSameWeightsAsOneRun) {
  const auto streams = cyclic_streams();
  std::ostringstream log;

  const auto straight = fresh_dir("straight");
  auto a = et::pretrain_on(tiny_config(straight), streams, false, log);
  EXPECT_TRUE(a.completed);
  EXPECT_EQ(a.step, 12);

  // Stopped at step 6 (not a checkpoint_every multiple: the stop itself writes the checkpoint).
  const auto split = fresh_dir("split");
  auto b1 = et::pretrain_on(tiny_config(split), streams, false, log, 6);
  EXPECT_FALSE(b1.completed);
  EXPECT_EQ(b1.step, 6);
  EXPECT_FALSE(fs::exists(split / "model" / "model.safetensors"));
  auto b2 = et::pretrain_on(tiny_config(split), streams, true, log);
  EXPECT_TRUE(b2.completed);
  EXPECT_EQ(b2.step, 12);

  const auto wa = bytes_of(straight / "model" / "model.safetensors");
  const auto wb = bytes_of(split / "model" / "model.safetensors");
  ASSERT_GT(wa.size(), 1000u);
  EXPECT_TRUE(wa == wb) << "resumed weights differ from the straight run";

  // The check can fail: a run with another seed gives other weights.
  const auto other = fresh_dir("other");
  auto cfg = tiny_config(other);
  cfg.seed = 100;
  et::pretrain_on(cfg, streams, false, log);
  EXPECT_FALSE(wa == bytes_of(other / "model" / "model.safetensors"));

  for (const auto& d : {straight, split, other})
    fs::remove_all(d);
}
