// The record of a federated run: actors report events (JSON objects with a "type"), the record turns them
// into one metrics line per edge round (RUN/metrics.jsonl), a progress line, summary.json and the final table.
// Torch-free and actor-free, so it is unit-testable and the recorder actor only forwards events into it.
//
// Event types (fields beyond "type"):
//   client_round  round, client, edge, task, steps, loss, tokens, bytes_up, bytes_up_by_kind{kind: n},
//                 dense_up_by_kind{kind: n}, seconds (a client finished;
//                 seconds from the round's opening at the client, simulated when deterministic)
//   edge_round    round, edge, reason, reported, expected, late[], missing[], down[], late_arrivals[],
//                 sim_late[], aggregated[], stale_aggregated, bytes_down, bytes_cloud, trust{client: score},
//                 bytes_down_by_kind, dense_down_by_kind, bytes_cloud_by_kind, dense_cloud_by_kind;
//                 [topology] mode = "async": sim_flush_s, waiting[], staleness{client: rounds}
//                                                                            (an edge closed its round)
//   round_closed  round, cloud_round, edges, bytes_control, sampled[] (with clients_per_round)
//                                                                             (the coordinator closed it)
//   cloud_round   round, edges_reported, bytes_down, bytes_down_by_kind, dense_down_by_kind, accuracy{task},
//                 loss{task}                                                (after a cloud aggregation)
// Kinds are activations, gradients, adapters and control; "dense" counts the same messages with dense f32
// tensors, so a line's and the summary's `compression` (tier -> dense / sent) is what compression saved.
//   dropout       round, client, mode
//   error         round, actor, code, text                                    (a rejected message, a fault)
//   final         test{task: {accuracy, macro_f1, loss, count}}, cloud_received{kind: count}
//   fault         round, client, kind, delay_ms                      (an injected straggler delay, on time or not)
//   registered    clients, edges, bytes_control                       (registration complete)
//   clustering    round, k, clusters{client: cluster}, trust{client: score}, ... (a behaviour clustering)
//   resumed       cloud_rounds, rounds_kept, lines_dropped, notes[]   (a resumed run, first; summary resumed_from)
//   placement     round, policy, reason, assignment{client: edge}, moved[], rtt_ms{client: [per edge]},
//                 latency_total_ms, latency_max_ms, unmeasured, reports       (latency-aware placement)
// Metrics lines after a clustering carry clusters and ari; after a placement, assignment, latency_total_ms
// and latency_max_ms.
// The structs that write them are in core/run/events.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/run/run_config.hpp"
#include "core/sim/clock.hpp"

namespace elsa::run {

class run_record {
public:
  /// tasks: names in cluster order; majority: each task's majority-class test accuracy (the baseline).
  run_record(const run_config& cfg, std::vector<std::string> tasks, std::vector<double> majority);

  /// What the run knows about its clients that no participant reports: each client's task and, for
  /// single-task runs, its label group (the majority label of its shard), which clusterings are scored
  /// against (ARI in metrics lines), and the byzantine clients (summary.json). All by client id.
  void set_truth(std::vector<std::string> client_task, std::vector<int64_t> client_group,
                 std::vector<uint32_t> byzantine);

  /// Each task's label names in label-id order (summary.json tasks.<task>.labels, which `elsa predict` prints)
  /// and, optionally, more about where each task's data came from (merged into tasks.<task>: a file task's
  /// file_rows and rows_skipped).
  void set_labels(std::vector<std::vector<std::string>> labels, std::vector<nlohmann::json> sources = {}) {
    labels_ = std::move(labels);
    sources_ = std::move(sources);
  }

  /// The model's shape, which turns on the simulated clock (core/sim/clock.hpp): from then on every metrics
  /// line has sim_round_s, sim_time_s and sim_clients (per client: split, class, step and round seconds,
  /// FLOPs, memory estimate, whether it fit its memory and met [profiles] deadline_s), and the summary
  /// sim_time_s, target_accuracy, sim_time_to_target_s, round_to_target, client_flops and
  /// client_peak_memory_bytes.
  void set_model(const sim::model_shape& shape);

  /// A resumed run: takes the record a killed run left (its metrics lines, rounds 0 .. n-1, and its other
  /// events, cut back by core/run/checkpoint's plan_resume) as if those rounds had just been recorded, so
  /// the summary counts every round once. Called before the first event. elsa::error (malformed_input) for a
  /// line with a field of another type than the record writes.
  void restore(const std::vector<nlohmann::json>& lines, const std::vector<nlohmann::json>& events);

  /// Adds one event; returns the metrics lines of the rounds it completed, in round order. elapsed_s is the
  /// wall time the caller measured (written into those lines). elsa::error on an event without a known type.
  std::vector<nlohmann::json> add(const nlohmann::json& event, double elapsed_s);

  /// One line for the terminal after a round completed: round, loss, accuracy, bytes, elapsed and ETA.
  std::string progress_line(const nlohmann::json& metrics_line) const;

  /// True once the final event arrived.
  bool finished() const {
    return final_.has_value();
  }

  /// Why the run cannot go on (an error event that ends it, e.g. `not_registered`), or empty.
  const std::string& aborted() const {
    return aborted_;
  }

  /// summary.json: final per-task test accuracy (and the majority baseline), totals of bytes per tier (and
  /// bytes_by_kind, tier -> kind -> bytes; compression, tier -> dense / sent), rounds, stragglers, dropouts, errors, wall time.
  nlohmann::json summary(double wall_seconds) const;

  /// The table printed at the end of a run.
  std::string summary_table(double wall_seconds) const;

  /// Every error event so far.
  const std::vector<nlohmann::json>& errors() const {
    return errors_;
  }

  /// Metrics lines emitted so far.
  const std::vector<nlohmann::json>& lines() const {
    return lines_;
  }

private:
  struct round_acc {
    std::vector<double> losses;
    std::map<std::string, std::vector<double>> task_losses;
    int64_t steps = 0, tokens = 0;
    double train_seconds = 0;  // the slowest client's steps
    int64_t bytes_client_edge = 0, bytes_edge_client = 0, bytes_edge_cloud = 0, bytes_cloud_edge = 0,
            bytes_control = 0;
    nlohmann::json by_kind = nlohmann::json::object(), dense_by_kind = nlohmann::json::object(); // tier -> kind -> n
    std::vector<int64_t> late, missing, down, dropouts, late_arrivals, aggregated, sim_late;
    std::map<uint32_t, std::set<uint32_t>> sim_late_by_edge;  // edge -> the uploads it left out, of its own round
    // [topology] mode = "async": edge -> seconds from its last flush to this round's (its edge_round event's
    // sim_flush_s); the uploads still waiting after this round's flushes; client -> rounds its aggregated upload lagged.
    std::map<uint32_t, double> flush_by_edge;
    // edge -> the clients its aggregate went to besides those that trained (waiting or taken), and those whose
    // uploads it took (they start the next round from it)
    std::map<uint32_t, std::set<uint32_t>> async_receivers, async_taken;
    std::vector<int64_t> waiting;
    nlohmann::json staleness = nlohmann::json::object();
    nlohmann::json delays = nlohmann::json::array();  // injected faults other than dropouts
    std::map<std::string, int64_t> net_faults;        // injected network faults by kind (drop, delay, ...)
    int64_t resent = 0;                               // messages sent again (reliable delivery)
    int64_t duplicates = 0;                           // copies of taken messages, ignored
    int64_t undelivered = 0;                          // messages given up on, never acknowledged
    int64_t stale_aggregated = 0;
    std::map<std::string, int64_t> reasons;
    nlohmann::json trust = nlohmann::json::object();
    int64_t reported = 0, expected = 0, errors = 0;
    bool closed = false, cloud_round = false, cloud_done = false;
    // A cloud round's validation scores are in: with the cloud_round event, or after it in a validation event
    // when the cloud scores beside the next round (the event says `validating`).
    bool validated = false;
    std::optional<double> done_at;  // seconds since the start when its training was over (the line's elapsed_s)
    nlohmann::json accuracy = nlohmann::json::object(), eval_loss = nlohmann::json::object();
    double eval_seconds = 0;  // the cloud's validation scoring (cloud rounds)
    std::optional<nlohmann::json> clusters;  // a clustering after this round's fingerprints
    std::optional<nlohmann::json> placement; // a placement that holds from this round on
    std::optional<nlohmann::json> sampled;   // [topology] clients_per_round: the clients that took part
    std::vector<sim::client_usage> usage;    // the simulated clock's input, one per client_round
    std::map<uint32_t, int64_t> adapters_down, to_cloud;  // by edge: adapter bytes to its clients, to the cloud
  };

  /// Closes every round before `before` that has not closed (close reason not_run) and marks its cloud
  /// aggregation done, so that lines after a round that never ran are written.
  void close_unrun(int64_t before);

  /// Every task's validation accuracy in `accuracy` (task -> value) is at [run] target_accuracy (when set).
  bool reached_target(const nlohmann::json& accuracy) const;

  void restore_unchecked(const std::vector<nlohmann::json>& lines, const std::vector<nlohmann::json>& events);

  /// The simulated clock's part of a metrics line (sim_round_s, sim_time_s, sim_clients), advancing sim_time_.
  void put_sim(nlohmann::json& line, const round_acc& r);

  round_acc& at(int64_t round);
  std::vector<nlohmann::json> flush(double elapsed_s);

  run_config cfg_;
  std::vector<std::string> tasks_;
  std::vector<double> majority_;
  std::map<int64_t, round_acc> open_;
  int64_t next_line_ = 0;  // the first round not yet written
  std::vector<nlohmann::json> lines_;
  std::vector<nlohmann::json> errors_;
  std::optional<nlohmann::json> final_;
  int64_t registered_bytes_ = 0;  // registrations and peer tables, before the first round
  std::string aborted_;
  std::vector<std::string> client_task_;
  std::vector<int64_t> client_group_;
  std::vector<uint32_t> byzantine_;
  std::vector<std::vector<std::string>> labels_;  // by task
  std::vector<nlohmann::json> sources_;           // by task; objects
  std::map<std::string, int64_t> net_faults_total_;  // every net_fault event's faults, by kind
  int64_t resent_total_ = 0;                         // every resent event
  int64_t duplicates_total_ = 0;                     // every duplicate event
  int64_t undelivered_total_ = 0;                    // every undelivered event
  nlohmann::json clusters_;  // the latest clustering written into a line (null before the first)
  nlohmann::json placement_; // the latest placement written into a line (null before the first)
  double ari_ = 0;
  std::vector<int64_t> resumed_from_;  // a resumed run: the cloud round of each resume
  int64_t clusterings_ = 0;
  std::optional<sim::model_shape> shape_;  // set: the simulated clock runs
  double sim_time_ = 0;                    // simulated seconds of the lines written so far
  std::optional<double> sim_to_target_;    // sim_time_s of the first line at target accuracy
  std::optional<int64_t> round_to_target_;
  std::map<uint32_t, double> client_flops_;
  std::map<uint32_t, int64_t> client_memory_;
};

} // namespace elsa::run
