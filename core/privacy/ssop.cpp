// SS-OP (see ssop.hpp).
#include "core/privacy/ssop.hpp"

#include <cmath>

#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::privacy {

torch::Tensor principal_directions(const torch::Tensor& x, int64_t k) {
  if (x.dim() != 2 || x.size(0) < 2)
    throw error(errc::invalid_argument, "principal directions need at least 2 rows of a 2-d tensor");
  const int64_t d = x.size(1);
  if (k < 0 || k >= d)
    throw error(errc::invalid_argument,
                fmt::format("[privacy] ssop_k = {} must be in [0, {}) (the activation width)", k, d));
  torch::NoGradGuard no_grad;
  auto xd = x.to(torch::kFloat64);
  auto centred = xd - xd.mean(0, true);
  auto cov = centred.t().mm(centred) / static_cast<double>(x.size(0) - 1);
  auto [values, vectors] = torch::linalg::eigh(cov, "L");  // ascending
  return vectors.narrow(1, d - k, k).flip({1}).to(torch::kFloat32).contiguous();
}

torch::Tensor ssop_noise(const torch::Tensor& h, const torch::Tensor& u, double sigma, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  const int64_t d = h.size(-1);
  const int64_t k = u.numel() == 0 ? 0 : u.size(1);
  if (u.numel() != 0 && (u.dim() != 2 || u.size(0) != d))
    throw error(errc::invalid_argument, fmt::format("SS-OP basis of shape [{}] for activations of width {}",
                                                    fmt::join(u.sizes().vec(), ","), d));
  auto z = at::normal(0.0, 1.0, h.sizes(), gen, h.options().dtype(torch::kFloat32));
  if (k > 0)
    z = z - z.matmul(u).matmul(u.t());
  const auto norms = h.detach().to(torch::kFloat32).norm(2, -1, true);
  return (z * norms * (sigma / std::sqrt(static_cast<double>(d - k)))).to(h.scalar_type());
}

} // namespace elsa::privacy
