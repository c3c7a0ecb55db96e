// Adapter-set arithmetic: weighted averages checked against hand-computed values, and the errors that name
// what does not match.
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "core/fed/adapters.hpp"
#include "tests/fed/adapter_helpers.hpp"

namespace elsa::fed {
namespace {

TEST(Adapters, WeightedAverageMatchesHandComputedValues) {
  const adapter_set x = {f32("a", {1, 2}), f32("b", {3})};
  const adapter_set y = {f32("a", {5, 6}), f32("b", {7})};
  const auto avg = weighted_average({{&x, 1.0}, {&y, 3.0}});
  ASSERT_EQ(avg.size(), 2u);
  EXPECT_EQ(avg[0].name, "a");
  EXPECT_EQ(values(avg[0]), (std::vector<float>{4, 5}));  // (1 + 3*5) / 4, (2 + 3*6) / 4
  EXPECT_EQ(values(avg[1]), (std::vector<float>{6}));     // (3 + 3*7) / 4
  EXPECT_EQ(data_bytes(avg), 12u);
}

TEST(Adapters, AverageOfOneSetIsThatSet) {
  const adapter_set x = {f32("a", {0.25f, -1.5f})};
  EXPECT_EQ(values(weighted_average({{&x, 7.0}})[0]), values(x[0]));
}

TEST(Adapters, MismatchedSetsNameTheTensor) {
  const adapter_set x = {f32("h.0.lora_A", {1, 2})};
  const adapter_set y = {f32("h.0.lora_A", {1, 2, 3})};
  try {
    weighted_average({{&x, 1.0}, {&y, 1.0}});
    FAIL() << "shapes differ";
  } catch (const elsa::error& e) {
    EXPECT_NE(std::string(e.what()).find("h.0.lora_A"), std::string::npos) << e.what();
  }
  EXPECT_THROW(weighted_average({{&x, 0.0}}), elsa::error);
  EXPECT_THROW(weighted_average({{&x, -1.0}, {&x, 2.0}}), elsa::error);
  EXPECT_THROW(weighted_average({}), elsa::error);
}

TEST(Adapters, MergeDisjointSortsAndRejectsOverlap) {
  const adapter_set head = {f32("b", {1})};
  const adapter_set body = {f32("a", {2})};
  const auto all = merge_disjoint(head, body);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_THROW(merge_disjoint(head, head), elsa::error);
}

TEST(Adapters, RebaseAddsAnUpdatesChangeToNewerAdaptersEntryByEntry) {
  const adapter_set from = {f32("a", {1, 2}), f32("b", {0, 0, 0})};
  const adapter_set to = {f32("a", {10, 20}), f32("b", {5, 5})};  // b's shape changed: left as it is
  const adapter_set update = {f32("a", {1.5, 1}), f32("b", {1, 2, 3}), f32("head", {7})};
  const auto out = rebase(update, from, to);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "a");
  EXPECT_EQ(values(out[0]), (std::vector<float>{10.5f, 19.0f}));
  EXPECT_EQ(values(out[1]), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(values(out[2]), (std::vector<float>{7}));  // a name neither start holds
  // From the adapters of now it changes nothing.
  EXPECT_EQ(values(rebase(to, to, to)[0]), values(to[0]));
  // f16 on the wire comes out f32.
  const uint16_t half[2] = {0x3C00, 0x4000};  // 1.0, 2.0
  const adapter_set wire = {{"a", messages::tensor_bytes::copy_of(messages::dtype::f16, {2}, half, sizeof(half))}};
  const auto back = rebase(wire, from, to);
  EXPECT_EQ(back[0].tensor.type(), messages::dtype::f32);
  EXPECT_EQ(values(back[0]), (std::vector<float>{10, 20}));
}

} // namespace
} // namespace elsa::fed
