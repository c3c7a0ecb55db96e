// Settings of one federated ELSA run (`elsa run CONFIG --out RUN`): the TOML sections [run], [model],
// [data], [train], [topology], [split], [profiles], [elsa], [compress], [privacy], [faults], [network] and [output]. The defaults below are the single
// source of truth; configs/quickstart.toml and docs/configuration.md quote them. No torch, no CAF here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "core/model/config.hpp"
#include "core/sim/planner.hpp"

namespace elsa::run {

/// What happens to a client update that arrives after its round closed.
enum class straggler_policy : uint8_t {
  drop,      // recorded, not aggregated
  staleness, // aggregated into the next round with weight * staleness_decay^(rounds late)
};

/// How an injected dropout behaves.
enum class dropout_mode : uint8_t {
  crash,  // the client actor exits (its edge sees it go down at once)
  silent, // the client stops answering; its edge notices through deadlines
};

struct run_config {
  // [run]
  uint64_t seed = 1234;
  int64_t threads = 2;          // CAF scheduler threads (ignored when deterministic)
  int64_t torch_threads = 1;    // intra-op threads per LibTorch call
  bool deterministic = false;   // CAF's deterministic test scheduler, simulated clock: bit-for-bit reruns

  // [model]
  std::filesystem::path model_dir = "models/elsa-base";
  model::lora_config lora = default_lora();
  int64_t max_len = 96;         // tokens per example (start of the text, then <|endoftext|>)

  // [data]
  std::filesystem::path data_dir = "data";
  std::vector<std::string> tasks = {"spam"}; // shipped names or "file:PATH" (JSONL/CSV, relative to the
                                             // working directory); several tasks need partition = "by_task"
  std::string partition = "iid";             // iid, dirichlet or by_task
  double dirichlet_alpha = 0.5;
  int64_t max_train_per_client = 0;          // 0: the whole shard
  int64_t eval_examples = 256;               // validation examples scored after each cloud round
  int64_t test_examples = 0;                 // test examples scored at the end (0: the whole test split)

  // [train]
  int64_t batch_size = 8;
  double lr = 2e-3;             // AdamW on adapters and head, constant
  double weight_decay = 0.0;
  double grad_clip = 1.0;       // 0: no clipping

  // [topology]
  int64_t clients = 8;
  int64_t edges = 2;
  int64_t rounds = 10;          // edge rounds in total; a multiple of kappa2
  int64_t kappa1 = 10;          // local split-training steps per client per edge round
  int64_t kappa2 = 2;           // edge rounds per cloud aggregation
  int64_t max_concurrent_steps = 0; // steps an edge admits at once (0: no limit); a waiting client holds no graph
  int64_t clients_per_round = 0;    // clients that take part in each edge round, a seeded draw (0: every client)
  double clients_fraction = 0.0;    // or this fraction of the clients (at least 1); 0: clients_per_round decides
  std::string topology_mode = "sync"; // TOML key "mode". sync: an edge round waits for its clients; async: FedBuff
                                      // at each edge on the simulated clock (docs/mechanisms.md)
  int64_t buffer_size = 0;          // async: uploads an edge aggregates at once; 0: half its clients, rounded up

  // [split]
  int64_t head_blocks = 1;      // a >= 1: raw embeddings never leave a client
  int64_t tail_blocks = 1;      // b >= 1: labels never leave a client; a + b < n_layer
  std::string split_mode = "fixed"; // TOML key "mode". fixed: head_blocks/tail_blocks for everyone;
                                    // dynamic: the coordinator plans (a, b) per client every edge round
  int64_t min_head_blocks = 1;      // a_min of the dynamic planner (>= 1: raw embeddings stay on the client)
  std::string split_layout = "u_shaped"; // TOML key "layout". u_shaped: ELSA's head | body at the edge | tail;
                                         // whole_model: every block on the client (FedAvg-LoRA, HierFAVG-LoRA);
                                         // two_part: head on the client, the rest and the labels at the edge
                                         // (SplitFed-LoRA)

  // [profiles] device classes and the simulated clock (ELSA.md 3.2; docs/mechanisms.md section 2). Classes
  // are parallel lists, one entry per class: name, compute, memory, link to its edge.
  std::vector<std::string> class_names = {"device"};
  std::vector<double> class_gflops = {10.0};      // sustained compute, 1e9 FLOP/s
  std::vector<double> class_memory_mb = {1024.0}; // memory budget for a training step, 1e6 bytes
  std::vector<double> class_up_mbps = {20.0};     // client -> edge bandwidth, 1e6 bit/s
  std::vector<double> class_down_mbps = {50.0};   // edge -> client bandwidth, 1e6 bit/s
  std::vector<double> class_latency_ms = {10.0};  // one-way latency of each message on the link
  std::vector<std::string> client_classes;        // one class name per client ...
  std::vector<double> class_fractions;            // ... or a fraction per class, drawn by seed; neither: the first
  std::vector<double> edge_gflops = {200.0};      // one value for every edge, or one per edge
  double edge_cloud_mbps = 1000.0;                // edge <-> cloud bandwidth, 1e6 bit/s
  double edge_cloud_latency_ms = 20.0;
  std::vector<int64_t> change_clients;            // a schedule of profile changes: client change_clients[i] ...
  std::vector<int64_t> change_rounds;             // ... is of class change_classes[i] from the start of this
  std::vector<std::string> change_classes;        //     edge round on
  double deadline_s = 0.0;                        // simulated edge-round deadline a client should meet; 0: none
  bool enforce_deadline = false;                  // true: an upload that missed deadline_s is late (left out of
                                                  // its round's aggregate, as [faults] straggler_policy says)

  // [elsa] mechanism switches (ELSA.md 3): behaviour clustering and trust (3.1); the rest come with their
  // mechanisms.
  std::string clustering = "task";   // task: clusters are the tasks (an oracle); behaviour: fingerprints;
                                     // none: one cluster
  std::string fingerprint = "gaussian"; // gaussian (last-token hidden states) or predictive (shared vocab)
  int64_t probes = 256;              // Q: public probes per fingerprint
  double shrinkage = 0.1;            // variance v_i <- (1 - s) v_i + s mean(v)
  int64_t predictive_vocab = 64;     // predictive fingerprint: the shared vocabulary (most frequent ids)
  int64_t clusters = 0;              // K for behaviour clustering; 0: chosen by silhouette over 2..max_clusters
  int64_t max_clusters = 8;
  int64_t recluster_every = 1;       // cloud rounds between fingerprintings (the first ends cloud round 1)
  bool trust_weighting = true;       // aggregation weights are trust * samples
  double trust_beta = 1.0;           // c_n = exp(-beta max(0, D/median - 1)) * exp(-gamma max(0, drift/median - 1))
  double trust_gamma = 1.0;
  double trust_rho = 0.5;            // tau <- rho tau + (1 - rho) c
  double tau_min = 0.3;              // clients under this trust are left out of aggregation
  // Latency-aware placement (3.1): edges measure their RTT to every client by heartbeat before every cloud
  // round (before its first edge round). In one process a link's RTT comes from a seeded model: a base
  // drawn from [latency_min_ms, latency_max_ms] per client-edge link (or given in latency_ms) plus a jitter
  // drawn from [0, latency_jitter_ms] per measurement; the client answers the ping that much later.
  std::string assignment = "round_robin"; // round_robin: client c on edge c mod edges; latency: least total
                                          // RTT under edge_capacity (exact min-cost assignment)
  int64_t edge_capacity = 0;         // clients an edge may serve; 0: ceil(clients / live edges)
  double latency_min_ms = 5.0;
  double latency_max_ms = 50.0;
  double latency_jitter_ms = 2.0;
  std::vector<double> latency_ms;    // explicit base RTTs, clients x edges, row-major (client 0's to edge 0..E-1 first)
  double rtt_deadline_ms = 0.0;      // > 0: a client whose measured RTT exceeds it moves to its nearest edge with room
  int64_t heartbeat_timeout_ms = 2000; // an edge reports what it measured after this long, answered or not

  // [compress] what crosses the network (ELSA.md 3.3)
  std::string activations = "fp32";  // split activations and gradients on the wire: fp32, fp16 or bf16
  std::string adapters = "none";     // client and edge adapter uploads: none (dense f32) or sketch (count sketch
                                     // of the update, the difference from the round's start; heads stay exact)
  int64_t sketch_rows = 5;
  int64_t sketch_cols = 0;           // 0: LoRA coordinates / (sketch_rows x sketch_ratio)
  double sketch_ratio = 8.0;         // LoRA coordinates per table cell, when sketch_cols = 0
  int64_t sketch_k = 0;              // top_k: coordinates a decode applies; 0: sketch_cols / sketch_rows
  std::string sketch_decode = "linear"; // linear: a shrunk copy of every coordinate; top_k: the k largest, with
                                        // error feedback (compress::linear_decode, compress::unsketch)
  double sketch_gain = 6.0;          // linear: the multiple of the least-squares projection applied

  // [privacy] semantic-subspace orthogonal perturbation of head activations (ELSA.md 3.3)
  bool ssop = false;
  int64_t ssop_k = 16;               // principal directions of the public head outputs left untouched
  double ssop_sigma = 0.5;           // noise norm as a fraction of each token's activation norm
  int64_t capture = 0;               // training activation batches each edge keeps for the inversion attack

  // [faults]
  int64_t round_deadline_ms = 120000; // per edge round, from its opening; later updates are stragglers
  int64_t step_deadline_ms = 30000;   // a client waiting this long for its edge gives up the round
  double quorum = 0.5;                // min fraction of live clients (edges, at the cloud) for aggregation
  double start_quorum = 1.0;          // fraction of the clients that must have registered (joined, across
                                      // processes) by the deadline for the run to start without the rest
  std::string straggler_policy_name = "drop"; // TOML key "straggler_policy": drop or staleness
  double staleness_decay = 0.5;
  int64_t max_staleness = 1;          // staleness policy: updates at most this many rounds late are aggregated
  int64_t down_after_missed = 2;      // consecutive missed rounds before a silent client is marked down
  std::vector<int64_t> stragglers;    // client ids whose updates are delayed by straggler_delay_ms
  int64_t straggler_delay_ms = 0;
  std::vector<int64_t> dropouts;      // client ids that drop out
  int64_t dropout_round = 0;          // ... in this edge round
  int64_t dropout_step = 0;           // ... after this many of its local steps (< kappa1)
  std::string dropout_mode_name = "crash"; // TOML key "dropout_mode": crash or silent
  std::vector<int64_t> silent_dropouts; // client ids that go silent at dropout_round/step, whatever dropout_mode
  std::vector<int64_t> edge_failures; // edge ids whose actor exits ...
  int64_t edge_failure_round = 0;     // ... at the start of this edge round
  std::vector<std::string> malformed_to; // roles sent one malformed message at the start: client, edge,
                                         // coordinator, cloud
  std::vector<int64_t> byzantine;     // client ids that attack (they train and fingerprint as attackers)
  double byzantine_fraction = 0.0;    // ... or this fraction of the clients, drawn by seed (when the list is empty)
  std::string byzantine_mode = "label_flip"; // label_flip, random_update or scaled_update
  double byzantine_scale = 10.0;      // scaled_update: the update (difference from the global) times this;
                                      // random_update: noise of this many times the update's norm
  // Network faults, injected where messages are sent (core/run/net_faults.hpp), seeded per link and message:
  double net_drop = 0.0;              // probability a message is lost
  double net_delay = 0.0;             // probability a message is held back ...
  int64_t net_delay_ms = 0;           // ... by a uniform draw in [0, 2 x this] ms (mean this)
  double net_duplicate = 0.0;         // probability a message arrives twice
  double net_corrupt = 0.0;           // probability its bytes are damaged (bit flips or truncation)
  std::vector<int64_t> partition_edges;   // edges cut off from everyone (their messages both ways lost) ...
  std::vector<int64_t> partition_clients; // clients cut off from everyone ...
  int64_t partition_round = 0;        // ... from the start of this edge round ...
  int64_t partition_rounds = 0;       // ... for this many edge rounds (0: no partition)
  int64_t retry_ms = 1000;            // network faults on: reliable delivery (core/run/delivery.hpp) sends a message
                                      // not acknowledged after this long again (doubling, up to 8x) until
                                      // round_deadline_ms, a step request until step_deadline_ms (0: off)

  // [network] (elsa node / elsa launch: roles in several processes; docs/deployment.md)
  bool tls = true;                    // mutual TLS between processes (CAF's OpenSSL module); false: plaintext
  std::filesystem::path certificate;  // this node's certificate (PEM), signed by cafile's CA
  std::filesystem::path key;          // its private key (PEM)
  std::filesystem::path cafile;       // the CA every node's certificate must be signed by
  int64_t heartbeat_ms = 1000;        // CAF middleman heartbeat between connected processes
  int64_t connection_timeout_ms = 10000; // a connection silent this long is closed: its actors go down
  int64_t join_timeout_ms = 300000;   // the rendezvous waits this long for every node to join
  bool data_plane = true;             // payloads >= data_plane_min_bytes go over a socket of their own, beside
  int64_t data_plane_min_bytes = 65536; // BASP (actors/data_plane.hpp); false: everything through BASP

  // [output]
  std::filesystem::path out_dir = "runs/run"; // --out overrides
  bool progress = true;         // one progress line per round on stderr
  bool save_adapters = true;    // RUN/adapters/<task>/adapter_model.safetensors (PEFT layout)
  double target_accuracy = 0.0; // summary.json: simulated time until the validation accuracy first reaches
                                // this (every task); 0: no target

  static model::lora_config default_lora() {
    model::lora_config l;
    l.rank = 8;
    l.alpha = 16.0;
    l.dropout = 0.0;
    l.targets = {"c_attn", "attn.c_proj", "c_fc", "mlp.c_proj"};
    return l;
  }

  straggler_policy stragglers_policy() const;
  dropout_mode dropouts_mode() const;
  /// The byzantine client ids: `byzantine`, or round(byzantine_fraction * clients) drawn by seed; sorted.
  std::vector<uint32_t> byzantine_clients() const;
  /// Clients drawn per edge round: clients_per_round, or max(1, round(clients_fraction x clients)); 0: all take part.
  int64_t sampled_per_round() const;
  /// [topology] mode = "async": each edge aggregates the buffer_size earliest uploads on the simulated clock.
  bool async_edges() const {
    return topology_mode == "async";
  }
  /// async: the uploads an edge with `edge_clients` clients aggregates at once (buffer_size, or half of them
  /// rounded up when 0; at least 1).
  std::size_t async_buffer(std::size_t edge_clients) const {
    const auto want = buffer_size > 0 ? static_cast<std::size_t>(buffer_size) : (edge_clients + 1) / 2;
    return std::max<std::size_t>(1, want);
  }
  /// The tasks' names, in config order: a shipped task's own, a file task's file stem ("file:my/x.csv" -> "x").
  std::vector<std::string> task_names() const;
  /// True when the clients fingerprint at the end of edge round `round` (0-based): the last edge round of
  /// cloud rounds 1, 1 + recluster_every, 1 + 2 recluster_every, ... (1-based), under clustering = "behaviour"
  /// only. A large recluster_every clusters once, after the first cloud round.
  bool fingerprint_round(int64_t round) const {
    return clustering == "behaviour" && (round + 1) % kappa2 == 0
           && ((round + 1) / kappa2 - 1) % recluster_every == 0;
  }
  /// [compress] adapters = "sketch": adapter uploads are count sketches (core/fed/sketched.hpp).
  bool sketching() const {
    return adapters == "sketch";
  }
  /// The uploads of edge round `round` are sketched: sketching, except in a fingerprint round, whose uploads are
  /// dense. A sketch is the difference from the cluster's adapters its sender started from, and a re-clustering
  /// at the end of that round may put clients of several old clusters into one new cluster (no one reference).
  bool sketched_round(int64_t round) const {
    return sketching() && !fingerprint_round(round);
  }
  /// [split] mode = "dynamic".
  bool dynamic_split() const {
    return split_mode == "dynamic";
  }
  /// [split] layout = "whole_model": clients train every block; edges only aggregate.
  bool whole_model() const {
    return split_layout == "whole_model";
  }
  /// [split] layout = "two_part": no tail; the edge runs blocks [a, L), the classifier and the loss.
  bool two_part() const {
    return split_layout == "two_part";
  }
  /// The tail blocks a client runs: [split] tail_blocks, or 0 on a two-part split.
  int64_t client_tail_blocks() const {
    return two_part() ? 0 : tail_blocks;
  }
  /// Client c's device class (an index into class_names) at edge round `round`: client_classes, else the
  /// seeded draw of class_fractions, else the first class; then the schedule's last change at or before it.
  std::size_t client_class(uint32_t client, int64_t round) const;
  /// Client c's device at edge round `round`, in SI units (FLOP/s, bytes, bytes/s, seconds).
  sim::device_profile client_device(uint32_t client, int64_t round) const;
  /// Edge e's compute, FLOP/s.
  double edge_flops(uint32_t edge) const;
  /// Edge rounds per cloud round and cloud rounds in total.
  int64_t cloud_rounds() const {
    return rounds / kappa2;
  }
};

/// A command-line option that sets one key over the file, e.g. {"--rounds 4", "topology", "rounds", 4}.
struct key_override {
  std::string option;  // as messages name it: the option and its value as typed
  std::string section; // TOML section, e.g. "topology"
  std::string key;     // TOML key, e.g. "rounds"
  std::variant<int64_t, double, bool, std::string> value;
};

/// Reads a TOML file over the defaults, with `overrides` set over the file before anything is checked, so
/// ranges and cross-key rules see the values the run will use. Unknown sections and keys, wrong types and
/// out-of-range values are elsa::error (invalid_argument) naming the file, [section] key, the value and the
/// allowed range; a problem with a key an override set names the option instead of the file
/// ("--rounds 1: [topology] rounds = 1 is not a multiple of kappa2 = 2 ..."), and with overrides present the
/// other messages end with "(with OPTION ...)". A missing file is file_not_found, a folder or bad TOML
/// invalid_argument or malformed_input (with the line).
run_config read_run_config(const std::filesystem::path& path,
                           const std::vector<key_override>& overrides = {});

/// Checks every range and cross-field rule (also of values set in code or on the command line):
/// elsa::error naming the [section] key and what is allowed. Does not look at files.
void validate(const run_config& cfg);

/// The effective configuration as TOML (every key, defaults included), for RUN/config.toml.
std::string to_toml(const run_config& cfg);

} // namespace elsa::run
