// One-process runtime of an ELSA run (see runtime.hpp).
#include "actors/runtime.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <ostream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/thread_hook.hpp>
#include <fmt/format.h>

#include "actors/client.hpp"
#include "actors/cloud_aggregator.hpp"
#include "actors/cluster_coordinator.hpp"
#include "actors/edge_server.hpp"
#include "actors/recorder.hpp"
#include "actors/resources.hpp"
#include "core/errors.hpp"
#include "core/fed/adapters.hpp"
#include "core/fed/edge_body.hpp"
#include "core/fed/evaluator.hpp"
#include "core/fed/behaviour.hpp"
#include "core/fed/federation_data.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/fed/split_client.hpp"
#include "core/fed/split_plan.hpp"
#include "core/run/run_record.hpp"
#include "core/train/tokens.hpp"

namespace elsa::actors {

namespace {

using clock_type = std::chrono::steady_clock;

} // namespace

run_result run_federation(const run::run_config& cfg, std::ostream& log, const run_hooks& hooks,
                          const run_start& start) {
  return run_federation(cfg, log, cfg.progress ? &log : nullptr, hooks, start);
}

run_result run_federation(const run::run_config& cfg, std::ostream& log, std::ostream* results,
                          const run_hooks& hooks, const run_start& start) {
  run::validate(cfg);
  const auto started = clock_type::now();
  std::ostream* progress = cfg.progress ? &log : nullptr;

  // -- core objects: the frozen base (once), data, tokenizer, one split_client per client, one edge_body per
  // edge, the evaluator; every participant runs over the one base with adapters of its own --
  auto res = load_process_resources(cfg, progress, hooks.after_load, &log);
  std::vector<std::shared_ptr<fed::split_client>> client_cores;
  for (int64_t c = 0; c < cfg.clients; ++c)
    client_cores.push_back(make_client_core(cfg, res, static_cast<uint32_t>(c)));
  std::vector<std::shared_ptr<fed::edge_body>> edge_bodies;
  for (int64_t e = 0; e < cfg.edges; ++e)
    edge_bodies.push_back(make_edge_body(cfg, res));
  auto evaluator = make_evaluator(cfg, res);
  auto resume = start.resume ? plan_resume_of(cfg, res, start.fallback, log) : nullptr;
  auto record = make_run_record(cfg, res, resume.get());  // (a resumed record is checked before the cut)

  // -- the run directory: written only once set-up succeeded, so a failed set-up leaves nothing --
  open_run_dir(cfg, hooks, resume.get());

  // -- the actor system --
  caf::actor_system_config sys_cfg;
  configure_actor_system(sys_cfg, cfg);
  run_end end;
  std::string stop_reason; // set when hooks.stop_requested stopped the run
  int64_t saved_cloud_rounds = -1;  // a stopped run: cloud rounds behind the adapters it saved
  auto ctx = make_run_context(cfg, res);
  ctx->checkpoint_dir = cfg.out_dir / "checkpoints";
  ctx->resume = resume;
  {
    caf::actor_system sys{sys_cfg};
    // Wiring only: each role is built from the config, its id and this process's resources, and given the
    // one address it needs to find the rest (the coordinator; the coordinator gets the cloud). Everyone
    // registers, and the coordinator hands out the peer tables (actors/peers.hpp).
    std::function<void(const nlohmann::json&)> observer;
    directory spawned;
    if (hooks.on_event)
      observer = [&hooks, &spawned](const nlohmann::json& ev) { hooks.on_event(ev, spawned); };
    spawned.recorder = sys.spawn(recorder, record, cfg.out_dir, progress, observer, resumed_at(resume.get()));
    ctx->recorder = spawned.recorder;
    if (resume)
      caf::anon_send(spawned.recorder, messages::record_atom::value, resumed_event(*resume).dump());
    spawned.cloud = sys.spawn(cloud_aggregator, context_ptr{ctx}, evaluator, res.initial, res.num_labels);
    spawned.coordinator = sys.spawn(cluster_coordinator, context_ptr{ctx}, spawned.cloud);
    for (int64_t e = 0; e < cfg.edges; ++e)
      spawned.edges.push_back(sys.spawn(edge_server, context_ptr{ctx}, edge_bodies[static_cast<size_t>(e)],
                                        static_cast<uint32_t>(e), spawned.coordinator));
    for (int64_t c = 0; c < cfg.clients; ++c)
      spawned.clients.push_back(sys.spawn(client, context_ptr{ctx}, client_cores[static_cast<size_t>(c)],
                                          static_cast<uint32_t>(c),
                                          fed::initial_cluster(res.data, static_cast<uint32_t>(c)), spawned.coordinator));

    // -- injected faults that are messages --
    for (const auto& role : cfg.malformed_to) {
      const auto junk = malformed_bytes();
      if (role == "client")
        caf::anon_send(spawned.clients.front(), messages::deliver_atom::value, junk);
      else if (role == "edge")
        caf::anon_send(spawned.edges.front(), messages::deliver_atom::value, junk);
      else if (role == "coordinator")
        caf::anon_send(spawned.coordinator, messages::deliver_atom::value, junk);
      else if (role == "cloud")
        caf::anon_send(spawned.cloud, messages::deliver_atom::value, junk);
    }
    if (hooks.before_start)
      hooks.before_start(spawned);
    caf::anon_send(spawned.cloud, messages::start_atom::value);

    auto stop_training = [&] {
      ctx->shutting_down = true;  // from now on a peer going down is the shutdown, not a fault
      for (auto& c : spawned.clients)
        caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
      for (auto& e : spawned.edges)
        caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(spawned.coordinator, caf::exit_reason::user_shutdown);
    };
    auto stop_all = [&] {
      stop_training();
      caf::anon_send_exit(spawned.cloud, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(spawned.recorder, caf::exit_reason::user_shutdown);
    };
    bool finished = false;
    auto stop_now = [&] {
      if (stop_reason.empty() && hooks.stop_requested)
        stop_reason = hooks.stop_requested();
      if (!stop_reason.empty())
        log << "stopping (" << stop_reason << "): the round in progress is abandoned" << std::endl;
      return !stop_reason.empty();
    };
    if (cfg.deterministic) {
      // Simulated time: run every job; when all are idle, jump to the next timer; stop when nothing is left.
      auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
      while (!stop_now()) {
        if (sched.try_run_once())
          continue;
        if (record->finished() || !record->aborted().empty() || !sched.trigger_timeout())
          break;
      }
      finished = record->finished();
      if (!finished && !stop_reason.empty()) {
        // The round in progress is abandoned: everyone but the cloud goes first, then the cloud saves.
        stop_training();
        sched.run();
        caf::scoped_actor self{sys};
        self->send(spawned.cloud, messages::save_atom::value);
        sched.run();
        self->receive([&](uint32_t n) { saved_cloud_rounds = static_cast<int64_t>(n); },
                      caf::after(std::chrono::seconds(0)) >> [] {});
      }
      stop_all();
      sched.run();
    } else {
      finished = wait_for_record(sys, cfg, spawned.recorder, stop_now, log);
      // A stopped run keeps the cloud's adapters of its last completed cloud round (it may be mid-evaluation);
      // the others go first, so the round in progress goes no further.
      if (!finished && !stop_reason.empty()) {
        stop_training();
        saved_cloud_rounds = save_stopped(sys, spawned.cloud, log);
      }
      stop_all();
    }
    end.finished = finished;
  }
  end.stop_reason = stop_reason;
  end.saved_cloud_rounds = saved_cloud_rounds;
  return finish_run(cfg, *record, end, std::chrono::duration<double>(clock_type::now() - started).count(),
                    ctx->codec.stats(), log, results);
}

} // namespace elsa::actors
