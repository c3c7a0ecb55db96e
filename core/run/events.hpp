// The typed events of a run: what the actors report and the run record (run_record.hpp) turns into
// RUN/metrics.jsonl (one line per edge round), RUN/events.jsonl (everything else) and summary.json. Actors fill
// these structs; to_json() is the one place their JSON form is written, so the record format lives here and
// not in the actor files. Torch-free and actor-free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace elsa::run {

/// What went wrong, for every error event of the record. Written as its name, or "name/detail" when the
/// event carries a detail (e.g. "malformed_message/byte_length", "rejected_update/nan", "refused/forged_sender").
enum class run_error : uint8_t {
  malformed_message,  // bytes the codec refused (detail: the codec's rule), or a tensor a core object refused
  refused,            // a message refused by who sent it or what it is (detail: forged_sender, wrong_kind, ...)
  rejected_update,    // one adapter update left out of an aggregation (detail: fed::rejection)
  step_failed,        // a client's step request failed or timed out
  superseded,         // a round opened before the previous one finished at a client
  out_of_range,       // a split or placement that does not fit
  injected_fault,     // a configured fault fired (edge failure)
  edge_down,          // the coordinator saw an edge go and moved its clients
  no_edges,           // every edge is down
  deadline_missed,    // the coordinator's guard deadline fired before every edge closed
  late_update,        // an edge's update reached the cloud outside its cloud round
  no_quorum,          // too few edges reported to the cloud
  not_registered,     // registration did not complete in time: the run cannot start (ends it)
  absent_at_start,    // registration closed at its deadline without some clients ([faults] start_quorum met)
  internal,           // encoding or a core call failed for reasons not tied to the input
};

/// e.g. "rejected_update".
const char* to_string(run_error code) noexcept;

/// What a message carries, for the record's bytes_by_kind.
enum class byte_kind : uint8_t { activations, gradients, adapters, control };
inline constexpr const char* byte_kind_names[] = {"activations", "gradients", "adapters", "control"};

/// Bytes one participant sent on one tier, by kind: `sent` as encoded, `dense` the same messages had their
/// tensors been dense f32 (no sketch, no fp16), so dense / sent is what compression saved.
struct kind_bytes {
  int64_t sent[4] = {0, 0, 0, 0};
  int64_t dense[4] = {0, 0, 0, 0};
  void add(byte_kind kind, int64_t sent_bytes, int64_t dense_bytes) {
    sent[static_cast<int>(kind)] += sent_bytes;
    dense[static_cast<int>(kind)] += dense_bytes;
  }
  kind_bytes& operator+=(const kind_bytes& o) {
    for (int i = 0; i < 4; ++i) {
      sent[i] += o.sent[i];
      dense[i] += o.dense[i];
    }
    return *this;
  }
  int64_t total() const {
    return sent[0] + sent[1] + sent[2] + sent[3];
  }
  /// {"activations": n, "gradients": n, "adapters": n, "control": n} of sent (or dense) bytes.
  nlohmann::json sent_json() const;
  nlohmann::json dense_json() const;
};

/// A client finished its local steps of a round (seconds from the round's opening at the client).
struct client_round_event {
  uint32_t round = 0, client = 0, edge = 0;
  std::string task;
  uint32_t steps = 0;
  double loss = 0;
  int64_t tokens = 0, bytes_up = 0;  // bytes_up: up.total()
  kind_bytes up;                     // to its edge (and its fingerprints to the coordinator, as control)
  double seconds = 0;
  // For the simulated clock (core/sim/clock.hpp): the split its steps ran at, the padded positions they
  // computed on, its longest padded batch (its memory peak), the encoded bytes its edge sent it this round
  // (step replies) and the messages either way (the opening, step requests and replies, admissions, the
  // upload).
  uint32_t head_blocks = 0, tail_blocks = 0;
  int64_t positions = 0, max_seq_len = 0, bytes_down = 0, messages = 0;
  nlohmann::json to_json() const;
};

/// An edge closed its round: who reported, who was aggregated or left out, bytes it sent.
struct edge_round_event {
  uint32_t round = 0, edge = 0;
  std::string reason;  // complete, quorum, deadline, aborted
  uint64_t reported = 0, expected = 0;
  std::vector<uint32_t> late, missing, down, late_arrivals, aggregated;
  // [profiles] enforce_deadline: uploads that came in time on this machine but missed deadline_s on the
  // simulated clock, left out of this round's aggregate (kept for the next under the staleness policy).
  std::vector<uint32_t> sim_late;
  // [topology] mode = "async": the simulated seconds from this edge's last flush to this one (< 0: sync), the
  // clients whose uploads still wait for a later flush, and how many rounds old each aggregated upload was.
  double sim_flush_s = -1;
  std::vector<uint32_t> waiting;
  std::map<uint32_t, int64_t> staleness;
  int64_t stale_aggregated = 0;
  int64_t bytes_down = 0;     // to its clients: openings, body replies, adapters
  int64_t bytes_cloud = 0;    // to the cloud
  int64_t bytes_control = 0;  // to the coordinator: its close_round
  kind_bytes to_clients, to_cloud; // bytes_down and bytes_cloud by kind
  std::map<uint32_t, double> trust;
  std::map<uint32_t, std::string> update_digests, aggregate_digests, left_out;
  uint64_t peak_admitted = 0;
  nlohmann::json to_json() const;
};

/// The coordinator closed edge round `round` (at_s: its steady clock, seconds; cpu_s: the CPU seconds its
/// process had used by then, all threads).
struct round_closed_event {
  uint32_t round = 0;
  bool cloud_round = false;
  uint64_t edges = 0;
  int64_t bytes_control = 0;  // openings and placements it sent for this round
  double at_s = 0;
  double cpu_s = 0;
  std::optional<std::vector<uint32_t>> sampled;  // [topology] clients_per_round: who took part
  nlohmann::json to_json() const;
};

/// The cloud aggregated a cloud round. Its validation scores follow in a validation_event of the same round
/// (the cloud scores them beside the next round); the JSON says so (`validating`), since the run record also
/// takes a cloud_round event that carries its scores itself.
struct cloud_round_event {
  uint32_t round = 0;
  int64_t edges_reported = 0;
  int64_t bytes_down = 0;     // global adapters to the edges
  kind_bytes down;            // bytes_down by kind
  int64_t bytes_control = 0;  // its opening to the coordinator
  nlohmann::json to_json() const;
};

/// A cloud round's global adapters scored on validation data (each task with its cluster's adapters).
struct validation_event {
  uint32_t round = 0;
  std::map<std::string, double> accuracy, loss;  // by task
  double eval_seconds = 0;  // the scoring (the scorer's actor clock: 0 on the deterministic scheduler)
  nlohmann::json to_json() const;
};

/// One task's test score at the end of the run.
struct test_score {
  double accuracy = 0, macro_f1 = 0, loss = 0;
  int64_t count = 0;
};

/// The run is over: test scores, and what the cloud received by kind.
struct final_event {
  std::map<std::string, test_score> test;
  std::map<std::string, int64_t> cloud_received;
  nlohmann::json to_json() const;
};

/// A client dropped out (crash or silent), as injected.
struct dropout_event {
  uint32_t round = 0, client = 0;
  std::string mode;
  nlohmann::json to_json() const;
};

/// An injected fault that is not a dropout: a straggler's delay (kind "delay", with its size), whether or
/// not the delay made the update miss its deadline.
struct fault_event {
  uint32_t round = 0, client = 0;
  std::string kind;
  int64_t delay_ms = 0;
  nlohmann::json to_json() const;
};

/// A network fault injected on one message ([faults] net_*, partition_*; core/run/net_faults.hpp), recorded
/// by its sender: what the receiver made of it (a malformed message refused, a late or missing update, a
/// step that timed out) is in the receiver's own events.
struct net_fault_event {
  uint32_t round = 0;
  std::string from, to;          // "client 3", "edge 0", ...
  std::string message;           // its kind: step_request, adapter_update, ...
  std::vector<std::string> faults;  // drop, partition, delay, duplicate, flip, truncate
  int64_t delay_ms = 0;
  int64_t bytes = 0;
  nlohmann::json to_json() const;
};

/// A message sent again (reliable delivery, core/run/delivery.hpp): a split-step request with no answer
/// after `retry_ms`, or refused as damaged; any other message not acknowledged in time.
struct resent_event {
  uint32_t round = 0, attempt = 0;  // attempt 1 is the first resend
  std::string from, to;             // "client 3", "edge 0", ...
  std::string message;              // its kind: split_tensor, adapter_update, ...
  nlohmann::json to_json() const;
};

/// A copy of a message the receiver already took (the network duplicated it, or its acknowledgement was
/// lost and the sender sent it again): ignored.
struct duplicate_event {
  uint32_t round = 0;  // the receiver's
  std::string at, from, message;
  nlohmann::json to_json() const;
};

/// A message its sender gave up on: not acknowledged after `attempts` sends (their waits reached
/// round_deadline_ms).
struct undelivered_event {
  uint32_t round = 0, attempts = 0;
  std::string from, to, message;
  nlohmann::json to_json() const;
};

/// Registration is complete: the coordinator placed every participant and told each whom it talks to.
struct registered_event {
  uint64_t clients = 0, edges = 0;
  int64_t bytes_control = 0;  // registrations received and peer tables sent
  nlohmann::json to_json() const;
};

/// The coordinator clustered the clients on their fingerprints of edge round `round` (ELSA.md 3.1) and
/// updated their trust. `clusters` holds every client (those without a fingerprint keep their cluster).
struct clustering_event {
  uint32_t round = 0;
  uint64_t fingerprints = 0;               // fingerprints received for the round
  uint32_t k = 0;                          // clusters found
  double silhouette = 0;                   // of the clustering, on the fingerprinted clients
  std::map<uint32_t, uint32_t> clusters;   // client -> cluster
  std::map<uint32_t, uint32_t> medoids;    // cluster -> its medoid client
  std::map<uint32_t, double> consistency;  // client -> c_n of this fingerprinting
  std::map<uint32_t, double> trust;        // client -> tau_n after it
  std::vector<uint32_t> excluded;          // trust under tau_min
  int64_t bytes_control = 0;               // trust and assignment updates sent
  double seconds = 0;                      // KL matrix + clustering + trust, on the coordinator
  nlohmann::json to_json() const;
};

/// The coordinator placed the clients on edges from the RTTs the edges measured by heartbeat (ELSA.md 3.1):
/// at the first cloud round (reason "measured": by `policy`, the [elsa] assignment) and at each later one
/// (reason "stragglers": clients over [elsa] rtt_deadline_ms moved, possibly none). The placement holds
/// from edge round `round` on.
struct placement_event {
  uint32_t round = 0;
  std::string policy, reason;
  std::map<uint32_t, uint32_t> assignment;     // client -> edge
  std::vector<uint32_t> moved;                 // clients whose edge changed
  std::map<uint32_t, std::vector<double>> rtt_ms; // client -> its RTT to edges 0..E-1 (NaN: not measured)
  double latency_total_ms = 0, latency_max_ms = 0; // of this placement, over its measured links
  uint32_t unmeasured = 0;                     // clients whose link to their edge was not measured
  uint64_t reports = 0;                        // edges whose measurements this used
  int64_t bytes_control = 0;                   // placements sent to the clients
  nlohmann::json to_json() const;
};

/// Something went wrong or was refused; `actor` is e.g. "edge 1".
struct error_event {
  uint32_t round = 0;
  std::string actor;
  run_error code = run_error::internal;
  std::string detail;  // optional finer reason, written after a slash
  std::string text;
  nlohmann::json to_json() const;
};

} // namespace elsa::run
