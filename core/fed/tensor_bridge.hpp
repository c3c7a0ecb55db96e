// LibTorch tensors <-> the torch-free messages::tensor_bytes the actors carry, without copying where the
// layout allows: a contiguous f32 CPU tensor becomes a view that keeps the tensor alive, and received bytes
// become a torch tensor over the message buffer that keeps the buffer alive. Internal to core/fed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "messages/types.hpp"

namespace elsa::fed {

/// A view of t's bytes (f32, row-major). Copies only when t is not a contiguous CPU f32 tensor.
messages::tensor_bytes to_wire(const torch::Tensor& t);

/// t converted once to `type` (f32: as above; f16/bf16: one converted copy that the view keeps alive).
messages::tensor_bytes to_wire(const torch::Tensor& t, messages::dtype type);

/// The wire dtype named by [compress] activations: "fp32", "fp16" or "bf16"; elsa::error otherwise.
messages::dtype wire_type(const std::string& name);

/// A float32 tensor over x's bytes (zero copy for f32; f16/bf16 are converted). The tensor must be treated
/// as read-only: it may alias a received message. Throws elsa::error (malformed_input) when the byte length
/// does not match the shape.
torch::Tensor from_wire(const messages::tensor_bytes& x);

/// Named tensors (adapter state) to wire form and back; the wire list is sorted by name.
std::vector<messages::named_tensor> to_wire(const std::map<std::string, torch::Tensor>& state);
std::map<std::string, torch::Tensor> from_wire(const std::vector<messages::named_tensor>& tensors);

} // namespace elsa::fed
