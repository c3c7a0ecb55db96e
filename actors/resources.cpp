// Loading a process's shared resources and building role cores from them (see resources.hpp).
#include "actors/resources.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <caf/scoped_actor.hpp>
#include <caf/thread_hook.hpp>

#include "core/data/file_task.hpp"
#include "core/errors.hpp"
#include "core/fed/behaviour.hpp"
#include "core/fed/edge_body.hpp"
#include "core/fed/evaluator.hpp"
#include "core/fed/split_client.hpp"
#include "core/fed/split_plan.hpp"
#include "core/train/tokens.hpp"

namespace elsa::actors {

namespace {

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

void configure_actor_system(caf::actor_system_config& sys_cfg, const run::run_config& cfg) {
  messages::register_message_types(sys_cfg);
  sys_cfg.add_thread_hook<torch_threads_hook>(cfg.torch_threads);
  if (cfg.deterministic)
    sys_cfg.set("scheduler.policy", caf::atom("testing"));
  else
    sys_cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.threads));
}

process_resources load_process_resources(const run::run_config& cfg, std::ostream* progress,
                                         const std::function<void()>& after_load, std::ostream* warnings) {
  fed::set_torch_threads(cfg.torch_threads);
  if (progress)
    *progress << "loading the base model, data and " << cfg.clients << " clients ..." << std::endl;
  process_resources r{train::load_tokenizer(cfg.model_dir), nullptr, {}, {}, {}, {}, 1, {}, {}, {}};
  r.base = fed::load_frozen_base(cfg.model_dir);
  fed::check_against_base(*r.base, cfg); // names [split] or [model] max_len
  r.data = fed::load_federation_data(cfg);
  if (warnings)
    for (const auto& t : r.data.tasks)
      if (t->id == data::task::file) {
        for (const auto& line : t->skipped_rows)
          *warnings << "data: skipped " << line << std::endl;
        *warnings << "data: " << data::file_task_report(*t) << std::endl;
      }
  if (after_load)
    after_load();
  r.task_names = cfg.task_names();
  for (std::size_t i = 0; i < r.data.tasks.size(); ++i) {
    r.majority.push_back(r.data.majority_accuracy(i));
    r.num_labels.push_back(r.data.num_labels(i));
  }
  // Clusters: the tasks (an oracle), one, or up to K found from behaviour (ELSA.md 3.1). Every cluster's set
  // carries a head per task it may hold (core/fed/adapters.hpp): under "task" its own task's, otherwise all.
  const auto n_tasks = static_cast<uint32_t>(r.data.tasks.size());
  r.clusters = fed::cluster_count(cfg, n_tasks);
  std::vector<fed::adapter_set> per_task;
  for (uint32_t t = 0; t < n_tasks; ++t)
    per_task.push_back(fed::with_task_head(
      fed::initial_adapters(*r.base, cfg, r.num_labels[t], cfg.seed + 7919u * t), r.task_names[t]));
  for (uint32_t k = 0; k < r.clusters; ++k) {
    if (cfg.clustering == "task") {
      r.initial.push_back(per_task[k]);
      continue;
    }
    fed::adapter_set set = fed::lora_only(per_task[0]);
    for (const auto& t : per_task)
      for (const auto& nt : t)
        if (fed::is_head(nt.name))
          set.push_back(nt);
    r.initial.push_back(fed::overlay({}, set));  // sorted by name
  }
  if (cfg.clustering == "behaviour" || cfg.ssop)
    fed::attach_probes(r.data, cfg, r.tok);  // fingerprints; SS-OP's basis
  r.byzantine = cfg.byzantine_clients();
  // The devices' cost model: the shape of the model (the largest classifier any task needs).
  r.shape = sim::shape_of(fed::base_config(*r.base), cfg.lora, *std::max_element(r.num_labels.begin(), r.num_labels.end()));
  fed::check_devices(cfg, r.shape);  // a device class no split fits fails the set-up, not round r
  return r;
}

std::shared_ptr<fed::split_client> make_client_core(const run::run_config& cfg, const process_resources& res,
                                                    uint32_t c) {
  auto core = std::make_shared<fed::split_client>(cfg, res.data, c, res.tok, res.base);
  if (std::binary_search(res.byzantine.begin(), res.byzantine.end(), c))
    core->set_byzantine(cfg.byzantine_mode, cfg.byzantine_scale, cfg.seed * 7777u + c);
  return core;
}

std::shared_ptr<fed::edge_body> make_edge_body(const run::run_config& cfg, const process_resources& res) {
  std::vector<fed::client_task> tasks;
  if (cfg.two_part())  // the edge runs each client's classifier
    for (const auto& shard : res.data.shards)
      tasks.push_back({res.data.tasks.at(shard.task_index)->name, res.data.num_labels(shard.task_index)});
  return std::make_shared<fed::edge_body>(cfg, res.base, std::move(tasks));
}

std::shared_ptr<fed::evaluator> make_evaluator(const run::run_config& cfg, const process_resources& res) {
  return std::make_shared<fed::evaluator>(cfg, res.data, res.tok, res.base);
}

std::shared_ptr<run::run_record> make_run_record(const run::run_config& cfg, const process_resources& res,
                                                 const run::resume_point* resume) {
  auto record = std::make_shared<run::run_record>(cfg, res.task_names, res.majority);
  record->set_model(res.shape);
  std::vector<std::string> client_task;
  std::vector<int64_t> client_group;
  for (int64_t c = 0; c < cfg.clients; ++c) {
    client_task.push_back(res.task_names.at(fed::initial_cluster(res.data, static_cast<uint32_t>(c))));
    client_group.push_back(fed::majority_label(res.data, static_cast<uint32_t>(c)));
  }
  record->set_truth(std::move(client_task), std::move(client_group), res.byzantine);
  std::vector<std::vector<std::string>> labels;
  std::vector<nlohmann::json> sources;
  for (const auto& t : res.data.tasks) {
    labels.push_back(t->label_names);
    sources.push_back(data::file_task_record(*t));  // a file task: rows used and skipped (all are on stderr)
  }
  record->set_labels(std::move(labels), std::move(sources));
  if (resume != nullptr)
    record->restore(resume->lines, resume->events);
  return record;
}

std::shared_ptr<run_context> make_run_context(const run::run_config& cfg, const process_resources& res) {
  messages::codec_limits limits;
  limits.max_clients = static_cast<uint32_t>(cfg.clients);
  limits.max_edges = static_cast<uint32_t>(cfg.edges);
  limits.max_clusters = res.clusters;
  limits.max_tasks = static_cast<uint32_t>(res.num_labels.size());
  auto ctx = std::make_shared<run_context>(cfg, limits);
  ctx->clusters = res.clusters;
  ctx->task_names = res.task_names;
  ctx->shape = res.shape;
  return ctx;
}

std::shared_ptr<const run::resume_point> plan_resume_of(const run::run_config& cfg, const process_resources& res,
                                                        bool fallback, std::ostream& log) {
  auto p = std::make_shared<run::resume_point>(run::plan_resume(cfg.out_dir, cfg, fallback));
  if (p->cloud) {
    const auto why = run::layout_mismatch(*p->cloud, res.initial);
    if (!why.empty())
      throw error(errc::invalid_argument,
                  fmt::format("checkpoint {}: its adapters do not fit this run's model: {}",
                              run::checkpoint_path(cfg.out_dir / "checkpoints", "cloud", p->cloud_rounds).string(), why));
  }
  for (const auto& note : p->notes)
    log << "resume: " << note << std::endl;
  log << fmt::format("resume: from cloud round {} of {} (edge round {}; {} metrics lines kept, {} dropped)",
                     p->cloud_rounds, cfg.cloud_rounds(), p->cloud_rounds * cfg.kappa2, p->lines.size(),
                     p->dropped_lines)
      << std::endl;
  return p;
}

double resumed_at(const run::resume_point* resume) {
  if (resume == nullptr)
    return -1;
  if (resume->lines.empty())
    return 0.0;
  const auto it = resume->lines.back().find("elapsed_s");
  return it != resume->lines.back().end() && it->is_number() ? it->get<double>() : 0.0;
}

nlohmann::json resumed_event(const run::resume_point& resume) {
  return {{"type", "resumed"},
          {"cloud_rounds", resume.cloud_rounds},
          {"rounds_kept", resume.lines.size()},
          {"lines_dropped", resume.dropped_lines},
          {"notes", resume.notes}};
}

void open_run_dir(const run::run_config& cfg, const run_hooks& hooks, const run::resume_point* resume) {
  if (hooks.before_write)
    hooks.before_write();
  if (resume != nullptr) {
    run::cut_record(cfg.out_dir, *resume);
    return;
  }
  std::filesystem::create_directories(cfg.out_dir);
  std::ofstream f(cfg.out_dir / "config.toml");
  f << run::to_toml(cfg);
}

bool wait_for_record(caf::actor_system& sys, const run::run_config& cfg, const recorder_actor& recorder,
                     const std::function<bool()>& stop, std::ostream& log) {
  const auto limit = std::chrono::milliseconds(cfg.cloud_rounds() * cfg.kappa2 * (3 * cfg.round_deadline_ms + 2000)
                                               + 600000);
  const auto give_up = std::chrono::steady_clock::now() + limit;
  caf::scoped_actor self{sys};
  // Short requests, so a stop is noticed within one poll; the recorder answers at once when finished.
  bool finished = false;
  bool failed = false;
  while (!finished && !failed && !stop() && std::chrono::steady_clock::now() < give_up)
    self->request(recorder, std::chrono::milliseconds(200), messages::done_atom::value)
      .receive([&](bool) { finished = true; },
               [&](const caf::error& err) {
                 if (err == caf::sec::request_timeout)
                   return;
                 log << "run: " << sys.render(err) << std::endl;
                 failed = true;
               });
  return finished;
}

int64_t save_stopped(caf::actor_system& sys, const cloud_actor& cloud, std::ostream& log) {
  int64_t saved = -1;
  caf::scoped_actor self{sys};
  self->request(cloud, std::chrono::minutes(2), messages::save_atom::value)
    .receive([&](uint32_t n) { saved = static_cast<int64_t>(n); },
             [&](const caf::error& err) { log << "saving the adapters: " << sys.render(err) << std::endl; });
  return saved;
}

messages::payload malformed_bytes() {
  std::vector<uint8_t> junk(96);
  for (std::size_t i = 0; i < junk.size(); ++i)
    junk[i] = static_cast<uint8_t>(0xA5u ^ (i * 37u));
  junk[0] = 0;  // one segment ...
  junk[4] = 200; // ... claiming 200 words that are not there
  return messages::payload::copy_of(junk.data(), junk.size());
}

run_result finish_run(const run::run_config& cfg, const run::run_record& record, const run_end& end,
                      double wall_seconds, const messages::codec_stats& codec, std::ostream& log,
                      std::ostream* results) {
  if (!record.aborted().empty())
    throw error(errc::io_error, fmt::format("the run could not start: {}; see {}", record.aborted(),
                                            (cfg.out_dir / "events.jsonl").string()));
  if (!end.finished && end.stop_reason.empty())
    throw error(errc::io_error, fmt::format("the run did not finish (recorded {} of {} rounds); see {}",
                                            record.lines().size(), cfg.rounds,
                                            (cfg.out_dir / "metrics.jsonl").string()));
  run_result result;
  result.codec = codec;
  result.wall_seconds = wall_seconds;
  result.summary = record.summary(wall_seconds);
  result.summary["processes"] = end.processes;
  if (!end.stop_reason.empty()) {
    result.summary["stop_reason"] = end.stop_reason;
    result.summary["adapters_cloud_rounds"] = std::max<int64_t>(end.saved_cloud_rounds, 0);
  }
  {
    std::ofstream f(cfg.out_dir / "summary.json");
    f << result.summary.dump(2) << '\n';
  }
  result.metrics = record.lines();
  result.errors = record.errors();
  for (const auto& l : result.metrics)
    result.steps += l.value("steps", int64_t{0});
  if (!end.stop_reason.empty())
    log << "stopped (" << end.stop_reason << ") after " << result.metrics.size() << " of " << cfg.rounds
        << " edge rounds; the record is in " << cfg.out_dir.string()
        << "/: config.toml, metrics.jsonl, events.jsonl, summary.json (\"finished\": false)"
        << (cfg.save_adapters && end.saved_cloud_rounds > 0
              ? fmt::format(", adapters/ (after {} of {} cloud rounds)", end.saved_cloud_rounds, cfg.cloud_rounds())
              : std::string(", no adapters (no cloud round completed)"))
        << std::endl;
  else if (results)
    *results << record.summary_table(wall_seconds) << "wrote " << cfg.out_dir.string()
             << "/: config.toml, metrics.jsonl, events.jsonl, summary.json"
             << (cfg.save_adapters ? ", adapters/" : "") << std::endl
             << "plots and a report page (report.html): scripts/plot_run.py " << cfg.out_dir.string() << std::endl;
  return result;
}

} // namespace elsa::actors
