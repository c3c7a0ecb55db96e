// SS-OP (core/privacy/ssop.hpp): the principal directions are those of the data, the noise is orthogonal to
// them to 1e-5 and has the configured norm in expectation, and bad k is an error.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include "core/errors.hpp"
#include "core/privacy/ssop.hpp"

namespace elsa::privacy {
namespace {

// Rows with large variance along two planted orthonormal directions, small elsewhere.
torch::Tensor planted(const torch::Tensor& dirs, int64_t n) {
  torch::manual_seed(11);
  const int64_t d = dirs.size(0);
  auto coeffs = torch::randn({n, dirs.size(1)}) * torch::tensor({10.0f, 5.0f});
  return coeffs.mm(dirs.t()) + 0.1 * torch::randn({n, d}) + 3.0;  // an offset: the directions are centred
}

TEST(Ssop, PrincipalDirectionsAreThoseOfTheData) {
  torch::manual_seed(5);
  auto [q, r] = torch::linalg::qr(torch::randn({32, 2}));
  const auto u = principal_directions(planted(q, 2000), 2);
  ASSERT_EQ(u.sizes().vec(), (std::vector<int64_t>{32, 2}));
  EXPECT_TRUE(torch::allclose(u.t().mm(u), torch::eye(2), 1e-5, 1e-5));
  // Largest first, each the planted one up to sign.
  EXPECT_GT(std::abs(u.select(1, 0).dot(q.select(1, 0)).item<double>()), 0.999);
  EXPECT_GT(std::abs(u.select(1, 1).dot(q.select(1, 1)).item<double>()), 0.999);
  EXPECT_THROW(principal_directions(torch::randn({10, 8}), 8), elsa::error);
  EXPECT_THROW(principal_directions(torch::randn({10, 8}), -1), elsa::error);
  EXPECT_THROW(principal_directions(torch::randn({1, 8}), 2), elsa::error);
}

TEST(Ssop, NoiseIsOrthogonalToTheBasisWithTheConfiguredNorm) {
  torch::manual_seed(7);
  const int64_t d = 64, k = 12;
  auto [u, r] = torch::linalg::qr(torch::randn({d, k}));
  auto h = torch::randn({8, 50, d}) * torch::rand({8, 50, 1}) * 4;
  auto gen = at::detail::createCPUGenerator(42);
  const double sigma = 0.5;
  auto delta = ssop_noise(h, u, sigma, gen);
  ASSERT_EQ(delta.sizes(), h.sizes());
  // Orthogonal to U_k, relative to each vector's size.
  const auto along = delta.matmul(u).norm(2, -1) / delta.norm(2, -1);
  EXPECT_LT(along.max().item<double>(), 1e-5);
  // E ||delta||^2 = sigma^2 ||h||^2: the mean ratio over 400 vectors (each a chi^2 with 52 degrees of
  // freedom over 52: sd 0.2, so the mean's sd is 0.01).
  const auto ratio = (delta.pow(2).sum(-1) / (sigma * sigma * h.pow(2).sum(-1))).mean().item<double>();
  EXPECT_NEAR(ratio, 1.0, 0.04);
  // Drawn from the generator: the same seed gives the same noise, another seed other noise.
  auto again = at::detail::createCPUGenerator(42);
  EXPECT_TRUE(torch::equal(ssop_noise(h, u, sigma, again), delta));
  auto other = at::detail::createCPUGenerator(43);
  EXPECT_FALSE(torch::equal(ssop_noise(h, u, sigma, other), delta));
  // k = 0: isotropic noise of the same expected norm.
  auto iso = ssop_noise(h, torch::Tensor(), sigma, gen);
  EXPECT_NEAR((iso.pow(2).sum(-1) / (sigma * sigma * h.pow(2).sum(-1))).mean().item<double>(), 1.0, 0.04);
  // A basis of the wrong width is an error.
  EXPECT_THROW(ssop_noise(h, torch::randn({d + 1, k}), sigma, gen), elsa::error);
}

} // namespace
} // namespace elsa::privacy
