// One process's part of a run across processes (see node.hpp). Three small actors besides the roles:
// the rendezvous (in the cloud's process: admits joins, hands out where everyone is, stops everyone at the
// end), a node actor in every other process (what it publishes; takes the rendezvous's quiesce and stop) and
// a watcher (notices the rendezvous going away). Everything else is the one-process roles, unchanged.
#include "actors/node.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <thread>

#include <stdlib.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "actors/client.hpp"
#include "actors/cloud_aggregator.hpp"
#include "actors/cluster_coordinator.hpp"
#include "actors/data_plane.hpp"
#include "actors/edge_server.hpp"
#include "actors/network.hpp"
#include "actors/recorder.hpp"
#include "actors/resources.hpp"
#include "core/errors.hpp"
#include "core/fed/aggregation.hpp"
#include "core/fed/federation_data.hpp"

namespace elsa::actors {

namespace {

using clock_type = std::chrono::steady_clock;
using messages::node_info;

// What the rendezvous and the node actors tell their process's main thread, which polls it.
struct node_status {
  std::atomic<bool> ready{false};     // rendezvous: every participant joined
  std::atomic<bool> stop{false};      // node: the rendezvous said stop
  std::atomic<bool> lost{false};      // node: the rendezvous went away
  std::atomic<uint32_t> processes{1}; // rendezvous: processes in the run, itself included
  std::mutex mtx;
  std::string failure;                // rendezvous: why the run cannot start

  void fail(std::string why) {
    std::lock_guard<std::mutex> guard{mtx};
    if (failure.empty())
      failure = std::move(why);
  }
  std::string failed() {
    std::lock_guard<std::mutex> guard{mtx};
    return failure;
  }
};

// A line on the process's log, from any thread.
struct node_log {
  node_log(std::ostream* o, std::string p) : out(o), prefix(std::move(p)) {
    // nop
  }
  std::ostream* out;
  std::string prefix;
  std::mutex mtx;
  void line(const std::string& text) {
    std::lock_guard<std::mutex> guard{mtx};
    *out << (prefix + text + "\n") << std::flush;  // one write: processes share the terminal
  }
};

// -- the rendezvous (cloud's process) -----------------------------------------------------------------------

struct rendezvous_state {
  static inline const char* name = "elsa.rendezvous";

  const run::run_config* cfg = nullptr;
  std::shared_ptr<node_status> status;
  std::shared_ptr<node_log> log;
  caf::actor recorder;
  caf::actor cloud;
  caf::actor coordinator;                 // once its process announced it
  std::vector<node_info> joined;          // every process but this one, in join order
  std::set<caf::actor_addr> lost;         // node actors of processes that went away
  std::set<uint32_t> edges, clients;      // ids joined
  std::vector<std::pair<node_info, caf::response_promise>> waiting; // edges' and clients' joins
  std::optional<caf::response_promise> coordinator_waiting;         // the coordinator's join
  bool complete = false;
  bool closed = false;                    // the join deadline passed or the run ended: no more joins
  bool quorum_start = false;              // the deadline passed with [faults] start_quorum met: go without the rest
};

using rendezvous_pointer = caf::stateful_actor<rendezvous_state>*;

std::string missing_list(const rendezvous_state& st) {
  std::vector<std::string> out;
  if (!st.coordinator && !st.coordinator_waiting)  // (waiting: joined, answered once the others are in)
    out.push_back("the coordinator");
  for (int64_t e = 0; e < st.cfg->edges; ++e)
    if (!st.edges.count(static_cast<uint32_t>(e)))
      out.push_back(fmt::format("edge {}", e));
  for (int64_t c = 0; c < st.cfg->clients; ++c)
    if (!st.clients.count(static_cast<uint32_t>(c)))
      out.push_back(fmt::format("client {}", c));
  return fmt::format("{}", fmt::join(out, ", "));
}

// Why `n` may not join (empty: it may).
std::string join_problem(const rendezvous_state& st, const node_info& n) {
  if (st.closed)
    return st.complete ? "the run already started" : "the join deadline ([network] join_timeout_ms) passed";
  if (!n.node)
    return "it gave no node actor";
  if (n.role == "coordinator")
    return std::any_of(st.joined.begin(), st.joined.end(), [](const node_info& j) { return j.role == "coordinator"; })
             ? "the coordinator already joined"
             : "";
  const bool edge = n.role == "edge";
  if (!edge && n.role != "client")
    return fmt::format("role \"{}\" is none of coordinator, edge, client (the cloud is the rendezvous)", n.role);
  if (n.ids.empty())
    return fmt::format("it runs no {}", n.role);
  const auto limit = edge ? st.cfg->edges : st.cfg->clients;
  const auto& taken = edge ? st.edges : st.clients;
  std::set<uint32_t> seen;
  for (auto id : n.ids) {
    if (id >= limit)
      return fmt::format("{} {} is not in this run ({} {}s: 0..{})", n.role, id, limit, n.role, limit - 1);
    if (taken.count(id) || !seen.insert(id).second)
      return fmt::format("{} {} already joined", n.role, id);
  }
  return "";
}

// Two steps, so that the coordinator's registration deadline starts only once every process is there: when
// every edge and client joined, the coordinator's process gets its answer (the cloud to register with) and
// spawns the coordinator; when it announces it, everyone else gets theirs and the run starts.
// True when the message being handled comes from this process (its main thread or its own timer): control
// messages no other process may send, however it authenticated.
template <class Self>
bool from_here(Self* self) {
  const auto& src = self->current_sender();
  return src && src->node() == self->node();
}

// Answers every waiting join with `why` (the run will not start).
void fail_waiting(rendezvous_state& st, const std::string& why) {
  for (auto& [n, promise] : st.waiting)
    promise.deliver(messages::make_caf_error(errc::io_error, why));
  st.waiting.clear();
  if (st.coordinator_waiting)
    st.coordinator_waiting->deliver(messages::make_caf_error(errc::io_error, why));
  st.coordinator_waiting.reset();
}

void try_complete(rendezvous_pointer self) {
  auto& st = self->state;
  const bool enough_clients
    = static_cast<int64_t>(st.clients.size()) == st.cfg->clients
      || (st.quorum_start && fed::quorum_met(st.clients.size(), static_cast<std::size_t>(st.cfg->clients), st.cfg->start_quorum));
  if (st.complete || (st.closed && !st.quorum_start) || static_cast<int64_t>(st.edges.size()) < st.cfg->edges
      || !enough_clients)
    return;
  if (st.coordinator_waiting) {
    st.coordinator_waiting->deliver(st.recorder, st.cloud, st.joined);
    st.coordinator_waiting.reset();
  }
  if (!st.coordinator)
    return;
  st.complete = true;
  st.closed = true;
  for (auto& [n, promise] : st.waiting)
    promise.deliver(st.recorder, st.coordinator, st.joined);
  st.waiting.clear();
  st.status->processes = static_cast<uint32_t>(st.joined.size() + 1);
  st.log->line(fmt::format("every participant joined: {} processes; starting", st.joined.size() + 1));
  st.status->ready = true;
}

// Sends `what` to every joined process and answers `rp` once all replied (or one failed).
template <class Atom>
void broadcast(rendezvous_pointer self, Atom what, caf::response_promise rp) {
  auto& st = self->state;
  std::vector<const node_info*> live;
  for (const auto& n : st.joined)
    if (!st.lost.count(caf::actor_cast<caf::actor_addr>(n.node)))
      live.push_back(&n);
  auto left = std::make_shared<size_t>(live.size());
  if (*left == 0) {
    rp.deliver(true);
    return;
  }
  for (const auto* np : live)
    self->request(np->node, std::chrono::seconds(30), what)
      .then([left, rp](bool) mutable {
              if (--*left == 0)
                rp.deliver(true);
            },
            [self, left, rp, who = messages::describe(*np)](const caf::error& err) mutable {
              self->state.log->line(fmt::format("{} did not confirm the stop: {}", who, self->system().render(err)));
              if (--*left == 0)
                rp.deliver(true);
            });
}

caf::behavior rendezvous(rendezvous_pointer self, const run::run_config* cfg, std::shared_ptr<node_status> status,
                         std::shared_ptr<node_log> log, caf::actor recorder, caf::actor cloud) {
  auto& st = self->state;
  st.cfg = cfg;
  st.status = std::move(status);
  st.log = std::move(log);
  st.recorder = std::move(recorder);
  st.cloud = std::move(cloud);
  self->delayed_send(self, std::chrono::milliseconds(cfg->join_timeout_ms), messages::deadline_atom::value,
                     uint32_t{0});
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& st = self->state;
    const auto it = std::find_if(st.joined.begin(), st.joined.end(), [&dm](const node_info& n) {
      return caf::actor_cast<caf::actor_addr>(n.node) == dm.source;
    });
    if (it == st.joined.end())
      return;
    if (!st.complete && !st.closed) {
      // Gone before the run started: its ids are free again (a restarted process may take them).
      st.log->line(fmt::format("{} left before the run started ({}); its place is free again", messages::describe(*it),
                               self->system().render(dm.reason)));
      if (it->role == "edge" || it->role == "client")
        for (auto id : it->ids)
          (it->role == "edge" ? st.edges : st.clients).erase(id);
      if (it->role == "coordinator" && st.coordinator) {
        // It registered with the cloud already, which takes one coordinator per run.
        st.closed = true;
        const auto why = std::string{"the coordinator's process left before the run started"};
        for (auto& [n, promise] : st.waiting)
          promise.deliver(messages::make_caf_error(errc::io_error, why));
        st.waiting.clear();
        st.status->fail(why);
        return;
      }
      if (it->role == "coordinator")
        st.coordinator_waiting.reset();
      st.waiting.erase(std::remove_if(st.waiting.begin(), st.waiting.end(),
                                      [&dm](const auto& w) {
                                        return caf::actor_cast<caf::actor_addr>(w.first.node) == dm.source;
                                      }),
                       st.waiting.end());
      st.joined.erase(it);
      return;
    }
    st.lost.insert(dm.source);
    if (st.status->stop)
      return;
    st.log->line(fmt::format("lost the process of {} ({})", messages::describe(*it), self->system().render(dm.reason)));
    if (it->role == "coordinator" && st.complete)  // no round can close without it
      st.status->fail(fmt::format("lost the coordinator's process ({}); the run cannot go on",
                                  self->system().render(dm.reason)));
  });
  return {
    // -- joining --
    [self](messages::join_atom, node_info& n) -> caf::result<caf::actor, caf::actor, std::vector<node_info>> {
      auto& st = self->state;
      const auto why = join_problem(st, n);
      if (!why.empty()) {
        st.log->line(fmt::format("refused a join as {} from {}:{}: {}", messages::describe(n), n.host, n.port, why));
        return messages::make_caf_error(errc::invalid_argument, fmt::format("the rendezvous refused {}: {}",
                                                                            messages::describe(n), why));
      }
      if (n.role == "edge" || n.role == "client")
        for (auto id : n.ids)
          (n.role == "edge" ? st.edges : st.clients).insert(id);
      st.joined.push_back(n);
      self->monitor(n.node);
      st.log->line(fmt::format("{} joined, listening on {}:{}", messages::describe(n), n.host, n.port));
      auto rp = self->make_response_promise();
      if (n.role == "coordinator")
        st.coordinator_waiting = rp;
      else
        st.waiting.emplace_back(n, rp);
      try_complete(self);
      return caf::delegated<caf::actor, caf::actor, std::vector<node_info>>{};
    },
    [self](messages::announce_atom, const caf::actor& coordinator) {
      auto& st = self->state;
      const auto* from = caf::actor_cast<caf::abstract_actor*>(self->current_sender());
      const bool from_coordinator_node
        = std::any_of(st.joined.begin(), st.joined.end(), [from](const node_info& n) {
            return n.role == "coordinator" && from && n.node.node() == from->node();
          });
      if (st.closed && !st.quorum_start)
        return;  // too late: the deadline passed or the run was stopped
      if (!from_coordinator_node || st.coordinator) {
        st.log->line("refused a coordinator announcement from a process that is not the coordinator's");
        return;
      }
      st.coordinator = coordinator;
      try_complete(self);
    },
    [self](messages::deadline_atom, uint32_t) {
      auto& st = self->state;
      if (!from_here(self) || st.complete)
        return;
      st.closed = true;
      const bool coordinator_here = st.coordinator || st.coordinator_waiting;
      if (st.cfg->start_quorum < 1.0 && coordinator_here && static_cast<int64_t>(st.edges.size()) == st.cfg->edges
          && fed::quorum_met(st.clients.size(), static_cast<std::size_t>(st.cfg->clients), st.cfg->start_quorum)) {
        st.log->line(fmt::format("join deadline: starting with {} of {} clients ([faults] start_quorum = {}); "
                                 "missing: {}",
                                 st.clients.size(), st.cfg->clients, st.cfg->start_quorum, missing_list(st)));
        st.quorum_start = true;
        try_complete(self);
        return;
      }
      const auto why = fmt::format("not every participant joined within {} ms ([network] join_timeout_ms); "
                                   "missing: {}",
                                   st.cfg->join_timeout_ms, missing_list(st));
      fail_waiting(st, why);
      st.status->fail(why);
    },
    // -- the end: everyone stops treating a lost peer as a fault, then everyone stops --
    [self](messages::quiesce_atom) -> caf::result<bool> {
      if (!from_here(self))
        return messages::make_caf_error(errc::invalid_argument, "only the cloud's process ends the run");
      self->state.closed = true;
      fail_waiting(self->state, "the run was stopped before it started");
      auto rp = self->make_response_promise();
      broadcast(self, messages::quiesce_atom::value, rp);
      return caf::delegated<bool>{};
    },
    [self](messages::stop_atom) -> caf::result<bool> {
      if (!from_here(self))
        return messages::make_caf_error(errc::invalid_argument, "only the cloud's process ends the run");
      self->state.status->stop = true;
      auto rp = self->make_response_promise();
      broadcast(self, messages::stop_atom::value, rp);
      return caf::delegated<bool>{};
    },
  };
}

// -- a node actor (every other process) ----------------------------------------------------------------------

// Only the rendezvous's process (the cloud's, whose node id `rendezvous` is once joined) may end this one.
caf::behavior node_actor(caf::event_based_actor* self, std::shared_ptr<node_status> status,
                         std::shared_ptr<run_context> ctx, std::shared_ptr<caf::node_id> rendezvous) {
  auto allowed = [self, rendezvous] {
    const auto& src = self->current_sender();
    return src && *rendezvous != caf::node_id{} && src->node() == *rendezvous;
  };
  return {
    [ctx, allowed](messages::quiesce_atom) {
      if (!allowed())
        return false;
      ctx->shutting_down = true;  // peers going down from now on are the run ending, not faults
      return true;
    },
    [status, ctx, allowed](messages::stop_atom) {
      if (!allowed())
        return false;
      ctx->shutting_down = true;
      status->stop = true;
      return true;
    },
  };
}

// Notices the rendezvous going away (its connection dropped or timed out).
caf::behavior watcher(caf::event_based_actor* self, caf::actor rendezvous, std::shared_ptr<node_status> status) {
  self->monitor(rendezvous);
  self->set_down_handler([self, status](const caf::down_msg&) {
    status->lost = true;
    self->quit();
  });
  return {[](messages::stop_atom) {}};
}

// Connects to host:port, retrying until `deadline` (a peer that is still starting); the last error otherwise.
caf::actor connect_until(caf::actor_system& sys, const run::run_config& cfg, const std::string& host, uint16_t port,
                         clock_type::time_point deadline, node_log& log, const std::string& what,
                         const run_hooks& hooks) {
  bool said = false;
  for (;;) {
    if (hooks.stop_requested && !hooks.stop_requested().empty())
      throw error(errc::io_error, fmt::format("stopped ({}) while waiting for {}", hooks.stop_requested(), what));
    auto peer = connect(sys, cfg, host, port);
    if (peer)
      return *peer;
    // A peer that is not listening yet is worth waiting for, and so is a connection CAF 0.17.6 closed
    // itself: its BASP broker starts a connecting context with last_seen = 0, so the first heartbeat tick
    // closes it (connection_timeout) unless the handshake finished before (docs/deployment.md). A refused
    // handshake will not change.
    const bool transient
      = peer.error() == caf::sec::cannot_connect_to_node || peer.error() == caf::sec::connection_timeout;
    if (clock_type::now() >= deadline || !transient)
      throw error(errc::io_error, fmt::format("cannot reach {} at {}:{}: {}", what, host, port, sys.render(peer.error())));
    if (!said)
      log.line(fmt::format("waiting for {} at {}:{} ({})", what, host, port, sys.render(peer.error())));
    said = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(peer.error() == caf::sec::connection_timeout ? 50 : 500));
  }
}

void check_node(const run::run_config& cfg, const node_options& opt) {
  if (cfg.deterministic)
    throw error(errc::invalid_argument, "[run] deterministic = true needs every role in one process (elsa run); "
                                        "across processes the run is threaded on the real clock");
  const bool many = opt.role == "edge" || opt.role == "client";
  if (!many && opt.role != "cloud" && opt.role != "coordinator")
    throw error(errc::invalid_argument,
                fmt::format("--role {}: expected cloud, coordinator, edge or client", opt.role));
  if (many && opt.ids.empty())
    throw error(errc::invalid_argument, fmt::format("--role {} needs --id (one id, or several: --id 0,1)", opt.role));
  const auto limit = opt.role == "edge" ? cfg.edges : cfg.clients;
  for (auto id : opt.ids)
    if (many && id >= limit)
      throw error(errc::invalid_argument, fmt::format("--id {}: this run has {} {}s (ids 0..{})", id, limit,
                                                      opt.role, limit - 1));
  const bool wildcard = opt.listen_host == "0.0.0.0" || opt.listen_host == "::" || opt.listen_host.empty();
  if (wildcard && opt.advertise_host.empty() && opt.role != "cloud")
    throw error(errc::invalid_argument,
                fmt::format("--listen {}:{} listens on every interface; give --advertise HOST, the address the "
                            "other machines reach this one at",
                            opt.listen_host, opt.listen_port));
  if (opt.role != "cloud" && (opt.join_host.empty() || opt.join_port == 0))
    throw error(errc::invalid_argument, fmt::format("--role {} needs --join HOST:PORT (the cloud's process)", opt.role));
}

run_result run_cloud_node(const run::run_config& cfg, const node_options& opt, std::ostream& log,
                          std::ostream* results, const run_hooks& hooks) {
  const auto started = clock_type::now();
  std::ostream* progress = cfg.progress ? &log : nullptr;
  auto node_log_ptr = std::make_shared<node_log>(&log, "rendezvous: ");
  ::setenv("ELSA_NODE_NAME", "rendezvous", 1);  // the name on TLS lines (actors/tls/openssl_fixes.cpp)
  auto res = load_process_resources(cfg, progress, {}, &log);
  auto evaluator = make_evaluator(cfg, res);
  auto resume = opt.resume ? plan_resume_of(cfg, res, opt.fallback, log) : nullptr;
  auto record = make_run_record(cfg, res, resume.get());  // (a resumed record is checked before the cut)
  open_run_dir(cfg, hooks, resume.get());
  caf::actor_system_config sys_cfg;
  configure_actor_system(sys_cfg, cfg);
  configure_network(sys_cfg, cfg);
  // Outlives the actor system (declared before it): a ticket in flight at the stop can still be redeemed.
  auto plane = start_data_plane(cfg, opt.listen_host, opt.advertise_host,
                                [node_log_ptr](const std::string& line) { node_log_ptr->line(line); });
  auto ctx = make_run_context(cfg, res);
  ctx->checkpoint_dir = cfg.out_dir / "checkpoints";  // the cloud writes its own and the coordinator's
  ctx->resume = resume;
  auto status = std::make_shared<node_status>();
  messages::codec_stats codec;
  std::string stop_reason;
  int64_t saved_cloud_rounds = -1;
  bool finished = false;
  {
    caf::actor_system sys{sys_cfg};
    auto rec = sys.spawn(recorder, record, cfg.out_dir, progress, std::function<void(const nlohmann::json&)>{},
                         resumed_at(resume.get()));
    ctx->recorder = rec;
    if (resume)
      caf::anon_send(rec, messages::record_atom::value, resumed_event(*resume).dump());
    auto cloud = sys.spawn(cloud_aggregator, context_ptr{ctx}, evaluator, res.initial, res.num_labels);
    auto rdv = sys.spawn(rendezvous, &cfg, status, node_log_ptr, caf::actor_cast<caf::actor>(rec),
                         caf::actor_cast<caf::actor>(cloud));
    auto stop_local = [&] {
      caf::anon_send_exit(cloud, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(rec, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(rdv, caf::exit_reason::user_shutdown);
    };
    auto port = listen(sys, cfg, rdv, opt.listen_host, opt.listen_port);
    if (!port) {
      stop_local();
      throw error(errc::io_error, fmt::format("cannot listen on {}:{}: {}", opt.listen_host, opt.listen_port,
                                              sys.render(port.error())));
    }
    if (opt.on_listening)
      opt.on_listening(opt.listen_host, *port);
    node_log_ptr->line(fmt::format("listening on {}:{} ({}{}); waiting for the coordinator, {} edges and {} clients",
                                   opt.listen_host, *port, cfg.tls ? "mutual TLS" : "plaintext",
                                   plane ? fmt::format("; data plane on port {}", plane->port()) : std::string{},
                                   cfg.edges, cfg.clients));
    // Until everyone joined, the deadline passed or a signal came.
    while (!status->ready && status->failed().empty()) {
      if (stop_reason.empty() && hooks.stop_requested)
        stop_reason = hooks.stop_requested();
      if (!stop_reason.empty())
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    caf::scoped_actor self{sys};
    auto stop_everyone = [&] {
      self->request(rdv, std::chrono::seconds(60), messages::quiesce_atom::value).receive([](bool) {}, [](caf::error&) {});
      ctx->shutting_down = true;
      self->request(rdv, std::chrono::seconds(60), messages::stop_atom::value).receive([](bool) {}, [](caf::error&) {});
    };
    if (!status->ready || !status->failed().empty()) {
      stop_everyone();
      stop_local();
      if (!stop_reason.empty())
        throw error(errc::io_error, fmt::format("stopped ({}) before the run started", stop_reason));
      throw error(errc::io_error, status->failed());
    }
    caf::anon_send(cloud, messages::start_atom::value);
    finished = wait_for_record(sys, cfg, rec,
                               [&] {
                                 if (stop_reason.empty() && hooks.stop_requested)
                                   stop_reason = hooks.stop_requested();
                                 return !stop_reason.empty() || !status->failed().empty();
                               },
                               log);
    stop_everyone();
    if (!finished && stop_reason.empty() && !status->failed().empty()) {
      stop_local();
      throw error(errc::io_error, fmt::format("{}; the rounds recorded so far are in {}", status->failed(),
                                              (cfg.out_dir / "metrics.jsonl").string()));
    }
    if (!finished && !stop_reason.empty())
      saved_cloud_rounds = save_stopped(sys, cloud, log);
    stop_local();
    codec = ctx->codec.stats();
  }
  if (plane)
    node_log_ptr->line(describe(plane->stats()));
  return finish_run(cfg, *record, {finished, stop_reason, saved_cloud_rounds, status->processes.load()},
                    std::chrono::duration<double>(clock_type::now() - started).count(), codec, log, results);
}

run_result run_member_node(const run::run_config& cfg, const node_options& opt, std::ostream& log,
                           const run_hooks& hooks) {
  const auto who = messages::describe(node_info{opt.role, opt.ids, {}, 0, {}});  // "client 0 1", "coordinator"
  auto nlog = std::make_shared<node_log>(&log, who + ": ");
  ::setenv("ELSA_NODE_NAME", who.c_str(), 1);  // the name on TLS lines (actors/tls/openssl_fixes.cpp)
  auto res = load_process_resources(cfg, nullptr);
  std::vector<std::shared_ptr<fed::split_client>> client_cores;
  std::vector<std::shared_ptr<fed::edge_body>> edge_bodies;
  for (auto id : opt.ids) {
    if (opt.role == "client")
      client_cores.push_back(make_client_core(cfg, res, id));
    else if (opt.role == "edge")
      edge_bodies.push_back(make_edge_body(cfg, res));
  }
  caf::actor_system_config sys_cfg;
  configure_actor_system(sys_cfg, cfg);
  configure_network(sys_cfg, cfg);
  auto plane = start_data_plane(cfg, opt.listen_host, opt.advertise_host,  // outlives the actor system
                                [nlog](const std::string& line) { nlog->line(line); });
  if (plane)
    plane->redeem_wildcard_at(opt.join_host);  // the rendezvous may listen on every interface, unadvertised
  auto ctx = make_run_context(cfg, res);
  auto status = std::make_shared<node_status>();
  const auto deadline = clock_type::now() + std::chrono::milliseconds(cfg.join_timeout_ms);
  std::string stop_reason;
  {
    caf::actor_system sys{sys_cfg};
    auto rendezvous_node = std::make_shared<caf::node_id>();  // set before the join: then it may stop us
    auto me = sys.spawn(node_actor, status, ctx, rendezvous_node);
    std::vector<caf::actor> roles;
    caf::actor watch;
    auto stop_local = [&] {
      ctx->shutting_down = true;
      for (auto& r : roles)
        caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(me, caf::exit_reason::user_shutdown);
      if (watch)
        caf::anon_send_exit(watch, caf::exit_reason::user_shutdown);
    };
    try {
      auto port = listen(sys, cfg, me, opt.listen_host, opt.listen_port);
      if (!port)
        throw error(errc::io_error, fmt::format("cannot listen on {}:{}: {}", opt.listen_host, opt.listen_port,
                                                sys.render(port.error())));
      if (opt.on_listening)
        opt.on_listening(opt.listen_host, *port);
      auto rdv = connect_until(sys, cfg, opt.join_host, opt.join_port, deadline, *nlog, "the rendezvous", hooks);
      *rendezvous_node = rdv.node();
      watch = sys.spawn(watcher, rdv, status);
      const auto& reachable = opt.advertise_host.empty() ? opt.listen_host : opt.advertise_host;
      node_info mine{opt.role, opt.role == "coordinator" ? std::vector<uint32_t>{0} : opt.ids, reachable, *port, me};
      caf::scoped_actor self{sys};
      // The answer comes once everyone joined, which may take long: wait for it without blocking, so that a
      // signal or the rendezvous going away is noticed meanwhile.
      struct join_answer {
        std::atomic<bool> done{false};
        std::string refused;
        caf::actor recorder, peer;
        std::vector<node_info> nodes;
      };
      auto answer = std::make_shared<join_answer>();
      const auto wait = std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count())
                        + 5000;
      roles.push_back(sys.spawn([rdv, mine, answer, wait](caf::event_based_actor* joiner) {
        joiner->request(rdv, std::chrono::milliseconds(wait), messages::join_atom::value, mine)
          .then(
            [answer](caf::actor& r, caf::actor& p, std::vector<node_info>& all) {
              answer->recorder = std::move(r);
              answer->peer = std::move(p);
              answer->nodes = std::move(all);
              answer->done = true;
            },
            [answer, joiner](caf::error& err) {
              answer->refused = joiner->system().render(err);
              answer->done = true;
            });
      }));  // (in `roles`: stopped with them, even while its request waits)
      while (!answer->done) {
        if (status->lost)
          throw error(errc::io_error, fmt::format("lost the rendezvous at {}:{} before the run started", opt.join_host,
                                                  opt.join_port));
        if (hooks.stop_requested && !hooks.stop_requested().empty())
          throw error(errc::io_error, fmt::format("stopped ({}) before the run started", hooks.stop_requested()));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      const auto refused = answer->refused;
      caf::actor recorder_handle = answer->recorder, peer = answer->peer;
      std::vector<node_info> nodes = answer->nodes;
      if (!refused.empty())
        throw error(errc::io_error, fmt::format("joining the rendezvous at {}:{}: {}", opt.join_host, opt.join_port, refused));
      ctx->recorder = caf::actor_cast<recorder_actor>(recorder_handle);
      // Direct connections to the processes this one talks to (the rest reach it): clients -> edges and the
      // coordinator, edges -> the coordinator. Messages then go straight, not through the rendezvous.
      for (const auto& n : nodes) {
        const bool needed = (opt.role == "client" && (n.role == "edge" || n.role == "coordinator"))
                            || (opt.role == "edge" && n.role == "coordinator");
        if (needed)
          connect_until(sys, cfg, n.host, n.port, deadline, *nlog, "the process of " + messages::describe(n), hooks);
      }
      const auto junk_to = [&](const char* role) {
        return std::find(cfg.malformed_to.begin(), cfg.malformed_to.end(), role) != cfg.malformed_to.end();
      };
      if (opt.role == "coordinator") {
        auto coordinator = sys.spawn(cluster_coordinator, context_ptr{ctx}, caf::actor_cast<cloud_actor>(peer));
        roles.push_back(caf::actor_cast<caf::actor>(coordinator));
        self->send(rdv, messages::announce_atom::value, caf::actor_cast<caf::actor>(coordinator));
        if (junk_to("coordinator"))
          caf::anon_send(coordinator, messages::deliver_atom::value, malformed_bytes());
      } else {
        auto coordinator = caf::actor_cast<coordinator_actor>(peer);
        for (std::size_t i = 0; i < opt.ids.size(); ++i) {
          const auto id = opt.ids[i];
          if (opt.role == "client") {
            auto c = sys.spawn(client, context_ptr{ctx}, client_cores[i], id, fed::initial_cluster(res.data, id), coordinator);
            roles.push_back(caf::actor_cast<caf::actor>(c));
            if (id == 0 && junk_to("client"))
              caf::anon_send(c, messages::deliver_atom::value, malformed_bytes());
          } else {
            auto e = sys.spawn(edge_server, context_ptr{ctx}, edge_bodies[i], id, coordinator);
            roles.push_back(caf::actor_cast<caf::actor>(e));
            if (id == 0 && junk_to("edge"))
              caf::anon_send(e, messages::deliver_atom::value, malformed_bytes());
          }
        }
      }
      // (A refused join stays one line: the data plane's port is said here, once the process takes part.)
      nlog->line(fmt::format("joined the rendezvous at {}:{} ({} processes); running{}", opt.join_host, opt.join_port,
                             nodes.size() + 1,
                             plane ? fmt::format("; data plane listening on {}:{}", opt.listen_host, plane->port())
                                   : std::string{}));
    } catch (...) {
      stop_local();
      throw;
    }
    while (!status->stop && !status->lost) {
      if (stop_reason.empty() && hooks.stop_requested)
        stop_reason = hooks.stop_requested();
      if (!stop_reason.empty())
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    stop_local();
  }
  if (plane)
    nlog->line(describe(plane->stats()));
  if (status->stop) {
    nlog->line("the run ended; stopping");
    return {};
  }
  if (!stop_reason.empty())
    throw error(errc::io_error, fmt::format("stopped ({}) before the run ended", stop_reason));
  throw error(errc::io_error, fmt::format("lost the rendezvous at {}:{} before the run ended", opt.join_host, opt.join_port));
}

} // namespace

run_result run_node(const run::run_config& cfg, const node_options& opt, std::ostream& log, std::ostream* results,
                    const run_hooks& hooks) {
  run::validate(cfg);
  check_node(cfg, opt);
  check_network(cfg);  // before anything loads or is written
  if (opt.role == "cloud")
    return run_cloud_node(cfg, opt, log, results, hooks);
  return run_member_node(cfg, opt, log, hooks);
}

} // namespace elsa::actors
