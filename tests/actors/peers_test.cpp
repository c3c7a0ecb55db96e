// What a role believes about who sent a message: a forged envelope (a client, or an actor outside the run,
// claiming to be the cloud) is refused by the edge and recorded; a trust update from the real coordinator
// mid-run changes the next aggregation, checked on the aggregate's values (its digest equals the one
// update left in), not on a map read back. Deterministic scheduler, real data.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <tuple>

#include <caf/send.hpp>
#include <fmt/format.h>

#include "actors/dispatch.hpp"
#include "actors/interfaces.hpp"
#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

messages::codec codec_for(const run::run_config& cfg) {
  messages::codec_limits limits;
  limits.max_clients = static_cast<uint32_t>(cfg.clients);
  limits.max_edges = static_cast<uint32_t>(cfg.edges);
  return messages::codec{limits};
}

std::vector<nlohmann::json> errors_with(const actors::run_result& r, const std::string& code) {
  std::vector<nlohmann::json> out;
  for (const auto& e : r.errors)
    if (e.value("code", "") == code)
      out.push_back(e);
  return out;
}

// A whole cluster set (every adapter of the shipped 4-block model at rank 8, and the classifier) with absurd
// values: if an edge took it, its slots and clients would train from it.
messages::adapter_update junk_global(uint32_t round) {
  messages::adapter_update up;
  up.round = round;
  up.base_round = round;
  up.cluster_id = 0;
  std::vector<messages::named_tensor> set;
  const std::pair<const char*, std::pair<int64_t, int64_t>> layers[] = {
    {"attn.c_attn", {192, 576}}, {"attn.c_proj", {192, 192}}, {"mlp.c_fc", {192, 768}}, {"mlp.c_proj", {768, 192}}};
  auto tensor = [](std::vector<int64_t> shape) {
    std::vector<float> v(static_cast<std::size_t>(shape[0] * shape[1]), 3.0f);
    return messages::tensor_bytes::copy_of(messages::dtype::f32, shape, v.data(), v.size() * sizeof(float));
  };
  for (int b = 0; b < 4; ++b)
    for (const auto& [name, io] : layers) {
      const auto base = fmt::format("base_model.model.transformer.h.{}.{}", b, name);
      set.push_back({base + ".lora_A.weight", tensor({8, io.first})});
      set.push_back({base + ".lora_B.weight", tensor({io.second, 8})});
    }
  set.push_back({"base_model.model.score.weight", tensor({2, 192})});
  std::sort(set.begin(), set.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  up.form = std::move(set);
  return up;
}

TEST(Peers, AnEdgeRefusesAdaptersWhoseEnvelopeClaimsTheCloud) {
  auto cfg = small_run("forged");
  cfg.rounds = 4;
  cfg.kappa1 = 2;
  // Mid-run, once edge 0 has closed round 0 (its slots and clients exist and train on): a forged "cloud"
  // update for round 2 from outside the run to edge 0, and the same from client 3 to edge 1.
  std::mutex mutex;
  bool sent = false;
  actors::run_hooks hooks;
  hooks.on_event = [&](const nlohmann::json& ev, const actors::directory& peers) {
    std::lock_guard<std::mutex> lock(mutex);
    if (sent || ev.value("type", "") != "edge_round")
      return;
    sent = true;
    auto bytes = codec_for(cfg).encode(messages::participant{messages::tier::cloud, 0}, junk_global(2));
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    caf::anon_send(peers.edges[0], messages::deliver_atom::value, *bytes);
    caf::send_as(peers.clients[3], peers.edges[1], messages::deliver_atom::value, *bytes);
  };
  const auto r = run_quietly(cfg, hooks);
  EXPECT_TRUE(r.summary.value("finished", false));
  // Refused means not applied: the adapters are bit for bit those of the same run without the forgeries.
  auto clean_cfg = cfg;
  clean_cfg.out_dir += "_clean";
  std::filesystem::remove_all(clean_cfg.out_dir);
  const auto clean = run_quietly(clean_cfg);
  EXPECT_EQ(file_bytes(cfg.out_dir / "adapters/spam/adapter_model.safetensors"),
            file_bytes(clean_cfg.out_dir / "adapters/spam/adapter_model.safetensors"));
  EXPECT_EQ(r.summary["tasks"]["spam"]["test_accuracy"], clean.summary["tasks"]["spam"]["test_accuracy"]);
  const auto refused = errors_with(r, "refused/forged_sender");
  ASSERT_EQ(refused.size(), 2u) << nlohmann::json(r.errors).dump(2);
  std::set<std::string> who, texts;
  for (const auto& e : refused) {
    who.insert(e.value("actor", ""));
    texts.insert(e.value("text", ""));
  }
  EXPECT_EQ(who, (std::set<std::string>{"edge 0", "edge 1"}));
  EXPECT_TRUE(texts.count("a adapter_update message whose envelope says cloud 0 came from an actor outside the run; "
                          "ignored"))
    << *texts.begin();
  EXPECT_TRUE(texts.count("a adapter_update message whose envelope says cloud 0 came from client 3; ignored"));
}

// Across processes a peer's first message can overtake the coordinator's peer table (the cloud's round-0
// adapters reached an edge first and were refused as from "an actor outside the run": the run stalled).
// Messages sent before any actor ran: an edge and a client hold what came from actors they do not know yet
// and take it once their table names the sender; what the table does not name is refused then.
TEST(Peers, WhatOvertakesThePeerTableIsHeldAndTakenFromItsRealSender) {
  auto cfg = small_run("early");
  cfg.rounds = 2;
  cfg.kappa1 = 2;
  actors::run_hooks hooks;
  hooks.before_start = [&](const actors::directory& peers) {
    const auto codec = codec_for(cfg);
    // From the cloud itself, a kind an edge does not take: refused as the wrong kind from cloud 0, which
    // needs the sender known; from an actor outside the run, the same bytes stay a forged sender.
    auto ping = codec.encode(messages::participant{messages::tier::cloud, 0}, messages::heartbeat{});
    ASSERT_TRUE(ping.ok()) << ping.error().message;
    caf::send_as(peers.cloud, peers.edges[0], messages::deliver_atom::value, *ping);
    // (From the recorder one more than an edge holds: the last is refused at once as too many.)
    for (std::size_t i = 0; i <= actors::max_early_messages; ++i)
      caf::send_as(peers.recorder, peers.edges[1], messages::deliver_atom::value, *ping);
    // From edge 0 to client 0 (placed on it), before the client knows its edges.
    auto close = codec.encode(messages::participant{messages::tier::edge, 0}, messages::close_round{});
    ASSERT_TRUE(close.ok()) << close.error().message;
    caf::send_as(peers.edges[0], peers.clients[0], messages::deliver_atom::value, *close);
  };
  const auto r = run_quietly(cfg, hooks);
  EXPECT_TRUE(r.summary.value("finished", false));
  EXPECT_EQ(r.summary["rounds_recorded"], 2) << r.summary.dump();
  std::set<std::tuple<std::string, std::string, std::string>> got;
  for (const auto& e : r.errors)
    got.insert({e.value("actor", ""), e.value("code", ""), e.value("text", "")});
  const std::set<std::tuple<std::string, std::string, std::string>> want{
    {"edge 0", "refused/wrong_kind", "a edge does not take heartbeat messages (this one from cloud 0)"},
    {"edge 1", "refused/forged_sender",
     "a heartbeat message whose envelope says cloud 0 came from an actor outside the run; ignored"},
    {"client 0", "refused/wrong_kind", "a client does not take close_round messages (this one from edge 0)"},
    {"edge 1", "refused/early_full",
     "a heartbeat message from an actor not known yet came while 256 messages wait for the peer table (at most "
     "256, 64 MiB); refused"},
  };
  EXPECT_EQ(got, want) << nlohmann::json(r.errors).dump(2);
  std::size_t held_then_refused = 0;
  for (const auto& e : r.errors)
    held_then_refused += e.value("code", "") == "refused/forged_sender" ? 1 : 0;
  EXPECT_EQ(held_then_refused, actors::max_early_messages);
}

TEST(Peers, ATrustUpdateMidRunChangesTheNextAggregatesValues) {
  auto cfg = small_run("trust_mid_run");
  cfg.rounds = 2;
  cfg.kappa1 = 2;
  // Edge 0 serves clients 0, 2, 4, 6. Once its round 0 is recorded, the coordinator excludes 2, 4 and 6.
  std::mutex mutex;
  std::vector<nlohmann::json> edge0_rounds;
  bool sent = false;
  actors::run_hooks hooks;
  hooks.on_event = [&](const nlohmann::json& ev, const actors::directory& peers) {
    if (ev.value("type", "") != "edge_round" || ev.value("edge", -1) != 0)
      return;
    std::lock_guard<std::mutex> lock(mutex);
    edge0_rounds.push_back(ev);
    if (sent)
      return;
    sent = true;
    messages::trust_update up;
    up.round = 0;
    up.scores = {{2, 0.0, true}, {4, 0.0, true}, {6, 0.0, true}};
    auto bytes = codec_for(cfg).encode(messages::participant{messages::tier::coordinator, 0}, up);
    ASSERT_TRUE(bytes.ok());
    caf::send_as(peers.coordinator, peers.edges[0], messages::deliver_atom::value, *bytes);
  };
  const auto r = run_quietly(cfg, hooks);
  ASSERT_EQ(edge0_rounds.size(), 2u);
  const auto& before = edge0_rounds[0];
  const auto& after = edge0_rounds[1];
  // Round 0: four updates averaged, so the aggregate equals none of them.
  ASSERT_EQ(before["update_digests"].size(), 4u) << before.dump();
  const std::string agg0 = before["aggregate_digests"]["0"];
  for (const auto& [c, d] : before["update_digests"].items())
    EXPECT_NE(d.get<std::string>(), agg0) << "client " << c;
  // Round 1: only client 0 is left in, so the aggregate is exactly client 0's update.
  ASSERT_EQ(after["update_digests"].size(), 4u) << "excluded clients still train and report";
  EXPECT_EQ(after["aggregate_digests"]["0"].get<std::string>(), after["update_digests"]["0"].get<std::string>())
    << after.dump();
  EXPECT_EQ(after["aggregated"], nlohmann::json::array({0})) << after.dump();
  EXPECT_EQ(after["left_out"], nlohmann::json({{"2", "excluded"}, {"4", "excluded"}, {"6", "excluded"}}));
  EXPECT_TRUE(before["left_out"].empty()) << before.dump();
}

} // namespace
} // namespace elsa::testing
