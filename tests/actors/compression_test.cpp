// [compress] through whole runs: count-sketched adapter uploads and fp16 activations, deterministic and
// threaded on the real clock. The run record's bytes_by_kind shows what was saved and the run still learns
// (the table maths at edges and the cloud is unit-tested in tests/fed/sketched_test.cpp).
#include <gtest/gtest.h>

#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

int64_t uplink_adapters(const nlohmann::json& s) {
  return s["bytes_by_kind"]["client_to_edge"]["adapters"].get<int64_t>()
         + s["bytes_by_kind"]["edge_to_cloud"]["adapters"].get<int64_t>();
}

int64_t activations(const nlohmann::json& s) {
  int64_t n = 0;
  for (const auto& [tier, kinds] : s["bytes_by_kind"].items())
    n += kinds["activations"].get<int64_t>();
  return n;
}

run::run_config compressed(const std::string& name, bool deterministic) {
  auto cfg = small_run(name);
  cfg.deterministic = deterministic;
  cfg.threads = 2;
  cfg.activations = "fp16";
  cfg.adapters = "sketch";
  cfg.sketch_ratio = 12.0;
  return cfg;
}

TEST(Compression, SketchesAndFp16CutTheUplinksAndTheRunLearnsUnderEitherDecode) {
  const auto dense = run_quietly(small_run("dense"));
  const auto comp = run_quietly(compressed("compressed", true));
  ASSERT_TRUE(comp.summary.value("finished", false));
  EXPECT_TRUE(comp.errors.empty()) << comp.errors.front().dump();
  const auto& d = dense.summary;
  const auto& c = comp.summary;
  // The same steps on both sides (same seed, same batches), so byte counts compare directly.
  EXPECT_GE(static_cast<double>(uplink_adapters(d)) / static_cast<double>(uplink_adapters(c)), 4.0)
    << d["bytes_by_kind"].dump() << "\n" << c["bytes_by_kind"].dump();
  const double act = static_cast<double>(activations(d)) / static_cast<double>(activations(c));
  EXPECT_GE(act, 1.9);
  EXPECT_LE(act, 2.0);
  // Downlinks stay dense: what edges send their clients and the cloud its edges is the same size.
  EXPECT_EQ(d["bytes_by_kind"]["cloud_to_edge"]["adapters"], c["bytes_by_kind"]["cloud_to_edge"]["adapters"]);
  // The record's ratio: dense-equivalent over sent, per tier.
  EXPECT_GT(c["compression"]["edge_to_cloud"].get<double>(), 5.0);
  EXPECT_NEAR(d["compression"]["edge_to_cloud"].get<double>(), 1.0, 1e-9);
  // It learns: clearly better than always answering "ham".
  const double majority = c["tasks"]["spam"].value("majority_accuracy", 1.0);
  EXPECT_GT(c["tasks"]["spam"].value("test_accuracy", 0.0), majority + 0.10) << c.dump(2);
  // ... and not much worse than the dense run of the same seed (the quickstart-sized gap is in docs/privacy.md).
  EXPECT_GT(c["tasks"]["spam"].value("test_accuracy", 0.0), d["tasks"]["spam"].value("test_accuracy", 1.0) - 0.05);
  // One upload per edge and cluster per cloud round, as in a dense run (edge_to_cloud's ratio above says they
  // were sketches).
  EXPECT_EQ(c["cloud_received"].value("adapter_update", 0), 2 * 2);

  // The top_k decode: the decode is the receivers' business, so the tables on the wire are the same size;
  // it learns too, and trains differently.
  auto topk_cfg = compressed("top_k", true);
  topk_cfg.sketch_decode = "top_k";
  const auto topk = run_quietly(topk_cfg);
  ASSERT_TRUE(topk.summary.value("finished", false));
  EXPECT_TRUE(topk.errors.empty()) << topk.errors.front().dump();
  EXPECT_EQ(topk.summary["bytes_by_kind"], c["bytes_by_kind"]);
  EXPECT_GT(topk.summary["tasks"]["spam"].value("test_accuracy", 0.0), majority + 0.05) << topk.summary.dump(2);
  EXPECT_NE(topk.summary["tasks"]["spam"]["test_loss"], c["tasks"]["spam"]["test_loss"]);
}

TEST(Compression, AThreadedRunOnARealClockDoesTheSame) {
  const auto r = run_quietly(compressed("compressed_threaded", false));
  ASSERT_TRUE(r.summary.value("finished", false));
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().dump();
  EXPECT_GT(r.summary["compression"]["client_to_edge"].get<double>(), 1.9);
  const double majority = r.summary["tasks"]["spam"].value("majority_accuracy", 1.0);
  EXPECT_GT(r.summary["tasks"]["spam"].value("test_accuracy", 0.0), majority + 0.05) << r.summary.dump(2);
}

} // namespace
} // namespace elsa::testing
