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

// Bytes that are no ELSA message (a valid-looking length, garbage inside).
messages::payload malformed_bytes() {
  std::vector<uint8_t> junk(96);
  for (std::size_t i = 0; i < junk.size(); ++i)
    junk[i] = static_cast<uint8_t>(0xA5u ^ (i * 37u));
  junk[0] = 0;  // one segment ...
  junk[4] = 200; // ... claiming 200 words that are not there
  return messages::payload::copy_of(junk.data(), junk.size());
}

// LibTorch's intra-op thread count is per thread (OpenMP's ICV): every CAF worker sets [run] torch_threads
// when it starts, or it would use OpenMP's default (all cores) however the main thread was set.
class torch_threads_hook : public caf::thread_hook {
public:
  explicit torch_threads_hook(int64_t threads) : threads_(threads) {
    // nop
  }
  void init(caf::actor_system&) override {
    // nop
  }
  void thread_started() override {
    fed::set_torch_threads(threads_);
  }
  void thread_terminates() override {
    // nop
  }

private:
  int64_t threads_;
};

} // namespace

run_result run_federation(const run::run_config& cfg, std::ostream& log, const run_hooks& hooks) {
  return run_federation(cfg, log, cfg.progress ? &log : nullptr, hooks);
}

run_result run_federation(const run::run_config& cfg, std::ostream& log, std::ostream* results,
                          const run_hooks& hooks) {
  run::validate(cfg);
  const auto started = clock_type::now();
  std::ostream* progress = cfg.progress ? &log : nullptr;

  // -- core objects: the frozen base (once), data, tokenizer, one split_client per client, one edge_body per
  // edge, the evaluator; every participant runs over the one base with adapters of its own --
  fed::set_torch_threads(cfg.torch_threads);
  if (progress)
    *progress << "loading the base model, data and " << cfg.clients << " clients ..." << std::endl;
  const auto tok = train::load_tokenizer(cfg.model_dir);  // first: a wrong model dir fails in milliseconds
  const auto base = fed::load_frozen_base(cfg.model_dir);
  fed::check_against_base(*base, cfg); // names [split] or [model] max_len
  auto data = fed::load_federation_data(cfg);
  if (hooks.after_load)
    hooks.after_load();
  std::vector<std::string> task_names = cfg.tasks;
  std::vector<double> majority;
  std::vector<int64_t> num_labels;
  for (std::size_t i = 0; i < data.tasks.size(); ++i) {
    majority.push_back(data.majority_accuracy(i));
    num_labels.push_back(data.num_labels(i));
  }
  // Clusters: the tasks (an oracle), one, or up to K found from behaviour (ELSA.md 3.1). Every cluster's set
  // carries a head per task it may hold (core/fed/adapters.hpp): under "task" its own task's, otherwise all.
  const auto n_tasks = static_cast<uint32_t>(data.tasks.size());
  const uint32_t clusters = fed::cluster_count(cfg, n_tasks);
  std::vector<fed::adapter_set> per_task;
  for (uint32_t t = 0; t < n_tasks; ++t)
    per_task.push_back(
      fed::with_task_head(fed::initial_adapters(*base, cfg, num_labels[t], cfg.seed + 7919u * t), task_names[t]));
  std::vector<fed::adapter_set> initial;
  for (uint32_t k = 0; k < clusters; ++k) {
    if (cfg.clustering == "task") {
      initial.push_back(per_task[k]);
      continue;
    }
    fed::adapter_set set = fed::lora_only(per_task[0]);
    for (const auto& t : per_task)
      for (const auto& nt : t)
        if (fed::is_head(nt.name))
          set.push_back(nt);
    initial.push_back(fed::overlay({}, set));  // sorted by name
  }
  if (cfg.clustering == "behaviour" || cfg.ssop)
    fed::attach_probes(data, cfg, tok);  // fingerprints; SS-OP's basis
  const auto byzantine = cfg.byzantine_clients();
  std::vector<std::shared_ptr<fed::split_client>> client_cores;
  for (int64_t c = 0; c < cfg.clients; ++c) {
    client_cores.push_back(std::make_shared<fed::split_client>(cfg, data, static_cast<uint32_t>(c), tok, base));
    if (std::binary_search(byzantine.begin(), byzantine.end(), static_cast<uint32_t>(c)))
      client_cores.back()->set_byzantine(cfg.byzantine_mode, cfg.byzantine_scale, cfg.seed * 7777u + c);
  }
  std::vector<std::shared_ptr<fed::edge_body>> edge_bodies;
  for (int64_t e = 0; e < cfg.edges; ++e)
    edge_bodies.push_back(std::make_shared<fed::edge_body>(cfg, base));
  auto evaluator = std::make_shared<fed::evaluator>(cfg, data, tok, base);
  // The devices' cost model: the shape of the model (the largest classifier any task needs).
  const auto shape = sim::shape_of(fed::base_config(*base), cfg.lora, *std::max_element(num_labels.begin(), num_labels.end()));
  fed::check_devices(cfg, shape);  // a device class no split fits fails the set-up, not round r

  // -- the run directory: written only once set-up succeeded, so a failed set-up leaves nothing --
  if (hooks.before_write)
    hooks.before_write();
  std::filesystem::create_directories(cfg.out_dir);
  {
    std::ofstream f(cfg.out_dir / "config.toml");
    f << run::to_toml(cfg);
  }

  // -- the actor system --
  caf::actor_system_config sys_cfg;
  messages::register_message_types(sys_cfg);
  sys_cfg.add_thread_hook<torch_threads_hook>(cfg.torch_threads);
  if (cfg.deterministic)
    sys_cfg.set("scheduler.policy", caf::atom("testing"));
  else
    sys_cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.threads));
  run_result result;
  std::string stop_reason; // set when hooks.stop_requested stopped the run
  int64_t saved_cloud_rounds = -1;  // a stopped run: cloud rounds behind the adapters it saved
  auto record = std::make_shared<run::run_record>(cfg, task_names, majority);
  record->set_model(shape);
  {
    std::vector<std::string> client_task;
    std::vector<int64_t> client_group;
    for (int64_t c = 0; c < cfg.clients; ++c) {
      client_task.push_back(task_names.at(fed::initial_cluster(data, static_cast<uint32_t>(c))));
      client_group.push_back(fed::majority_label(data, static_cast<uint32_t>(c)));
    }
    record->set_truth(std::move(client_task), std::move(client_group), byzantine);
    std::vector<std::vector<std::string>> labels;
    for (const auto& t : data.tasks)
      labels.push_back(t->label_names);
    record->set_labels(std::move(labels));
  }
  messages::codec_limits limits;
  limits.max_clients = static_cast<uint32_t>(cfg.clients);
  limits.max_edges = static_cast<uint32_t>(cfg.edges);
  limits.max_clusters = clusters;
  auto ctx = std::make_shared<run_context>(cfg, limits);
  ctx->clusters = clusters;
  ctx->task_names = task_names;
  ctx->shape = shape;
  {
    caf::actor_system sys{sys_cfg};
    // Wiring only: each role is built from the config, its id and this process's resources, and given the
    // one address it needs to find the rest (the coordinator; the coordinator gets the cloud). Everyone
    // registers, and the coordinator hands out the peer tables (actors/peers.hpp).
    std::function<void(const nlohmann::json&)> observer;
    directory spawned;
    if (hooks.on_event)
      observer = [&hooks, &spawned](const nlohmann::json& ev) { hooks.on_event(ev, spawned); };
    spawned.recorder = sys.spawn(recorder, record, cfg.out_dir, progress, observer);
    ctx->recorder = spawned.recorder;
    spawned.cloud = sys.spawn(cloud_aggregator, context_ptr{ctx}, evaluator, initial, num_labels);
    spawned.coordinator = sys.spawn(cluster_coordinator, context_ptr{ctx}, spawned.cloud);
    for (int64_t e = 0; e < cfg.edges; ++e)
      spawned.edges.push_back(sys.spawn(edge_server, context_ptr{ctx}, edge_bodies[static_cast<size_t>(e)],
                                        static_cast<uint32_t>(e), spawned.coordinator));
    for (int64_t c = 0; c < cfg.clients; ++c)
      spawned.clients.push_back(sys.spawn(client, context_ptr{ctx}, client_cores[static_cast<size_t>(c)],
                                          static_cast<uint32_t>(c),
                                          fed::initial_cluster(data, static_cast<uint32_t>(c)), spawned.coordinator));

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
      const auto limit = std::chrono::milliseconds(cfg.cloud_rounds() * cfg.kappa2 * (3 * cfg.round_deadline_ms + 2000)
                                                   + 600000);
      const auto give_up = clock_type::now() + limit;
      caf::scoped_actor self{sys};
      // Short requests, so a stop is noticed within one poll; the recorder answers at once when finished.
      bool failed = false;
      while (!finished && !failed && !stop_now() && clock_type::now() < give_up)
        self->request(spawned.recorder, std::chrono::milliseconds(200), messages::done_atom::value)
          .receive([&](bool) { finished = true; },
                   [&](const caf::error& err) {
                     if (err == caf::sec::request_timeout)
                       return;
                     log << "run: " << sys.render(err) << std::endl;
                     failed = true;
                   });
      // A stopped run keeps the cloud's adapters of its last completed cloud round (it may be mid-evaluation);
      // the others go first, so the round in progress goes no further.
      if (!finished && !stop_reason.empty()) {
        stop_training();
        self->request(spawned.cloud, std::chrono::minutes(2), messages::save_atom::value)
          .receive([&](uint32_t n) { saved_cloud_rounds = static_cast<int64_t>(n); },
                   [&](const caf::error& err) { log << "saving the adapters: " << sys.render(err) << std::endl; });
      }
      stop_all();
    }
    result.codec = ctx->codec.stats();
    if (!record->aborted().empty())
      throw error(errc::io_error, fmt::format("the run could not start: {}; see {}", record->aborted(),
                                              (cfg.out_dir / "events.jsonl").string()));
    if (!finished && stop_reason.empty())
      throw error(errc::io_error, fmt::format("the run did not finish (recorded {} of {} rounds); see {}",
                                              record->lines().size(), cfg.rounds,
                                              (cfg.out_dir / "metrics.jsonl").string()));
  }
  result.wall_seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  result.summary = record->summary(result.wall_seconds);
  if (!stop_reason.empty()) {
    result.summary["stop_reason"] = stop_reason;
    result.summary["adapters_cloud_rounds"] = std::max<int64_t>(saved_cloud_rounds, 0);
  }
  {
    std::ofstream f(cfg.out_dir / "summary.json");
    f << result.summary.dump(2) << '\n';
  }
  result.metrics = record->lines();
  result.errors = record->errors();
  for (const auto& l : result.metrics)
    result.steps += l.value("steps", int64_t{0});
  if (!stop_reason.empty())
    log << "stopped (" << stop_reason << ") after " << result.metrics.size() << " of " << cfg.rounds
        << " edge rounds; the record is in " << cfg.out_dir.string()
        << "/: config.toml, metrics.jsonl, events.jsonl, summary.json (\"finished\": false)"
        << (cfg.save_adapters && saved_cloud_rounds > 0
              ? fmt::format(", adapters/ (after {} of {} cloud rounds)", saved_cloud_rounds, cfg.cloud_rounds())
              : std::string(", no adapters (no cloud round completed)"))
        << std::endl;
  else if (results)
    *results << record->summary_table(result.wall_seconds) << "wrote " << cfg.out_dir.string()
             << "/: config.toml, metrics.jsonl, events.jsonl, summary.json"
             << (cfg.save_adapters ? ", adapters/" : "") << std::endl;
  return result;
}

} // namespace elsa::actors
