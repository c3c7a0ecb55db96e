// What one process loads before it spawns any role (the tokenizer, the frozen base once, the federation's
// data, the clusters' initial adapters) and the role-independent objects built from it: a client's core, the
// run context, the run record. The one-process wiring (runtime.cpp) and a network node (node.cpp) both
// build their roles from these, so a role is the same object whichever process it runs in.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"
#include "core/fed/adapters.hpp"
#include "core/fed/federation_data.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/run/checkpoint.hpp"
#include "core/run/run_config.hpp"
#include "core/run/run_record.hpp"
#include "core/sim/cost_model.hpp"
#include "core/text/tokenizer.hpp"

namespace elsa::fed {
class split_client;
class edge_body;
class evaluator;
} // namespace elsa::fed

namespace elsa::actors {

struct process_resources {
  text::bpe_tokenizer tok;
  fed::base_ptr base;                     // the frozen base, shared by every role of the process
  fed::federation_data data;
  std::vector<std::string> task_names;    // by cluster id under "task" clustering
  std::vector<double> majority;           // per task: majority-class accuracy of its test split
  std::vector<int64_t> num_labels;        // per task
  uint32_t clusters = 1;
  std::vector<fed::adapter_set> initial;  // per cluster: the adapters and heads every run starts from
  std::vector<uint32_t> byzantine;        // attacking clients (sorted)
  sim::model_shape shape{};               // for the split planner and the simulated clock
};

/// Loads and checks everything a process of run `cfg` shares (the model directory first, so a wrong one
/// fails in milliseconds). Progress lines go to `progress` when not null; `after_load` (may be empty) runs
/// once the tokenizer, base and data are in; the rows of a task file that were skipped, one "data: skipped
/// PATH:LINE: why" line each, and what was kept go to `warnings` when not null (even without progress).
/// elsa::error when the model, data or a device class cannot be used.
process_resources load_process_resources(const run::run_config& cfg, std::ostream* progress,
                                         const std::function<void()>& after_load = {},
                                         std::ostream* warnings = nullptr);

/// Registers ELSA's message types on `sys_cfg`, sets [run] torch_threads on every CAF worker thread, and the
/// scheduler: [run] threads workers, or CAF's deterministic test scheduler when [run] deterministic.
void configure_actor_system(caf::actor_system_config& sys_cfg, const run::run_config& cfg);

/// Client `c`'s core (head, tail, data shard, optimiser) over the process's base; an attacker if configured.
std::shared_ptr<fed::split_client> make_client_core(const run::run_config& cfg, const process_resources& res,
                                                    uint32_t c);

/// An edge's body slot over the process's base.
std::shared_ptr<fed::edge_body> make_edge_body(const run::run_config& cfg, const process_resources& res);

/// The cloud's evaluator over the process's base.
std::shared_ptr<fed::evaluator> make_evaluator(const run::run_config& cfg, const process_resources& res);

/// The run record with its ground truth (tasks, majority labels, attackers, label names), for the recorder;
/// of a resumed run, with the rounds its checkpoint kept.
std::shared_ptr<run::run_record> make_run_record(const run::run_config& cfg, const process_resources& res,
                                                 const run::resume_point* resume = nullptr);

/// Plans resuming cfg.out_dir (core/run/checkpoint.hpp's plan_resume) and checks the checkpoint's adapters
/// against this run's model; says on `log` where it resumes and which checkpoints it passed over.
/// elsa::error (one line) when it cannot resume.
std::shared_ptr<const run::resume_point> plan_resume_of(const run::run_config& cfg, const process_resources& res,
                                                        bool fallback, std::ostream& log);

/// For the recorder: the elapsed seconds of the last round a resumed run kept (0 when none), -1 for a fresh run.
double resumed_at(const run::resume_point* resume);

/// The `resumed` event a resumed run records first.
nlohmann::json resumed_event(const run::resume_point& resume);

/// The context every role of the process shares; its recorder is set by the caller before any role spawns.
std::shared_ptr<run_context> make_run_context(const run::run_config& cfg, const process_resources& res);

/// Where a run starts writing, once its set-up succeeded: hooks.before_write (e.g. claiming the folder), then
/// cfg.out_dir and its config.toml. A failed set-up before this leaves nothing behind.
/// A resumed run (`resume` not null) keeps its folder and config.toml and cuts its record back instead.
void open_run_dir(const run::run_config& cfg, const run_hooks& hooks, const run::resume_point* resume = nullptr);

/// Waits, on the real clock, for the recorder to say the run finished: true then; false when `stop()` says
/// stop (polled every 200 ms), the recorder fails (one line on `log`) or the run's time limit passes.
bool wait_for_record(caf::actor_system& sys, const run::run_config& cfg, const recorder_actor& recorder,
                     const std::function<bool()>& stop, std::ostream& log);

/// A stopped run: asks the cloud to save its adapters of the last completed cloud round; how many cloud
/// rounds are behind them, or -1 (with one line on `log`) when it could not.
int64_t save_stopped(caf::actor_system& sys, const cloud_actor& cloud, std::ostream& log);

/// Bytes that are no ELSA message (a valid-looking length, garbage inside): [faults] malformed_to.
messages::payload malformed_bytes();

/// How a run's actors ended, for finish_run.
struct run_end {
  bool finished = false;           // the recorder said done
  std::string stop_reason;         // a stop was asked for (e.g. "SIGINT"); empty otherwise
  int64_t saved_cloud_rounds = -1; // a stopped run: cloud rounds behind the adapters the cloud saved
  uint32_t processes = 1;          // OS processes that took part
};

/// The end of a run, the same in one process and across processes: elsa::error when it could not start or
/// did not finish (and was not stopped); otherwise RUN/summary.json is written (with `processes`, and
/// `stop_reason` / `adapters_cloud_rounds` when stopped) and the result returned. The summary table goes to
/// `results` (when not null) for a finished run; a stopped run says what it kept on `log`.
run_result finish_run(const run::run_config& cfg, const run::run_record& record, const run_end& end,
                      double wall_seconds, const messages::codec_stats& codec, std::ostream& log,
                      std::ostream* results);

} // namespace elsa::actors
