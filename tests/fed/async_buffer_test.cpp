// FedBuff at an edge (core/fed/async_buffer): the earliest uploads on the simulated clock are taken, the others
// held with their clients kept out of the next openings, a held upload comes back rebased onto the adapters of
// the round it is taken in, with its lag.
#include "core/fed/async_buffer.hpp"

#include <gtest/gtest.h>

#include "tests/fed/adapter_helpers.hpp"

namespace elsa::fed {
namespace {

client_update upload_of(uint32_t client, uint32_t round, float value) {
  return {client, round, 0, 10, {f32("a", {value})}};
}

TEST(AsyncBuffer, TheLateUploadWaitsAndComesBackRebasedOntoTheAdaptersOfItsFlush) {
  async_buffer b;
  b.opened(0, {{0, {f32("a", {1})}}});
  // Round 0: client 0 arrives after 2 s, client 1 after 9 s; a buffer of one takes client 0.
  auto f0 = b.flush(0, {{0, {upload_of(0, 0, 1.5), {2.0, 0.0}}}, {1, {upload_of(1, 0, 4.0), {9.0, 0.0}}}}, 1);
  ASSERT_EQ(f0.take.size(), 1u);
  EXPECT_EQ(f0.take[0].client, 0u);
  EXPECT_EQ(f0.staleness, (std::map<uint32_t, int64_t>{{0, 0}}));
  EXPECT_DOUBLE_EQ(f0.plan.seconds, 2.0);
  EXPECT_TRUE(b.holds(1));
  EXPECT_FALSE(b.holds(0));
  EXPECT_EQ(b.waiting(), (std::vector<uint32_t>{1}));

  // Round 1 starts from the new adapters (a = 1.5); only client 0 trains; it arrives after 3 s more, client 1's
  // round-0 upload 7 s after the last flush: client 0 is taken again.
  b.opened(1, {{0, {f32("a", {1.5})}}});
  auto f1 = b.flush(1, {{0, {upload_of(0, 1, 2.0), {3.0, 0.0}}}}, 1);
  ASSERT_EQ(f1.take.size(), 1u);
  EXPECT_EQ(f1.take[0].client, 0u);
  EXPECT_TRUE(b.holds(1));

  // Round 2 (a = 2.0): client 0's next upload would come after 8 s; client 1's is 4 s away and is taken, its
  // change (+3 from the a = 1 it started from) moved onto a = 2, two rounds late.
  b.opened(2, {{0, {f32("a", {2.0})}}});
  auto f2 = b.flush(2, {{0, {upload_of(0, 2, 2.5), {8.0, 0.0}}}}, 1);
  ASSERT_EQ(f2.take.size(), 1u);
  EXPECT_EQ(f2.take[0].client, 1u);
  EXPECT_EQ(f2.take[0].round, 0u);  // its own round: the aggregation weighs it by its lag
  EXPECT_EQ(values(f2.take[0].adapters[0]), (std::vector<float>{5.0f}));
  EXPECT_EQ(f2.staleness, (std::map<uint32_t, int64_t>{{1, 2}}));
  EXPECT_DOUBLE_EQ(f2.plan.seconds, 4.0);
  EXPECT_FALSE(b.holds(1));
  EXPECT_TRUE(b.holds(0));
}

TEST(AsyncBuffer, ABufferAsLargeAsTheEdgeIsASynchronousRound) {
  async_buffer b;
  b.opened(0, {{0, {f32("a", {0})}}});
  auto f = b.flush(0, {{0, {upload_of(0, 0, 1), {2.0, 1.0}}}, {1, {upload_of(1, 0, 2), {5.0, 1.0}}}}, 2);
  EXPECT_EQ(f.take.size(), 2u);
  EXPECT_DOUBLE_EQ(f.plan.seconds, 5.0 + 2.0);  // the slowest client plus the edge's work for both
  EXPECT_TRUE(b.waiting().empty());
}

TEST(AsyncBuffer, ALateUploadWhoseStartWasNeverOpenedIsNamed) {
  async_buffer b;  // round 0 never opened()
  b.flush(0, {{0, {upload_of(0, 0, 1), {1.0, 0.0}}}, {1, {upload_of(1, 0, 2), {5.0, 0.0}}}}, 1);
  b.opened(1, {{0, {f32("a", {0})}}});
  auto f = b.flush(1, {}, 1);
  ASSERT_EQ(f.take.size(), 1u);
  EXPECT_EQ(f.take[0].client, 1u);
  EXPECT_EQ(f.not_rebased, (std::vector<uint32_t>{1}));
  EXPECT_EQ(values(f.take[0].adapters[0]), (std::vector<float>{2}));  // as it came
}

} // namespace
} // namespace elsa::fed
