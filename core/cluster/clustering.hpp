// Behaviour-aware clustering (ELSA.md 3.1) as plain functions: the symmetric KL discrepancy between client
// fingerprints in closed form, k-medoids (PAM) on it with K given or chosen by silhouette, stable cluster ids
// across re-clustering, and the adjusted Rand index the run record scores clusterings with. Values in,
// values out: the coordinator calls these. No torch, no CAF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace elsa::cluster {

/// A client's fingerprint as a Gaussian with diagonal covariance over d hidden dimensions: the mean and the
/// (shrunk, strictly positive) variance of its last-token hidden states on the public probes.
struct diagonal_gaussian {
  std::vector<double> mean;      // (d)
  std::vector<double> variance;  // (d), every value > 0
};

/// The alternative fingerprint: the predictive distribution on each probe, `rows` probes x `cols` classes,
/// row-major; each row sums to 1 and has no zero (callers floor and renormalise).
struct predictive {
  uint32_t rows = 0;
  uint32_t cols = 0;
  std::vector<double> p;  // (rows, cols)
};

/// KL(p || q) in closed form: 1/2 sum_i [ v_p/v_q + (m_q - m_p)^2 / v_q - 1 + ln(v_q / v_p) ].
/// elsa::error (invalid_argument) when the dimensions differ or a variance is not > 0.
double kl_divergence(const diagonal_gaussian& p, const diagonal_gaussian& q);

/// D(a, b) = 1/2 [KL(a||b) + KL(b||a)].
double symmetric_kl(const diagonal_gaussian& a, const diagonal_gaussian& b);

/// Mean over rows of the symmetric KL of the two rows' categorical distributions. elsa::error when the
/// shapes differ.
double symmetric_kl(const predictive& a, const predictive& b);

/// A symmetric n x n matrix with a zero diagonal, row-major.
struct distance_matrix {
  std::size_t n = 0;
  std::vector<double> values;  // (n, n)
  double operator()(std::size_t i, std::size_t j) const {
    return values[i * n + j];
  }
};

distance_matrix pairwise_symmetric_kl(const std::vector<diagonal_gaussian>& fingerprints);
distance_matrix pairwise_symmetric_kl(const std::vector<predictive>& fingerprints);

/// A clustering of the n points of a distance matrix.
struct partition {
  std::vector<uint32_t> label;              // (n) cluster id of each point
  std::map<uint32_t, std::size_t> medoid;   // cluster id -> index of its medoid (a point of that cluster)
  double cost = 0;                          // sum over points of the distance to their medoid
};

/// k-medoids by PAM (BUILD, then SWAP until no swap lowers the cost), deterministic (ties to the lower
/// index); cluster ids 0..k-1 in the order of their medoids' indices. k is clamped to 1..n; elsa::error for
/// an empty matrix.
partition k_medoids(const distance_matrix& d, uint32_t k);

/// Mean silhouette of a labelling (a point alone in its cluster scores 0); 0 when there is one cluster.
double silhouette(const distance_matrix& d, const std::vector<uint32_t>& label);

/// k_medoids for every k in 2..k_max (clamped to n), keeping the one with the highest mean silhouette
/// (ties to the smaller k).
partition k_medoids_by_silhouette(const distance_matrix& d, uint32_t k_max);

/// Renames the clusters of `now` so that its ids agree with `previous` (a labelling of the same points):
/// the matching of new clusters to previous ids that maximises the total overlap (points in both), exactly;
/// a new cluster that matches no previous one gets the smallest id not used by the others. Labels and
/// medoids are renamed together; the grouping itself does not change.
void keep_ids(partition& now, const std::vector<uint32_t>& previous);

/// Adjusted Rand index of two labellings of the same points (Hubert and Arabie): 1 for identical
/// groupings whatever the ids, about 0 for independent ones. 1 when both put every point in one group.
double adjusted_rand_index(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);

} // namespace elsa::cluster
