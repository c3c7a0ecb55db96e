// Running a whole ELSA training run in one process: builds every participant's core objects, spawns the
// clients, edge servers, coordinator, cloud and recorder as CAF actors (each given only the address it
// registers with; see actors/peers.hpp), injects the
// configured malformed messages, starts the cloud and waits for the final event. With [run] deterministic,
// CAF's deterministic test scheduler and its simulated clock drive the run (bit-for-bit reruns).
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/run/run_config.hpp"
#include "messages/codec.hpp"

namespace elsa::actors {

struct run_result {
  nlohmann::json summary;                // as written to RUN/summary.json
  std::vector<nlohmann::json> metrics;   // the lines of RUN/metrics.jsonl
  std::vector<nlohmann::json> errors;    // every error event
  double wall_seconds = 0;
  messages::codec_stats codec;           // what encoding copied, for the whole run
  int64_t steps = 0;                     // client steps completed
};

struct directory;

/// Hooks for tests and tools; the defaults do nothing.
struct run_hooks {
  /// Called once the shared resources (tokenizer, frozen base, data) are loaded and before any participant
  /// exists: what the scale benchmark measures memory from.
  std::function<void()> after_load;
  /// Called once every actor is spawned and wired, before the cloud starts: a place to send extra
  /// messages, e.g. a trust update with caf::send_as(peers.coordinator, ...) (anonymous ones are refused).
  std::function<void(const directory&)> before_start;
  /// Called with every event the recorder receives (in the recorder actor, in event order): a place to react
  /// mid-run, e.g. send a trust update with caf::send_as once a round closed.
  std::function<void(const nlohmann::json& event, const directory&)> on_event;
  /// Called once set-up succeeded (model, data and participants built), before anything is written into
  /// cfg.out_dir: where `elsa run` claims its run directory. Throwing abandons the run with nothing written.
  std::function<void()> before_write;
  /// Polled while the run trains (every 200 ms threaded, between jobs when deterministic): a non-empty
  /// answer (the reason, e.g. "SIGINT") stops the run. The round in progress is abandoned, the actors are
  /// stopped, metrics.jsonl keeps the rounds already recorded and summary.json says "finished": false with
  /// "stop_reason".
  std::function<std::string()> stop_requested;
};

/// How a run starts: afresh, or resumed from the last checkpoint in cfg.out_dir (core/run/checkpoint.hpp):
/// the record is cut back to it and appended to; with `fallback`, a corrupt newest checkpoint gives way to the
/// one before it (without, it is an error naming the file).
struct run_start {
  bool resume = false;
  bool fallback = false;
};

/// Runs `cfg` (validated here) writing into cfg.out_dir: config.toml, metrics.jsonl, events.jsonl,
/// summary.json and adapters/<task>/. Progress lines (when cfg.progress) and diagnostics go to `log`; the
/// summary table and the paths written go to `results` (none when null). A run stopped through
/// hooks.stop_requested returns normally, its summary unfinished. elsa::error when the configuration, data
/// or model cannot be used, or the run does not finish in time.
run_result run_federation(const run::run_config& cfg, std::ostream& log, std::ostream* results,
                          const run_hooks& hooks = {}, const run_start& start = {});

/// As above, with the summary table in `log` when cfg.progress.
run_result run_federation(const run::run_config& cfg, std::ostream& log, const run_hooks& hooks = {},
                          const run_start& start = {});

} // namespace elsa::actors
