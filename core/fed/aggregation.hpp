// Aggregation policy as plain functions: which client updates count (validation against the cluster's
// layout and the client's registered sample count), with what weight (samples x trust x staleness decay),
// whether a round has its quorum, and the weighted average per cluster. Values in, values out: the edge and
// the cloud actors call these and keep only protocol state. One bad update is rejected with its reason;
// the rest of the cluster is still aggregated. Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/fed/adapters.hpp"

namespace elsa::fed {

/// Names and shapes of an adapter set, in its order (sets are sorted by name when built): what every update
/// of one cluster must hold, in the same order.
struct adapter_layout {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  bool empty() const {
    return names.empty();
  }
};

adapter_layout layout_of(const adapter_set& set);

/// FNV-1a (64 bit) over names, dtypes, shapes and bytes: equal sets give equal digests, so the run record
/// can show which update an aggregate equals without shipping tensors.
uint64_t digest(const adapter_set& set);


/// One client's contribution as the edge keeps it until aggregation: its whole adapter set (head/tail part
/// from the client, body part from the edge's slot, taken at the same round).
struct client_update {
  uint32_t client = 0;   // the sender: a client at an edge, an edge at the cloud
  uint32_t round = 0;    // the round the client trained in
  uint32_t cluster = 0;
  uint64_t samples = 0;  // the sample count the client claims
  adapter_set adapters;
};

/// Why an update was left out of an aggregation.
enum class rejection : uint8_t {
  excluded,          // the coordinator excluded the client (trust below tau_min)
  wrong_names,       // not the cluster's tensor names
  wrong_shape,       // a tensor's shape differs from the cluster's
  not_finite,        // NaN or infinity in a tensor
  inflated_samples,  // more samples than the client registered
  too_stale,         // older than max_staleness rounds, or from a future round
  zero_weight,       // trust or samples make its weight 0
};

/// "excluded", "wrong_names", ... (the run record's error codes).
const char* to_string(rejection why);

struct rejected_update {
  uint32_t client = 0;
  uint32_t round = 0;
  rejection why = rejection::wrong_names;
  std::string text;  // one line naming the tensor, value or count that is wrong
};

/// The checks of one update before it may be weighted: names and shapes equal to `layout`, every value
/// finite (f32, f16 and bf16), samples <= registered_samples. nullopt when it passes.
/// `kind` names the sender in the text ("client", or "edge" at the cloud).
std::optional<rejected_update> validate(const client_update& update, const adapter_layout& layout,
                                        uint64_t registered_samples, const char* kind = "client");

struct aggregation_policy {
  bool trust_weighting = true;  // multiply by the client's trust score
  double staleness_decay = 0.5; // weight x decay^(round - update.round) for late updates
  uint32_t max_staleness = 1;   // rounds an update may lag and still count
  // FedBuff's weight (Nguyen et al., 2022): x (1 + lag)^-1/2 instead of decay^lag ([topology] mode = "async").
  bool polynomial_staleness = false;
};

/// samples x trust (when trust weighting; 1 when the client has no score) x decay^(round - update.round)
/// (polynomial_staleness: x (1 + round - update.round)^-1/2).
/// 0 for an update from a future round.
double update_weight(const client_update& update, uint32_t round, const std::map<uint32_t, double>& trust,
                     const aggregation_policy& policy);

/// True when `reported` of `live` participants meet the quorum fraction (and at least one reported).
bool quorum_met(std::size_t reported, std::size_t live, double quorum);

/// What each cluster's aggregation used.
struct cluster_aggregate {
  adapter_set adapters;            // the weighted average (f32)
  uint64_t samples = 0;            // sum of the samples of exactly the updates averaged
  std::vector<uint32_t> clients;   // whose updates were averaged, in input order
  std::vector<uint32_t> stale;     // those of them from an earlier round
  std::map<uint32_t, double> weights;  // client -> normalised weight in the average
};

struct aggregation_result {
  std::map<uint32_t, cluster_aggregate> clusters;  // only clusters with at least one accepted update
  std::vector<rejected_update> rejected;
};

/// The inputs of one aggregation besides the updates: what each client registered and the coordinator's
/// trust scores and exclusions; `layouts` per cluster (a cluster without one takes its first update's).
struct aggregation_inputs {
  uint32_t round = 0;
  std::map<uint32_t, adapter_layout> layouts;
  std::map<uint32_t, uint64_t> registered_samples;  // client -> samples it registered with
  std::map<uint32_t, double> trust;
  std::set<uint32_t> excluded;
  aggregation_policy policy;
  const char* sender_kind = "client";  // how the texts name a sender: "client" at edges, "edge" at the cloud
};

/// Validates, weights and averages `updates` per cluster. Only a client's newest update counts (an older
/// one is rejected as superseded). A client with no registered count is taken at its word. Never throws on bad updates: each is rejected with its reason and the others are averaged.
aggregation_result aggregate_updates(const std::vector<client_update>& updates, const aggregation_inputs& in);

} // namespace elsa::fed
