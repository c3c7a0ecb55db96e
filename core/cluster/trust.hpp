// Prediction-consistency trust (ELSA.md 3.1): a client whose fingerprint sits far from its cluster's medoid,
// or jumps from one fingerprinting to the next, scores low; trust is an exponential moving average of that
// score, and clients under tau_min are left out of aggregation. Plain functions; the coordinator sends the
// results to the edges as trust updates. No torch, no CAF.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/cluster/clustering.hpp"

namespace elsa::cluster {

struct trust_params {
  double beta = 1.0;     // weight of the distance to the cluster's medoid
  double gamma = 1.0;    // weight of the drift from the client's own previous fingerprint
  double rho = 0.5;      // EMA: tau <- rho * tau + (1 - rho) * c
  double tau_min = 0.3;  // clients under this are excluded
};

/// The consistency score of every client, in (0, 1]:
///   c_n = exp(-beta * max(0, D(n, medoid of n's cluster) / s_m - 1)) * exp(-gamma * max(0, drift_n / s_d - 1))
/// where s_m is the median over all clients of their distance to their own medoid and s_d the median of the
/// known drifts (each replaced by 1 when it is not > 0): a client no farther than a typical one scores 1,
/// and beta and gamma weigh the excess in units of the typical distance whatever the units of D. A client
/// alone in its cluster is measured by its distance to the nearest other client (nobody vouches for it). drift_n = D(R_n now, R_n at the previous fingerprinting); nullopt (the
/// first time) contributes a factor 1. Scaling by medians assumes an honest majority.
std::vector<double> consistency_scores(const distance_matrix& d, const partition& clusters,
                                       const std::vector<std::optional<double>>& drift, const trust_params& params);

/// tau <- rho * tau + (1 - rho) * c.
double updated_trust(double tau, double c, const trust_params& params);

} // namespace elsa::cluster
