// Roles stand alone: an edge or a client is built from the run config, its id and this process's resources
// (the frozen base, the data), given only the coordinator's address, and finds everyone else by messages. Here
// each is spawned on its own in an actor system whose other participants are scripted test actors: it
// registers, takes its peer table only from the coordinator, and works from what the table says (an edge
// opens each client's round with that client's placement only; a client sends its first head activation to
// the edge the table named). A whole run records the registration and an on-time straggler delay.
#include <gtest/gtest.h>

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/client.hpp"
#include "actors/cluster_coordinator.hpp"
#include "core/run/checkpoint.hpp"
#include "actors/edge_server.hpp"
#include "core/fed/adapters.hpp"
#include "core/fed/edge_body.hpp"
#include "core/fed/federation_data.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/fed/split_client.hpp"
#include "core/train/tokens.hpp"
#include "tests/actors/run_helpers.hpp"

namespace elsa::testing {
namespace {

using namespace messages;
using std::chrono::seconds;

struct standalone {
  run::run_config cfg;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<actors::run_context> ctx;

  explicit standalone(const std::string& name, int64_t clients = 4, int64_t edges = 4) : cfg(small_run(name)) {
    cfg.clients = clients;
    cfg.edges = edges;
    cfg.kappa1 = 1;
    cfg.step_deadline_ms = 2000;
    register_message_types(sys_cfg);
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    codec_limits limits;
    limits.max_clients = 4;
    limits.max_edges = 4;
    limits.max_clusters = 1;
    ctx = std::make_shared<actors::run_context>(cfg, limits);
    ctx->task_names = {"spam"};
  }
};

// The coordinator alone, with `recorder` as its process's recorder and `cloud` as the cloud; unless `answer`
// is false, the cloud answers its registration at once (a fresh run: no checkpoint to start from).
actors::coordinator_actor spawn_coordinator(standalone& s, caf::scoped_actor& recorder, caf::scoped_actor& cloud,
                                            bool answer = true) {
  s.ctx->recorder = caf::actor_cast<actors::recorder_actor>(recorder);
  auto coordinator = s.sys->spawn(actors::cluster_coordinator, actors::context_ptr{s.ctx},
                                  caf::actor_cast<actors::cloud_actor>(cloud));
  if (answer)
    cloud->send(coordinator, checkpoint_atom::value, payload{});
  return coordinator;
}

// Receives the next (deliver, payload) at `self`, decoded as any kind; fails the test after 20 s.
received<message_body> next_message(caf::scoped_actor& self, const codec& c) {
  received<message_body> out;
  bool got = false;
  self->receive(
    [&](deliver_atom, const payload& bytes) {
      auto m = c.decode_any(bytes);
      ASSERT_TRUE(m.ok()) << m.error().message;
      out = std::move(*m);
      got = true;
    },
    caf::after(seconds(20)) >> [] { FAIL() << "no message within 20 s"; });
  EXPECT_TRUE(got);
  return out;
}

// Receives the next peer table (with its handles) at `self`.
std::pair<received<peer_table>, actors::handles> next_table(caf::scoped_actor& self, const codec& c) {
  std::pair<received<peer_table>, actors::handles> out;
  self->receive(
    [&](deliver_atom, const payload& bytes, const actors::handles& hs) {
      auto m = c.decode<peer_table>(bytes);
      ASSERT_TRUE(m.ok()) << m.error().message;
      out = {std::move(*m), hs};
    },
    caf::after(seconds(20)) >> [] { FAIL() << "no peer table within 20 s"; });
  return out;
}

// The next error event at the scripted recorder.
nlohmann::json next_error(caf::scoped_actor& recorder) {
  nlohmann::json ev = nlohmann::json::object();
  for (int i = 0; i < 16 && ev.value("type", "") != "error"; ++i)
    recorder->receive([&](record_atom, const std::string& text) { ev = nlohmann::json::parse(text); },
                      caf::after(seconds(20)) >> [] { FAIL() << "no event within 20 s"; });
  return ev;
}

TEST(Registration, AnEdgeAloneRegistersTakesItsPeersFromTheCoordinatorAndOpensEachClientsOwnRound) {
  standalone s("standalone_edge");
  auto& sys = *s.sys;
  const auto& c = s.ctx->codec;
  caf::scoped_actor recorder{sys}, coordinator{sys}, cloud{sys}, client1{sys}, client3{sys};
  s.ctx->recorder = caf::actor_cast<actors::recorder_actor>(recorder);
  const auto base = fed::load_frozen_base(s.cfg.model_dir);
  auto edge = sys.spawn(actors::edge_server, actors::context_ptr{s.ctx}, std::make_shared<fed::edge_body>(s.cfg, base),
                        2u, caf::actor_cast<actors::coordinator_actor>(coordinator));

  // It registers as edge 2, from its own address.
  auto hello = next_message(coordinator, c);
  EXPECT_EQ(hello.sender, (participant{tier::edge, 2}));
  EXPECT_TRUE(std::holds_alternative<registration>(hello.body));

  peer_table table;
  table.peers = {{{tier::cloud, 0}, 0, 0}, {{tier::client, 1}, 50, 0}, {{tier::client, 3}, 60, 0}};
  const actors::handles hs{caf::actor_cast<caf::actor>(cloud), caf::actor_cast<caf::actor>(client1),
                           caf::actor_cast<caf::actor>(client3)};
  auto table_bytes = c.encode(participant{tier::coordinator, 0}, table).value();
  // A peer table is taken from the coordinator only: the same table from client 1 is refused and recorded.
  client1->send(edge, deliver_atom::value, table_bytes, hs);
  const auto refused = next_error(recorder);
  EXPECT_EQ(refused.value("code", ""), "refused/forged_sender") << refused.dump();
  EXPECT_EQ(refused.value("actor", ""), "edge 2");
  // From the coordinator, but with a handle missing: refused too, nothing half-applied.
  coordinator->send(edge, deliver_atom::value, table_bytes, actors::handles{hs[0], hs[1]});
  const auto short_table = next_error(recorder);
  EXPECT_EQ(short_table.value("code", ""), "refused/no_handles") << short_table.dump();
  coordinator->send(edge, deliver_atom::value, table_bytes, hs);

  // The cloud's global adapters (now the cloud is a known peer), then the coordinator opens round 0 for this
  // edge's two clients.
  adapter_update global;
  global.cluster_id = 0;
  global.form = fed::initial_adapters(*base, s.cfg, 2, 7);
  cloud->send(edge, deliver_atom::value, c.encode(participant{tier::cloud, 0}, global).value());
  open_round open;
  open.round = 0;
  open.local_steps = 1;
  open.deadline_ms = 60000;
  open.assignments = {{1, 2, 0}, {3, 2, 0}};
  open.splits = {{1, 1, 1}, {3, 1, 1}};
  coordinator->send(edge, deliver_atom::value, c.encode(participant{tier::coordinator, 0}, open).value());

  // Each client gets the cluster's adapters (a newcomer) and an opening with its own placement only.
  for (auto [self, id] : {std::pair<caf::scoped_actor*, uint32_t>{&client1, 1}, {&client3, 3}}) {
    auto first = next_message(*self, c);
    EXPECT_TRUE(std::holds_alternative<adapter_update>(first.body)) << "client " << id;
    auto second = next_message(*self, c);
    ASSERT_TRUE(std::holds_alternative<open_round>(second.body)) << "client " << id;
    const auto& mine = std::get<open_round>(second.body);
    EXPECT_EQ(second.sender, (participant{tier::edge, 2}));
    EXPECT_EQ(mine.assignments, (std::vector<assignment>{{id, 2, 0}}));
    EXPECT_EQ(mine.splits, (std::vector<split_point>{{id, 1, 1}}));
    EXPECT_EQ(mine.local_steps, 1u);
  }
  caf::anon_send_exit(edge, caf::exit_reason::user_shutdown);
}

TEST(Registration, AClientAloneRegistersItsSamplesAndStepsWithTheEdgeItsTableNames) {
  standalone s("standalone_client");
  auto& sys = *s.sys;
  const auto& c = s.ctx->codec;
  caf::scoped_actor recorder{sys}, coordinator{sys}, edge1{sys};
  s.ctx->recorder = caf::actor_cast<actors::recorder_actor>(recorder);
  const auto tok = train::load_tokenizer(s.cfg.model_dir);
  const auto base = fed::load_frozen_base(s.cfg.model_dir);
  const auto data = fed::load_federation_data(s.cfg);
  auto core = std::make_shared<fed::split_client>(s.cfg, data, 2, tok, base);
  const auto samples = core->sample_count();
  auto client = sys.spawn(actors::client, actors::context_ptr{s.ctx}, core, 2u, 0u,
                          caf::actor_cast<actors::coordinator_actor>(coordinator));

  auto hello = next_message(coordinator, c);
  EXPECT_EQ(hello.sender, (participant{tier::client, 2}));
  ASSERT_TRUE(std::holds_alternative<registration>(hello.body));
  EXPECT_EQ(std::get<registration>(hello.body).samples, samples);
  EXPECT_GT(samples, 0u);

  // The table names edges 1 and 3 (scripted actors); the coordinator places the client on edge 1.
  caf::scoped_actor edge3{sys};
  peer_table table;
  table.peers = {{{tier::edge, 1}, 0, 0}, {{tier::edge, 3}, 0, 0}};
  coordinator->send(client, deliver_atom::value, c.encode(participant{tier::coordinator, 0}, table).value(),
                    actors::handles{caf::actor_cast<caf::actor>(edge1), caf::actor_cast<caf::actor>(edge3)});
  assignment_update placed{0, assignment_reason::initial, {{2, 1, 0}}};
  coordinator->send(client, deliver_atom::value, c.encode(participant{tier::coordinator, 0}, placed).value());
  // Edge 3 is a known peer but not this client's edge: its opening is refused. Edge 1 speaking for the
  // coordinator (moving the client to edge 3) is a forged sender.
  open_round open;
  open.round = 0;
  open.local_steps = 1;
  open.deadline_ms = 60000;
  open.assignments = {{2, 3, 0}};
  edge3->send(client, deliver_atom::value, c.encode(participant{tier::edge, 3}, open).value());
  auto refused = next_error(recorder);
  EXPECT_EQ(refused.value("code", ""), "refused/wrong_sender") << refused.dump();
  assignment_update moved{0, assignment_reason::latency, {{2, 3, 0}}};
  edge1->send(client, deliver_atom::value, c.encode(participant{tier::coordinator, 0}, moved).value());
  refused = next_error(recorder);
  EXPECT_EQ(refused.value("code", ""), "refused/forged_sender") << refused.dump();
  // Edge 1 opens round 0 with one local step.
  open = open_round{};
  open.round = 0;
  open.local_steps = 1;
  open.deadline_ms = 60000;
  open.assignments = {{2, 1, 0}};
  open.splits = {{2, 1, 1}};
  edge1->send(client, deliver_atom::value, c.encode(participant{tier::edge, 1}, open).value());

  // Its head forward reaches edge 1 as a request: client 2's head activation of round 0, step 0.
  bool asked = false;
  edge1->receive(
    [&](forward_atom, const payload& bytes) {
      auto m = c.decode<split_tensor>(bytes);
      ASSERT_TRUE(m.ok()) << m.error().message;
      EXPECT_EQ(m->sender, (participant{tier::client, 2}));
      EXPECT_EQ(m->body.client_id, 2u);
      EXPECT_EQ(m->body.round, 0u);
      EXPECT_EQ(m->body.step, 0u);
      EXPECT_EQ(m->body.from, segment::head);
      EXPECT_EQ(m->body.tensor.shape().at(2), 192);
      asked = true;
    },
    caf::after(seconds(20)) >> [] { FAIL() << "no forward request within 20 s"; });
  EXPECT_TRUE(asked);
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
}

TEST(Registration, TheCoordinatorAloneTakesEachRegistrationOnceAndHandsOutThePeerTables) {
  standalone s("standalone_coordinator", 2, 1);
  auto& sys = *s.sys;
  const auto& c = s.ctx->codec;
  caf::scoped_actor recorder{sys}, cloud{sys}, client0{sys}, client1{sys}, impostor{sys}, edge0{sys};
  auto coordinator = spawn_coordinator(s, recorder, cloud, false);
  auto hello = next_message(cloud, c);
  EXPECT_EQ(hello.sender, (participant{tier::coordinator, 0}));
  client0->send(coordinator, deliver_atom::value, c.encode(participant{tier::client, 0}, registration{10, 0}).value());
  // A second actor claiming client 0 is refused; the first registration stands.
  impostor->send(coordinator, deliver_atom::value,
                 c.encode(participant{tier::client, 0}, registration{999, 0}).value());
  const auto refused = next_error(recorder);
  EXPECT_EQ(refused.value("code", ""), "refused/registration_closed") << refused.dump();
  client1->send(coordinator, deliver_atom::value, c.encode(participant{tier::client, 1}, registration{20, 0}).value());
  edge0->send(coordinator, deliver_atom::value, c.encode(participant{tier::edge, 0}, registration{}).value());
  // Everyone registered, but registration completes only once the cloud said whether the run resumes (from a
  // checkpoint); an answer from anyone else is refused.
  bool early = false;
  edge0->receive([&](deliver_atom, const payload&, const actors::handles&) { early = true; },
                 caf::after(std::chrono::milliseconds(300)) >> [] {});
  EXPECT_FALSE(early) << "a peer table before the cloud answered";
  impostor->send(coordinator, checkpoint_atom::value, payload{});
  const auto forged = next_error(recorder);
  EXPECT_EQ(forged.value("code", ""), "refused/forged_sender") << forged.dump();
  cloud->send(coordinator, checkpoint_atom::value, payload{});

  // The edge: the cloud and both clients with what they registered, each with its own handle.
  auto [for_edge, edge_handles] = next_table(edge0, c);
  ASSERT_EQ(for_edge.body.peers.size(), 3u);
  EXPECT_EQ(for_edge.body.peers[0].who, (participant{tier::cloud, 0}));
  EXPECT_EQ(for_edge.body.peers[1], (peer_entry{{tier::client, 0}, 10, 0}));
  EXPECT_EQ(for_edge.body.peers[2], (peer_entry{{tier::client, 1}, 20, 0}));
  EXPECT_EQ(edge_handles[0], caf::actor_cast<caf::actor>(cloud));
  EXPECT_EQ(edge_handles[1], caf::actor_cast<caf::actor>(client0));
  EXPECT_EQ(edge_handles[2], caf::actor_cast<caf::actor>(client1));
  // Each client: the edges, then its own placement.
  for (auto [self, id] : {std::pair<caf::scoped_actor*, uint32_t>{&client0, 0}, {&client1, 1}}) {
    auto [table, hs] = next_table(*self, c);
    EXPECT_EQ(table.body.peers, (std::vector<peer_entry>{{{tier::edge, 0}, 0, 0}}));
    EXPECT_EQ(hs, (actors::handles{caf::actor_cast<caf::actor>(edge0)}));
    auto placed = next_message(*self, c);
    ASSERT_TRUE(std::holds_alternative<assignment_update>(placed.body));
    EXPECT_EQ(std::get<assignment_update>(placed.body).assignments, (std::vector<assignment>{{id, 0, 0}}));
  }
  // The cloud: the edges, then the clients with the task of each one's head (it scores each task with the
  // cluster most of that task's clients are in; it never talks to them).
  auto [for_cloud, cloud_handles] = next_table(cloud, c);
  EXPECT_EQ(for_cloud.body.peers, (std::vector<peer_entry>{{{tier::edge, 0}, 0, 0},
                                                           {{tier::client, 0}, 10, 0},
                                                           {{tier::client, 1}, 20, 0}}));
  EXPECT_EQ(cloud_handles.size(), 3u);
  caf::anon_send_exit(coordinator, caf::exit_reason::user_shutdown);
}

// A resumed run: the cloud answers the coordinator's registration with the coordinator's part of the checkpoint;
// the coordinator hands out placements from it (tagged with the edge round the run resumes at, which is where
// each client goes on through its data) and gives the edges the trust it kept.
TEST(Registration, AResumedRunsCoordinatorTakesTrustAndPlacementFromTheCloudsAnswer) {
  standalone s("standalone_resumed", 2, 1);
  auto& sys = *s.sys;
  const auto& c = s.ctx->codec;
  caf::scoped_actor recorder{sys}, cloud{sys}, client0{sys}, client1{sys}, edge0{sys};
  auto coordinator = spawn_coordinator(s, recorder, cloud, false);
  next_message(cloud, c);  // its registration
  run::coordinator_checkpoint kept;
  kept.cloud_rounds = 1;
  kept.cluster_of = {{0, 0}, {1, 0}};
  kept.trust = {{0, 1.0}, {1, 0.2}};
  kept.assignments = {{0, 0, 0}, {1, 0, 0}};
  kept.splits = {{0, 1, 1}, {1, 1, 1}};
  kept.rtt_ms = {5.0, 7.0};
  kept.placed = true;
  const auto bytes = run::checkpoint_bytes(kept, s.cfg);
  cloud->send(coordinator, checkpoint_atom::value, payload::copy_of(bytes.data(), bytes.size()));
  client0->send(coordinator, deliver_atom::value, c.encode(participant{tier::client, 0}, registration{10, 0}).value());
  client1->send(coordinator, deliver_atom::value, c.encode(participant{tier::client, 1}, registration{20, 0}).value());
  edge0->send(coordinator, deliver_atom::value, c.encode(participant{tier::edge, 0}, registration{}).value());
  next_table(edge0, c);
  auto trust = next_message(edge0, c);
  ASSERT_TRUE(std::holds_alternative<trust_update>(trust.body));
  const auto& scores = std::get<trust_update>(trust.body).scores;
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[1].client_id, 1u);
  EXPECT_DOUBLE_EQ(scores[1].score, 0.2);
  EXPECT_EQ(scores[1].excluded, s.cfg.trust_weighting && 0.2 < s.cfg.tau_min);
  for (auto [self, id] : {std::pair<caf::scoped_actor*, uint32_t>{&client0, 0}, {&client1, 1}}) {
    next_table(*self, c);
    auto placed = next_message(*self, c);
    ASSERT_TRUE(std::holds_alternative<assignment_update>(placed.body));
    const auto& up = std::get<assignment_update>(placed.body);
    EXPECT_EQ(up.reason, assignment_reason::initial);
    EXPECT_EQ(up.round, 2u) << "cloud round 1 x kappa2 2";
    EXPECT_EQ(up.assignments, (std::vector<assignment>{{id, 0, 0}}));
  }
  caf::anon_send_exit(coordinator, caf::exit_reason::user_shutdown);
}

// The coordinator alone, with a scripted cloud and edge: it holds the cloud's opening until the edge has
// measured its links; a second opening that comes while that measurement is still out is not lost: the
// first round opens on what was measured (nothing), is recorded as missed, and the new one is measured for.
TEST(Registration, ACloudOpeningDuringALinkMeasurementIsRecordedAndNeitherIsLost) {
  standalone s("standalone_held_opening", 2, 1);
  auto& sys = *s.sys;
  const auto& c = s.ctx->codec;
  caf::scoped_actor recorder{sys}, cloud{sys}, client0{sys}, client1{sys}, edge0{sys};
  auto coordinator = spawn_coordinator(s, recorder, cloud);
  next_message(cloud, c);  // its registration
  client0->send(coordinator, deliver_atom::value, c.encode(participant{tier::client, 0}, registration{10, 0}).value());
  client1->send(coordinator, deliver_atom::value, c.encode(participant{tier::client, 1}, registration{20, 0}).value());
  edge0->send(coordinator, deliver_atom::value, c.encode(participant{tier::edge, 0}, registration{}).value());
  next_table(edge0, c);
  next_table(cloud, c);
  const participant the_cloud{tier::cloud, 0}, the_edge{tier::edge, 0};
  auto open_cloud_round = [&](uint32_t round) {
    open_round open;
    open.round = round;
    cloud->send(coordinator, deliver_atom::value, c.encode(the_cloud, open).value());
  };
  auto next_at_edge = [&] { return next_message(edge0, c).body; };

  open_cloud_round(0);
  auto ping = next_at_edge();
  ASSERT_TRUE(std::holds_alternative<heartbeat>(ping));
  EXPECT_FALSE(std::get<heartbeat>(ping).is_reply);
  // The edge never replies; the cloud opens cloud round 1 (edge round 2).
  open_cloud_round(2);
  const auto missed = next_error(recorder);
  EXPECT_EQ(missed.value("code", ""), "deadline_missed") << missed.dump();
  EXPECT_NE(missed.value("text", "").find("link measurement for round 0 was still out"), std::string::npos)
    << missed.dump();
  // Round 0 opens on the edge after all, then the new measurement's ping comes.
  auto opened = next_at_edge();
  ASSERT_TRUE(std::holds_alternative<open_round>(opened));
  EXPECT_EQ(std::get<open_round>(opened).round, 0u);
  auto ping2 = next_at_edge();
  ASSERT_TRUE(std::holds_alternative<heartbeat>(ping2));
  const auto& p2 = std::get<heartbeat>(ping2);
  EXPECT_GT(p2.seq, std::get<heartbeat>(ping).seq);
  // This time the edge replies, and round 2 opens with both clients on it.
  heartbeat reply;
  reply.seq = p2.seq;
  reply.echo_ns = p2.sent_ns;
  reply.is_reply = true;
  reply.links = {{0, 3.0}, {1, 4.0}};
  edge0->send(coordinator, deliver_atom::value, c.encode(the_edge, reply).value());
  auto opened2 = next_at_edge();
  ASSERT_TRUE(std::holds_alternative<open_round>(opened2));
  EXPECT_EQ(std::get<open_round>(opened2).round, 2u);
  EXPECT_EQ(std::get<open_round>(opened2).assignments.size(), 2u);
  caf::anon_send_exit(coordinator, caf::exit_reason::user_shutdown);
}

TEST(Registration, AParticipantThatNeverRegistersIsNamedAtTheDeadline) {
  standalone s("standalone_deadline", 2, 1);
  s.cfg.round_deadline_ms = 300;
  s.ctx = std::make_shared<actors::run_context>(s.cfg, s.ctx->codec.limits());
  auto& sys = *s.sys;
  const auto& c = s.ctx->codec;
  caf::scoped_actor recorder{sys}, cloud{sys}, client0{sys}, edge0{sys};
  auto coordinator = spawn_coordinator(s, recorder, cloud);
  client0->send(coordinator, deliver_atom::value, c.encode(participant{tier::client, 0}, registration{10, 0}).value());
  edge0->send(coordinator, deliver_atom::value, c.encode(participant{tier::edge, 0}, registration{}).value());
  const auto ev = next_error(recorder);
  EXPECT_EQ(ev.value("code", ""), "not_registered") << ev.dump();
  EXPECT_NE(ev.value("text", "").find("clients missing: 1; edges missing: none"), std::string::npos) << ev.dump();
  caf::anon_send_exit(coordinator, caf::exit_reason::user_shutdown);
}

// [faults] start_quorum: with 2 of 3 clients and the edge registered at the deadline, 0.6 starts the run
// without client 2 (recorded by name) and hands out tables of the two; 0.7 would not (as above).
TEST(Registration, AtTheDeadlineAStartQuorumStartsWithoutTheAbsentClients) {
  standalone s("standalone_quorum", 3, 1);
  s.cfg.round_deadline_ms = 300;
  s.cfg.start_quorum = 0.6;
  s.ctx = std::make_shared<actors::run_context>(s.cfg, s.ctx->codec.limits());
  auto& sys = *s.sys;
  const auto& c = s.ctx->codec;
  caf::scoped_actor recorder{sys}, cloud{sys}, client0{sys}, client1{sys}, edge0{sys};
  auto coordinator = spawn_coordinator(s, recorder, cloud);
  next_message(cloud, c);  // its registration
  client0->send(coordinator, deliver_atom::value, c.encode(participant{tier::client, 0}, registration{10, 0}).value());
  client1->send(coordinator, deliver_atom::value, c.encode(participant{tier::client, 1}, registration{20, 0}).value());
  edge0->send(coordinator, deliver_atom::value, c.encode(participant{tier::edge, 0}, registration{}).value());
  const auto ev = next_error(recorder);
  EXPECT_EQ(ev.value("code", ""), "absent_at_start") << ev.dump();
  EXPECT_NE(ev.value("text", "").find("with 2 of 3 clients ([faults] start_quorum = 0.6); starting without clients 2"),
            std::string::npos)
    << ev.dump();
  auto [for_edge, edge_handles] = next_table(edge0, c);
  EXPECT_EQ(for_edge.body.peers.size(), 3u);  // the cloud and the two clients
  auto [for_cloud, cloud_handles] = next_table(cloud, c);
  EXPECT_EQ(for_cloud.body.peers.size(), 3u);  // the edge and the two clients
  caf::anon_send_exit(coordinator, caf::exit_reason::user_shutdown);
}

TEST(Registration, AWholeRunRecordsTheRegistrationAndAnOnTimeStragglerDelay) {
  auto cfg = small_run("registration_run");
  cfg.rounds = 2;
  cfg.kappa1 = 1;
  cfg.stragglers = {5};
  cfg.straggler_delay_ms = 40;  // far under the deadline: the update is on time
  const auto r = run_quietly(cfg);
  ASSERT_TRUE(r.summary.value("finished", false));
  const auto registered = events_of(cfg, "registered");
  for (const auto& ev : registered) {
    EXPECT_EQ(ev.value("clients", 0), 8);
    EXPECT_EQ(ev.value("edges", 0), 2);
    EXPECT_GT(ev.value("bytes_control", 0), 0);
  }
  const auto delays = events_of(cfg, "fault");
  for (const auto& ev : delays) {
    EXPECT_EQ(ev.value("client", -1), 5);
    EXPECT_EQ(ev.value("delay_ms", 0), 40);
  }
  EXPECT_EQ(registered.size(), 1u);
  EXPECT_EQ(delays.size(), 2u);  // one per round
  for (const auto& line : r.metrics) {
    EXPECT_EQ(line["faults"], nlohmann::json::array({{{"client", 5}, {"kind", "delay"}, {"delay_ms", 40}}}))
      << line.dump();
    EXPECT_TRUE(line["stragglers"].empty()) << "on time, so not late: " << line.dump();
  }
  EXPECT_TRUE(r.errors.empty()) << nlohmann::json(r.errors).dump(2);
}

} // namespace
} // namespace elsa::testing
