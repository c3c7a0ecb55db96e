// A client's side of U-shaped split training: it owns the head (embeddings + first a blocks) and the tail
// (last b blocks, final norm, classifier) with their LoRA adapters and its private data, and trains one step
// in three calls around the edge: begin_step (head forward) -> tail_step (tail forward, loss, backward) ->
// finish_step (head backward, optimizer step). Torch-free interface so actors can include it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/fed/federation_data.hpp"
#include "core/fed/frozen_base.hpp"
#include "core/run/run_config.hpp"
#include "messages/types.hpp"

namespace elsa::text {
class bpe_tokenizer;
}

namespace elsa::fed {

/// Probes per probe batch.
inline constexpr std::size_t probe_batch_size = 32;

/// What the head sends to the edge: activations (B, T, C) and the number of real tokens of each row; on a
/// two-part split ([split] layout = "two_part") also each row's label, since the edge computes the loss.
struct head_output {
  messages::tensor_bytes activation;
  std::vector<uint32_t> lengths;
  std::vector<uint32_t> labels;
};

class split_client {
public:
  /// Runs over the process's shared `base` with its own adapters (head and tail blocks, PEFT init from
  /// torch's global generator) and a classifier for the shard's task; encodes the shard with `tok`. Reads
  /// no file. Adapters keep their init until load_adapters is called.
  split_client(const run::run_config& cfg, const federation_data& data, uint32_t client,
               const text::bpe_tokenizer& tok, base_ptr base);
  ~split_client();
  split_client(const split_client&) = delete;
  split_client& operator=(const split_client&) = delete;

  uint32_t id() const;
  /// Training examples in the shard (the aggregation weight).
  uint64_t sample_count() const;

  /// Re-splits: head = blocks [0, a), tail = blocks [L - b, L). Abandons a step in progress and restarts the
  /// optimizer (its parameter set changed). Blocks the client ran before keep their values; a block that
  /// moves here takes its values from `cluster_set` (the round's aggregate, which its edge holds too: so
  /// the block moves with its layer), or PEFT's init when the set lacks it. True when the split changed.
  /// elsa::error when a < 1, b < 1 or a + b >= n_layer, or an entry of cluster_set does not fit.
  bool set_split(int64_t head_blocks, int64_t tail_blocks, const std::vector<messages::named_tensor>& cluster_set = {});
  int64_t head_blocks() const;
  int64_t tail_blocks() const;

  /// Copies adapter values (PEFT names) into the client's adapters and classifier; entries of the body
  /// blocks are skipped, so one cluster's full set can be passed. Unknown names or wrong shapes are an
  /// elsa::error (checked at once). During a step the values are copied in when the step ends (its backward
  /// needs the weights its forward used).
  void load_adapters(const std::vector<messages::named_tensor>& adapters);

  // [split] layout (run_config): u_shaped, the three calls below around the edge's body. whole_model: this
  // client holds every block and trains with local_step alone; its adapters() include the body blocks.
  // two_part: no tail and no classifier here (the edge has them): begin_step's output carries the labels,
  // the edge's reply is the head gradient (finish_step), and adapters() are the head blocks' only.

  /// whole_model only: one whole training step here (head, body, tail, loss, backward, clip, AdamW step);
  /// returns its loss. elsa::error on another layout.
  double local_step();
  /// Samples the next batch (seeded, without replacement within an epoch) and runs the head.
  head_output begin_step();
  /// Runs the tail on the edge's output (B, T, C), computes the loss and returns d loss / d body output.
  /// elsa::error (malformed_input) when the shape does not match the batch in progress.
  messages::tensor_bytes tail_step(const messages::tensor_bytes& body_output);
  /// Back-propagates the edge's gradient through the head, clips and steps; returns the step's loss (on a
  /// two-part split the edge computed it: `edge_loss`, which the reply carried, is returned).
  double finish_step(const messages::tensor_bytes& head_grad, double edge_loss = 0);
  /// Forgets the step in progress (its edge went away); gradients are cleared.
  void abandon_step();
  bool step_in_progress() const;
  /// Tokens (non-padding) in the last batch begun.
  int64_t last_batch_tokens() const;
  /// Its padded positions (batch x length): what the step's compute is proportional to.
  int64_t last_batch_positions() const;
  /// Its rows (B).
  int64_t last_batch_rows() const;

  /// The adapters this client trains: head and tail blocks plus the classifier (PEFT names, the classifier
  /// under head_name(task()), sorted). load_adapters takes LoRA entries and this task's head (qualified or
  /// plain) and skips other tasks' heads.
  std::vector<messages::named_tensor> adapters() const;
  /// The task of its data and classifier, as in [data] tasks.
  const std::string& task() const;

  // -- byzantine behaviour ([faults] byzantine..., injected; the client attacks as a real attacker would and
  // announces nothing: the federation sees only what it sends) --

  /// Makes this client an attacker. label_flip: it trains on flipped labels (label -> K - 1 - label).
  /// random_update / scaled_update: at each round's end (end_round) its adapters become the round's start plus
  /// noise of `scale` times the update's norm (per tensor), or plus `scale` times the update; the gradients it
  /// sends the edge are changed the same way (noise of scale x their norm, or scale x them).
  /// elsa::error for another mode.
  void set_byzantine(const std::string& mode, double scale, uint64_t seed);
  /// Draws `batches` batches and drops them: a client of a resumed run that starts at edge round r skips the
  /// r x kappa1 batches the run drew before, so it goes on through its data where the killed run was.
  void skip_batches(std::size_t batches);
  /// A round begins with its adapters in: an update attacker keeps them as the start of its update.
  void begin_round();
  /// The round's steps are done: an update attacker's adapters become the attack (a no-op otherwise).
  void end_round();

  // -- behaviour fingerprints (ELSA.md 3.1) --
  // The public probes go through the same split path as training, without gradients and without touching
  // a step in progress: probe_head(i) -> the edge's body (probe forward) -> probe_tail(i, body output), for
  // every batch i, then fingerprint().

  /// Probe batches (of probe_batch_size) in federation_data::probes; 0 when the run has no probes.
  std::size_t probe_batches() const;
  /// Head forward of probe batch i; elsa::error when i is out of range.
  head_output probe_head(std::size_t batch);
  /// Tail blocks and final norm on the edge's output for probe batch i; keeps each probe's hidden state at
  /// its last real token. elsa::error (malformed_input) on a wrong shape.
  void probe_tail(std::size_t batch, const messages::tensor_bytes& body_output);
  /// The fingerprint of the hidden states kept since the last call (elsa::error unless every batch is in):
  /// gaussian: mean and variance per dimension, v <- (1 - shrinkage) v + shrinkage mean(v) + 1e-6;
  /// displacement: the same Gaussian of each probe's state minus the public base model's state for it (what
  /// the adapters changed; the base's states are computed here once, with no adapters);
  /// predictive: softmax of the tied LM head over the shared vocabulary ids 256 .. 256 + vocab - 1 (the
  /// tokenizer's first merges, its most frequent pairs), one row per probe. Clears what was kept.
  messages::fingerprint fingerprint(uint32_t round, const std::string& form, double shrinkage, int64_t vocab);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace elsa::fed

namespace elsa::fed {

/// The token ids of client `client`'s training examples, in shard order, encoded exactly as its split_client
/// trains on them (batch_sampler indices refer to this order). elsa::error for an empty shard.
std::vector<std::vector<int32_t>> client_token_ids(const run::run_config& cfg, const federation_data& data,
                                                   uint32_t client, const text::bpe_tokenizer& tok);

/// Sets LibTorch's intra-op threads for the process (each call of a participant uses this many).
void set_torch_threads(int64_t threads);

} // namespace elsa::fed
