// The baselines' layouts ([split] layout) on real spam data with the shipped model: a whole-model client
// (FedAvg-LoRA, HierFAVG-LoRA) and a two-part split with the labels at the edge (SplitFed-LoRA) train exactly
// the model the U-shaped split trains from the same start on the same batches; bad requests are refused.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>

#include "core/errors.hpp"
#include "core/fed/adapters.hpp"
#include "core/fed/edge_body.hpp"
#include "core/fed/federation_data.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/fed/split_client.hpp"
#include "core/fed/tensor_bridge.hpp"
#include "tests/fed/split_fixture.hpp"

namespace elsa::fed {
namespace {

struct Layouts : split_resources<Layouts> {
  static run::run_config config() {
    auto cfg = two_clients(200);
    cfg.grad_clip = 0.0;  // clipping is per participant: without it every grouping takes the same step
    return cfg;
  }
  static run::run_config with_layout(const std::string& layout) {
    auto c = *cfg;
    c.split_layout = layout;
    return c;
  }
  static std::vector<client_task> tasks() {
    std::vector<client_task> out;
    for (const auto& s : data->shards)
      out.push_back({data->tasks.at(s.task_index)->name, data->num_labels(s.task_index)});
    return out;
  }
};

TEST_F(Layouts, EveryLayoutTrainsTheSameModelFromTheSameStart) {
  const auto u = with_layout("u_shaped"), whole = with_layout("whole_model"), two = with_layout("two_part");
  const auto start = initial_adapters(**base, u, data->num_labels(0), 7);
  split_client cu(u, *data, 0, *tok, *base), cw(whole, *data, 0, *tok, *base), ct(two, *data, 0, *tok, *base);
  edge_body eu(u, *base), ew(whole, *base), et(two, *base, tasks());
  EXPECT_TRUE(eu.add_client(0, 1, 1));
  EXPECT_TRUE(ew.add_client(0, 1, 1));
  EXPECT_TRUE(et.add_client(0, 1, 0));
  EXPECT_EQ(ct.tail_blocks(), 0) << "a two-part client has no tail";
  for (auto* c : {&cu, &cw, &ct})
    c->load_adapters(start);
  for (auto* e : {&eu, &ew, &et})
    e->load_adapters(0, start);
  EXPECT_TRUE(ew.adapters(0).empty()) << "a whole-model edge holds nothing";
  for (int i = 0; i < 3; ++i) {
    auto head = cu.begin_step();
    EXPECT_TRUE(head.labels.empty()) << "the U-shape never sends labels";
    const double lu = cu.finish_step(eu.backward(0, cu.tail_step(eu.forward(0, head.activation, head.lengths))));
    const double lw = cw.local_step();
    auto h2 = ct.begin_step();
    ASSERT_EQ(h2.labels.size(), h2.lengths.size()) << "a two-part client sends one label per row";
    auto server = et.train_step(0, h2.activation, h2.lengths, h2.labels);
    const double lt = ct.finish_step(server.head_grad, server.loss);
    EXPECT_NEAR(lw, lu, 1e-5) << "step " << i;
    EXPECT_NEAR(lt, lu, 1e-5) << "step " << i;
    EXPECT_GT(lu, 0.0);
  }
  const auto split = merge_disjoint(cu.adapters(), eu.adapters(0));
  const auto local = cw.adapters();
  const auto two_part = merge_disjoint(ct.adapters(), et.adapters(0));
  EXPECT_LT(max_diff(local, split), 1e-5) << "whole model on the client = the U-shaped split";
  EXPECT_LT(max_diff(two_part, split), 1e-5) << "labels at the edge = the U-shaped split";
  EXPECT_GT(max_diff(local, with_task_head(start, "spam")), 1e-4) << "and it trained";
  // What each side holds: the two-part client only its head block's adapters; its edge the rest and the head.
  for (const auto& nt : ct.adapters())
    EXPECT_EQ(lora_block(nt.name), 0) << nt.name;
  bool edge_has_head = false;
  for (const auto& nt : et.adapters(0))
    edge_has_head = edge_has_head || nt.name == head_name("spam");
  EXPECT_TRUE(edge_has_head);
}

TEST_F(Layouts, RequestsOfAnotherLayoutAndBadLabelsAreRefused) {
  const auto u = with_layout("u_shaped"), whole = with_layout("whole_model"), two = with_layout("two_part");
  split_client cu(u, *data, 0, *tok, *base), ct(two, *data, 0, *tok, *base);
  EXPECT_THROW(cu.local_step(), elsa::error) << "a local step needs the whole model";
  edge_body ew(whole, *base), et(two, *base, tasks()), no_tasks(two, *base);
  ew.add_client(0, 1, 1);
  et.add_client(0, 1, 0);
  EXPECT_THROW(no_tasks.add_client(0, 1, 0), elsa::error) << "a two-part edge must know the client's task";
  EXPECT_THROW(no_tasks.add_client(0, 1, 0), elsa::error) << "and a retry fails the same way: nothing half-built";
  EXPECT_FALSE(no_tasks.has_client(0));
  EXPECT_THROW(et.add_client(1, 1, 1), elsa::error) << "a two-part split has no tail";
  EXPECT_THROW(et.add_client(1, 4, 0), elsa::error) << "the edge runs at least one block";
  auto head = ct.begin_step();
  EXPECT_THROW(ew.forward(0, head.activation, head.lengths), elsa::error) << "a whole-model edge runs nothing";
  EXPECT_THROW(et.forward(0, head.activation, head.lengths), elsa::error) << "two-part steps come with labels";
  EXPECT_THROW(et.probe_forward(0, head.activation, head.lengths), elsa::error);
  auto bad = head.labels;
  bad[0] = 7;  // spam has 2 labels
  try {
    et.train_step(0, head.activation, head.lengths, bad);
    ADD_FAILURE() << "a label outside the task was taken";
  } catch (const elsa::error& e) {
    EXPECT_EQ(e.code(), errc::malformed_input);
    EXPECT_NE(std::string(e.what()).find("label 7"), std::string::npos) << e.what();
  }
  bad.pop_back();
  EXPECT_THROW(et.train_step(0, head.activation, head.lengths, bad), elsa::error) << "one label per row";
  auto server = et.train_step(0, head.activation, head.lengths, head.labels);
  EXPECT_TRUE(std::isfinite(ct.finish_step(server.head_grad, server.loss)));
}

} // namespace
} // namespace elsa::fed
