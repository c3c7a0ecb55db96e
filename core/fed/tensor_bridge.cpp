// LibTorch <-> tensor_bytes views (see tensor_bridge.hpp).
#include "core/fed/tensor_bridge.hpp"

#include <memory>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::fed {

messages::tensor_bytes to_wire(const torch::Tensor& t) {
  auto c = t.detach();
  if (c.scalar_type() != torch::kFloat32 || !c.device().is_cpu())
    c = c.to(torch::kCPU, torch::kFloat32);
  c = c.contiguous();
  auto owner = std::make_shared<torch::Tensor>(c);
  const auto sizes = c.sizes();
  return messages::tensor_bytes::view_of(messages::dtype::f32, std::vector<int64_t>(sizes.begin(), sizes.end()),
                                         c.data_ptr(), static_cast<std::size_t>(c.numel()) * sizeof(float),
                                         std::shared_ptr<const void>(owner, owner.get()));
}

messages::tensor_bytes to_wire(const torch::Tensor& t, messages::dtype type) {
  if (type == messages::dtype::f32)
    return to_wire(t);
  auto c = t.detach().to(torch::kCPU, type == messages::dtype::f16 ? torch::kFloat16 : torch::kBFloat16).contiguous();
  auto owner = std::make_shared<torch::Tensor>(c);
  const auto sizes = c.sizes();
  return messages::tensor_bytes::view_of(type, std::vector<int64_t>(sizes.begin(), sizes.end()), c.data_ptr(),
                                         static_cast<std::size_t>(c.numel()) * 2,
                                         std::shared_ptr<const void>(owner, owner.get()));
}

messages::dtype wire_type(const std::string& name) {
  if (name == "fp32")
    return messages::dtype::f32;
  if (name == "fp16")
    return messages::dtype::f16;
  if (name == "bf16")
    return messages::dtype::bf16;
  throw error(errc::invalid_argument, fmt::format("[compress] activations = \"{}\": use fp32, fp16 or bf16", name));
}

torch::Tensor from_wire(const messages::tensor_bytes& x) {
  const int64_t n = x.numel();
  if (n < 0 || static_cast<std::size_t>(n) * messages::dtype_size(x.type()) != x.size_bytes())
    throw error(errc::malformed_input,
                fmt::format("tensor of shape [{}] and dtype {} has {} bytes", fmt::join(x.shape(), ","),
                            messages::to_string(x.type()), x.size_bytes()));
  auto owner = x.owner();
  auto keep = [owner](void*) {};
  void* data = const_cast<std::byte*>(x.data());
  if (n == 0)
    return torch::zeros(x.shape(), torch::kFloat32);
  switch (x.type()) {
    case messages::dtype::f32:
      return torch::from_blob(data, x.shape(), keep, torch::kFloat32);
    case messages::dtype::f16:
      return torch::from_blob(data, x.shape(), keep, torch::kFloat16).to(torch::kFloat32);
    case messages::dtype::bf16:
      return torch::from_blob(data, x.shape(), keep, torch::kBFloat16).to(torch::kFloat32);
  }
  throw error(errc::malformed_input, "tensor with an unknown dtype");
}

std::vector<messages::named_tensor> to_wire(const std::map<std::string, torch::Tensor>& state) {
  std::vector<messages::named_tensor> out;
  out.reserve(state.size());
  for (const auto& [name, t] : state)
    out.push_back({name, to_wire(t)});
  return out;
}

std::map<std::string, torch::Tensor> from_wire(const std::vector<messages::named_tensor>& tensors) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& nt : tensors)
    out[nt.name] = from_wire(nt.tensor);
  return out;
}

} // namespace elsa::fed
