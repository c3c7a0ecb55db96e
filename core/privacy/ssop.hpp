// Semantic-subspace orthogonal perturbation, SS-OP (ELSA.md 3.3): the head's activations get noise only in
// the directions orthogonal to the top principal subspace of public head outputs, so what the body reads
// most (the high-variance semantic directions) is kept and the rest, where an inverter finds token
// identity, is drowned. Per token vector h (the last dimension, d of it):
//   delta = sigma ||h|| (I - U_k U_k^T) z / sqrt(d - k),  z ~ N(0, I_d),
// so delta is orthogonal to U_k and E ||delta||^2 = sigma^2 ||h||^2.
// U_k comes from the public base model's head on the public probes, so every client computes the same basis
// without a message (see docs/privacy.md). Torch, no actors.
#pragma once

#include <cstdint>

#include <ATen/core/Generator.h>
#include <torch/torch.h>

namespace elsa::privacy {

/// The top-k principal directions (d x k, orthonormal columns, largest variance first) of the rows of `x`
/// (n x d), centred. elsa::error when k is not in [0, d) or x has fewer than 2 rows.
torch::Tensor principal_directions(const torch::Tensor& x, int64_t k);

/// The SS-OP noise for h (..., d) with basis u (d x k, orthonormal columns; k may be 0): each vector along the
/// last dimension gets sigma ||h|| (I - u u^T) z / sqrt(d - k) with z drawn from `gen`. No gradient flows
/// through it (the noise is a constant of the step).
torch::Tensor ssop_noise(const torch::Tensor& h, const torch::Tensor& u, double sigma, at::Generator& gen);

} // namespace elsa::privacy
