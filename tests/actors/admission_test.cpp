// Step admission ([topology] max_concurrent_steps): with a cap of one step per edge, no edge ever admits two
// at once, the run completes, and (each participant having its own generator and optimizer) its adapters are
// bit for bit those of the same run without a cap. Deterministic scheduler, real data.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <mutex>

#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

TEST(Admission, OneStepPerEdgeAtATimeGivesTheSameAdapters) {
  auto capped = small_run("admission_capped");
  capped.rounds = 2;
  capped.kappa1 = 3;
  capped.max_concurrent_steps = 1;
  std::mutex mutex;
  std::vector<int64_t> peaks;
  actors::run_hooks hooks;
  hooks.on_event = [&](const nlohmann::json& ev, const actors::directory&) {
    if (ev.value("type", "") == "edge_round") {
      std::lock_guard<std::mutex> lock(mutex);
      peaks.push_back(ev.value("peak_admitted", int64_t{-1}));
    }
  };
  const auto r = run_quietly(capped, hooks);
  ASSERT_TRUE(r.summary.value("finished", false));
  ASSERT_EQ(peaks.size(), 4u);  // 2 edges x 2 rounds
  for (auto p : peaks)
    EXPECT_EQ(p, 1) << "an edge admitted more than one step at once (or none)";
  EXPECT_EQ(r.metrics[1]["clients_reported"], 8);

  auto free_run = capped;
  free_run.max_concurrent_steps = 0;
  free_run.out_dir += "_free";
  std::filesystem::remove_all(free_run.out_dir);
  run_quietly(free_run);
  EXPECT_EQ(file_bytes(capped.out_dir / "adapters/spam/adapter_model.safetensors"),
            file_bytes(free_run.out_dir / "adapters/spam/adapter_model.safetensors"));
}

} // namespace
} // namespace elsa::testing
