// An edge server's side of U-shaped split training: the body blocks [a, L - b) of the process's shared
// frozen base, one slot per client holding only that client's body adapters and optimizer state (so steps of
// different clients can interleave). forward() keeps the step's graph until backward() for that client
// arrives. Torch-free interface.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/fed/frozen_base.hpp"
#include "core/run/run_config.hpp"
#include "messages/types.hpp"

namespace elsa::fed {

class edge_body {
public:
  /// Reads no file: every slot runs over `base`.
  edge_body(const run::run_config& cfg, base_ptr base);
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
  /// classifier) are ignored, so a cluster's full set can be passed as is. While a step of that client is
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
  /// Drops a pending step (client gone).
  void abandon_step(uint32_t client);

  /// The slot's body adapters (PEFT names, sorted).
  std::vector<messages::named_tensor> adapters(uint32_t client) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace elsa::fed
