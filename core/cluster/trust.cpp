// Prediction-consistency trust (see trust.hpp): scores from the distance to the cluster's medoid and the
// drift between fingerprintings, each on the scale of its median, and the EMA of trust.
#include "core/cluster/trust.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "core/errors.hpp"

namespace elsa::cluster {

namespace {

// Median of the values, the mean of the middle two for an even count; replaced by 1 when it is not > 0
// (no values, or most of them 0) so that the division keeps the scores finite.
double median_scale(std::vector<double> values) {
  if (values.empty())
    return 1.0;
  const std::size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  double m = values[mid];
  if (values.size() % 2 == 0)
    m = 0.5 * (m + *std::max_element(values.begin(), values.begin() + mid));
  return m > 0.0 ? m : 1.0;
}

void check_params(const trust_params& params) {
  if (!(params.beta >= 0.0) || !(params.gamma >= 0.0))
    throw error(errc::invalid_argument, "trust: beta and gamma must be >= 0");
  if (!(params.rho >= 0.0 && params.rho <= 1.0))
    throw error(errc::invalid_argument, "trust: rho must lie in [0, 1]");
}

} // namespace

std::vector<double> consistency_scores(const distance_matrix& d, const partition& clusters,
                                       const std::vector<std::optional<double>>& drift, const trust_params& params) {
  check_params(params);
  const std::size_t n = d.n;
  if (d.values.size() != n * n)
    throw error(errc::invalid_argument,
                "trust: " + std::to_string(d.values.size()) + " distances for " + std::to_string(n) + " clients");
  if (clusters.label.size() != n || drift.size() != n)
    throw error(errc::invalid_argument, "trust: " + std::to_string(n) + " clients but "
                                          + std::to_string(clusters.label.size()) + " labels and "
                                          + std::to_string(drift.size()) + " drifts");
  std::vector<double> to_medoid(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto it = clusters.medoid.find(clusters.label[i]);
    if (it == clusters.medoid.end() || it->second >= n)
      throw error(errc::invalid_argument, "trust: cluster " + std::to_string(clusters.label[i]) + " of client "
                                            + std::to_string(i) + " has no medoid among the clients");
    to_medoid[i] = d(i, it->second);
  }
  // A client alone in its cluster is its own medoid: nobody vouches for its behaviour, so it is measured by
  // the distance to the nearest other client instead (an outlier cannot escape by forming its own cluster).
  std::map<uint32_t, std::size_t> members;
  for (auto k : clusters.label)
    ++members[k];
  for (std::size_t i = 0; i < n && n > 1; ++i)
    if (members[clusters.label[i]] == 1) {
      double nearest = std::numeric_limits<double>::infinity();
      for (std::size_t j = 0; j < n; ++j)
        if (j != i)
          nearest = std::min(nearest, d(i, j));
      to_medoid[i] = nearest;
    }
  std::vector<double> known;
  for (std::size_t i = 0; i < n; ++i)
    if (drift[i]) {
      if (!(*drift[i] >= 0.0))
        throw error(errc::invalid_argument, "trust: the drift of client " + std::to_string(i) + " is not >= 0");
      known.push_back(*drift[i]);
    }
  const double s_m = median_scale(to_medoid);
  const double s_d = median_scale(known);
  std::vector<double> score(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Only the excess over a typical client counts: a client at or within the median scores 1.
    double exponent = -params.beta * std::max(0.0, to_medoid[i] / s_m - 1.0);
    if (drift[i])
      exponent -= params.gamma * std::max(0.0, *drift[i] / s_d - 1.0);
    // A far outlier would underflow to 0; the smallest normal double keeps the documented (0, 1].
    score[i] = std::max(std::exp(exponent), std::numeric_limits<double>::min());
  }
  return score;
}

double updated_trust(double tau, double c, const trust_params& params) {
  check_params(params);
  return params.rho * tau + (1.0 - params.rho) * c;
}

} // namespace elsa::cluster
