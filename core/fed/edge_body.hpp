// An edge server's side of U-shaped split training: the body blocks [a, L - b) of the process's shared
// frozen base, one slot per client holding only that client's body adapters and optimizer state (so steps of
// different clients can interleave). forward() keeps the step's graph until backward() for that client
// arrives. Torch-free interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/fed/frozen_base.hpp"
#include "core/run/run_config.hpp"
#include "messages/types.hpp"

namespace elsa::fed {

/// A client's task as a two-part split's edge needs it: the classifier's name and size.
struct client_task {
  std::string task;
  int64_t num_labels = 0;
};

/// The step of a two-part split at the edge: the gradient for the client's head output, and the loss.
struct edge_step {
  messages::tensor_bytes head_grad;
  double loss = 0;
};

// [split] layout (run_config): u_shaped, a slot runs the body [a, L - b) (forward, then backward).
// whole_model: slots hold nothing and run nothing (the clients train every block; the edge only aggregates).
// two_part: a slot runs blocks [a, L), ln_f and the client's task's classifier with its own copy of the
// classifier, and train_step does the whole server side of a step with the labels the client sent.
class edge_body {
public:
  /// Reads no file: every slot runs over `base`. `tasks` (indexed by client id) is needed by a two-part
  /// split only.
  edge_body(const run::run_config& cfg, base_ptr base, std::vector<client_task> tasks = {});
  ~edge_body();
  edge_body(const edge_body&) = delete;
  edge_body& operator=(const edge_body&) = delete;

  /// Creates (or re-splits) the slot of `client`: body = blocks [a, L - b). elsa::error on a bad split. True
  /// when the slot was built anew (new, or its split changed; its AdamW moments restart). Blocks the slot
  /// ran before keep their adapters; a block that moves in takes its values from `cluster_set` (the round's
  /// aggregate, which the client holds too: the block moves with its layer), or PEFT's init without it.
  bool add_client(uint32_t client, int64_t head_blocks, int64_t tail_blocks,
                  const std::vector<messages::named_tensor>& cluster_set = {});
  void remove_client(uint32_t client);
  bool has_client(uint32_t client) const;
  std::vector<uint32_t> clients() const;

  /// Copies the body-block entries of `adapters` into the client's slot; other entries (head, tail,
  /// classifier) are ignored, so a cluster's full set can be passed as is (two_part: the client's task's
  /// classifier head is the slot's and is taken; whole_model: nothing is). While a step of that client is
  /// pending the values are checked at once and copied in when the step ends.
  void load_adapters(uint32_t client, const std::vector<messages::named_tensor>& adapters);

  /// Body forward of one step: activation (B, T, C) with per-row token counts -> body output (B, T, C).
  /// elsa::error (invalid_argument / malformed_input) on an unknown client or bad shapes.
  messages::tensor_bytes forward(uint32_t client, const messages::tensor_bytes& activation,
                                 const std::vector<uint32_t>& lengths);
  /// Body forward of a public probe batch (a fingerprint, ELSA.md 3.1): the same checks and the slot's
  /// current adapters, without gradients; a pending step is left as it is.
  messages::tensor_bytes probe_forward(uint32_t client, const messages::tensor_bytes& activation,
                                       const std::vector<uint32_t>& lengths);
  /// Body backward for the client's pending step: gradient of its output -> gradient of its input. Clips
  /// and steps the slot's optimizer. elsa::error when no forward is pending or the shape differs.
  messages::tensor_bytes backward(uint32_t client, const messages::tensor_bytes& grad_output);
  /// two_part only: the server side of one step: blocks [a, L), ln_f, the classifier and the cross-entropy
  /// with `labels` (one per row, each < the task's labels), backward, clip and AdamW step. elsa::error
  /// (invalid_argument / malformed_input) on another layout, an unknown client, bad shapes or labels.
  edge_step train_step(uint32_t client, const messages::tensor_bytes& activation, const std::vector<uint32_t>& lengths,
                       const std::vector<uint32_t>& labels);
  /// Drops a pending step (client gone).
  void abandon_step(uint32_t client);

  /// The slot's body adapters (PEFT names, sorted); two_part: also its classifier, under the task's head
  /// name; whole_model: none.
  std::vector<messages::named_tensor> adapters(uint32_t client) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace elsa::fed
