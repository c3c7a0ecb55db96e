// Count-sketched adapter updates ([compress] adapters = "sketch", ELSA.md 3.3) as the federation moves them.
// What is sketched is an update: the LoRA difference from the round's start (the adapters the sender began
// the round with), over the coordinates of the cluster's whole LoRA layout in name order, so a client's
// head/tail part, the edge's body part and several clients' updates all land in one table and add up.
// Classifier heads travel exact beside the table (heads are averaged per task, adapters.hpp).
//
// For aggregation a sketched update becomes an ordinary adapter set: its heads plus the table as one tensor
// named k_table_name. The weighted average of tables is the table of the weighted average of updates
// (sketches are linear), so aggregate_updates validates, weights and averages sketches without decoding.
//
// Decoding: [compress] sketch_decode = "linear" applies gain x the least-squares projection of the table to
// every coordinate (compress::linear_decode); "top_k" applies the k largest median estimates (FetchSGD).
// What a decode leaves lives with the receivers that decode (FetchSGD's placement): an edge in its edge rounds
// and the cloud in cloud rounds keep, per cluster, the tables they decoded minus the sketch of what they
// applied. Under top_k that is error feedback, added to the next table they decode. Under linear it is not
// fed back (it is about (1 - gain) x the table, which would push the next decode the wrong way whenever
// gain > 1), and only an edge keeps it: in a cloud round the edge sends up the sketch of what its edge rounds
// applied plus what they left, which is then the sum of the tables it decoded, so the cloud decodes each edge
// round's update once, at the same gain as its own round's. Senders keep nothing. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

#include "core/compress/count_sketch.hpp"
#include "core/fed/adapters.hpp"
#include "core/fed/aggregation.hpp"
#include "core/run/run_config.hpp"
#include "messages/types.hpp"

namespace elsa::fed {

/// The table's name inside an aggregable set: sorts after every PEFT name.
inline constexpr const char* k_table_name = "~sketch.table";

/// The sketch of one cluster's updates: the hashes and the LoRA layout its coordinates index.
struct sketch_plan {
  compress::sketch_shape shape;
  std::vector<messages::tensor_spec> layout;  // the LoRA entries of the cluster's set, in name order
  uint64_t k = 0;                             // top_k: coordinates a decode keeps
  bool linear = false;                        // [compress] sketch_decode = "linear" (else top_k)
  double gain = 1.0;                          // linear: the multiple of the least-squares projection
};

/// The plan for a cluster whose adapters are `cluster_set`, from [compress] sketch_rows, sketch_cols (or
/// sketch_ratio), sketch_k, sketch_decode and sketch_gain, seeded by [run] seed. elsa::error when the set has no LoRA entries.
sketch_plan plan_sketch(const run::run_config& cfg, const adapter_set& cluster_set);

/// The flat LoRA update now - start over plan.layout; entries `now` lacks (another party's blocks) count 0.
/// elsa::error when a shape differs from the layout's.
std::vector<float> lora_delta(const sketch_plan& plan, const adapter_set& now, const adapter_set& start);

/// start with delta added to its LoRA entries over plan.layout (other entries of start kept), f32, sorted.
adapter_set apply_delta(const sketch_plan& plan, const adapter_set& start, const std::vector<float>& delta);

/// The wire form of the update now - start: its table and now's heads, exact.
messages::count_sketch sketch_update(const sketch_plan& plan, const adapter_set& now, const adapter_set& start);

/// A table (plan's shape; empty: zeros) and the heads of `heads` (its other entries are left out) as one
/// aggregable set, sorted.
adapter_set aggregable(const sketch_plan& plan, std::vector<float> table, const adapter_set& heads);
/// The wire form of a table and the heads of `heads`.
messages::count_sketch as_sketch(const sketch_plan& plan, const std::vector<float>& table, const adapter_set& heads);
/// The layout updates of a cluster whose adapters are `set` are validated against when sketching: its heads
/// and the table.
adapter_layout sketch_layout(const run::run_config& cfg, const adapter_set& set);
/// The k_table_name entry's values; elsa::error when `set` has none or it has the wrong size.
std::vector<float> table_of(const sketch_plan& plan, const adapter_set& set);
/// The entries of `set` other than the table (its heads).
adapter_set heads_of(const adapter_set& set);

/// One line naming what differs when a received sketch was not made with `plan` (rows, cols, seed, layout);
/// empty when it was.
std::string plan_mismatch(const sketch_plan& plan, const messages::count_sketch& sketch);

/// The table's values of a received sketch (the plan's shape).
std::vector<float> values(const messages::count_sketch& sketch);

/// The aggregable form of one client's update at its edge: the client's sketch (checked against `plan`) with
/// the body slot's part (body_now - start) added into the same table, heads exact. A dense client update
/// (`client_part` holding tensors) is sketched here against `start` instead. elsa::error naming what does
/// not match.
adapter_set client_update_at_edge(const sketch_plan& plan, const messages::adapter_update& from_client,
                                  const adapter_set& body_now, const adapter_set& start);

/// An edge's table for the cloud in a cloud round: this round's averaged table, plus the sketch of what its
/// edge rounds applied since the cloud's adapters (current - global), plus what their decodes left (may be
/// empty): together, the sum of the tables it decoded and this round's.
std::vector<float> edge_upload_table(const sketch_plan& plan, std::vector<float> averaged, const adapter_set& current,
                                     const adapter_set& global, const std::vector<float>& error);

/// Who decodes: an edge in its edge rounds (what its decodes leave goes up with its next cloud upload) or the
/// cloud in cloud rounds (the last decode of the update).
enum class decoder { edge, cloud };

/// A decoder's step: `averaged`'s table decoded with `error` (decode_with_feedback, which updates `error`)
/// applied to `start`'s LoRA, with `averaged`'s heads in place of start's; start's other entries kept. Sorted.
adapter_set decode_update(const sketch_plan& plan, const adapter_set& start, std::vector<float>& error,
                          const adapter_set& averaged, decoder who);

/// One decode and what it leaves. top_k: s = error + table, the decoded update is the top-k of s, and error
/// becomes s - sketch(decoded) (error feedback). linear: the decoded update is linear_decode(table,
/// plan.gain); an edge adds table - sketch(decoded) to error (for its cloud upload, not for the next decode),
/// the cloud clears it. Either way, for an edge, the sketch of everything it applied plus error is the sum of
/// the tables it decoded. Returns the decoded update (plan.shape.dim values). `error` starts empty (zero).
std::vector<float> decode_with_feedback(const sketch_plan& plan, std::vector<float>& error,
                                        const std::vector<float>& table, decoder who);

} // namespace elsa::fed
