// Behaviour-aware clustering (see clustering.hpp): closed-form symmetric KL between fingerprints, PAM
// k-medoids with K given or chosen by silhouette, stable ids by an exact maximum-overlap matching, and the
// adjusted Rand index.
#include "core/cluster/clustering.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "core/errors.hpp"

namespace elsa::cluster {

namespace {

void check_gaussian(const diagonal_gaussian& g, const char* what) {
  if (g.mean.size() != g.variance.size())
    throw error(errc::invalid_argument, std::string{what} + ": mean has " + std::to_string(g.mean.size())
                                          + " dimensions but variance has " + std::to_string(g.variance.size()));
  for (std::size_t i = 0; i < g.variance.size(); ++i)
    if (!(g.variance[i] > 0.0) || !std::isfinite(g.variance[i])) // NaN fails the first test too
      throw error(errc::invalid_argument,
                  std::string{what} + ": variance " + std::to_string(i) + " is not a finite value > 0");
}

void check_same_dimension(const diagonal_gaussian& a, const diagonal_gaussian& b) {
  if (a.mean.size() != b.mean.size())
    throw error(errc::invalid_argument, "symmetric KL: fingerprints of dimension " + std::to_string(a.mean.size())
                                          + " and " + std::to_string(b.mean.size()));
}

void check_predictive(const predictive& f) {
  if (f.p.size() != static_cast<std::size_t>(f.rows) * f.cols)
    throw error(errc::invalid_argument, "predictive fingerprint: " + std::to_string(f.p.size()) + " values for "
                                          + std::to_string(f.rows) + " x " + std::to_string(f.cols));
  for (double v : f.p)
    if (!(v > 0.0)) // log(0) would make the KL infinite; callers floor and renormalise
      throw error(errc::invalid_argument, "predictive fingerprint: a probability is not > 0");
}

void check_shapes(const predictive& a, const predictive& b) {
  if (a.rows != b.rows || a.cols != b.cols)
    throw error(errc::invalid_argument, "symmetric KL: predictive fingerprints of shape " + std::to_string(a.rows)
                                          + " x " + std::to_string(a.cols) + " and " + std::to_string(b.rows) + " x "
                                          + std::to_string(b.cols));
}

// The log terms of the two KLs cancel, which leaves 1/4 sum [v_a/v_b + v_b/v_a - 2 + dm^2 (1/v_a + 1/v_b)];
// with the reciprocals precomputed the pairwise matrix needs no log and no division.
double symmetric_kl_unchecked(const diagonal_gaussian& a, const std::vector<double>& inv_a, const diagonal_gaussian& b,
                              const std::vector<double>& inv_b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.mean.size(); ++i) {
    const double dm = a.mean[i] - b.mean[i];
    sum += a.variance[i] * inv_b[i] + b.variance[i] * inv_a[i] - 2.0 + dm * dm * (inv_a[i] + inv_b[i]);
  }
  return 0.25 * sum;
}

std::vector<double> reciprocals(const std::vector<double>& v) {
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    out[i] = 1.0 / v[i];
  return out;
}

// 1/2 [KL(a||b) + KL(b||a)] of two categorical rows is 1/2 sum (a - b)(ln a - ln b).
double symmetric_kl_unchecked(const predictive& a, const predictive& b) {
  if (a.rows == 0)
    return 0.0;
  double sum = 0.0;
  for (std::size_t i = 0; i < a.p.size(); ++i)
    sum += (a.p[i] - b.p[i]) * (std::log(a.p[i]) - std::log(b.p[i]));
  return 0.5 * sum / static_cast<double>(a.rows);
}

void check_matrix(const distance_matrix& d, const char* what) {
  if (d.n == 0)
    throw error(errc::invalid_argument, std::string{what} + ": the distance matrix is empty");
  if (d.values.size() != d.n * d.n)
    throw error(errc::invalid_argument, std::string{what} + ": " + std::to_string(d.values.size()) + " distances for "
                                          + std::to_string(d.n) + " points");
}

// The state PAM works on: the medoids (point indices, in selection order) and, for every point, the
// distance to its nearest and second-nearest medoid and which medoid slot is the nearest.
struct pam_state {
  const distance_matrix& d;
  std::vector<std::size_t> medoids;
  std::vector<double> nearest, second;
  std::vector<std::size_t> nearest_slot;

  void refresh() {
    const std::size_t n = d.n;
    nearest.assign(n, std::numeric_limits<double>::infinity());
    second.assign(n, std::numeric_limits<double>::infinity());
    nearest_slot.assign(n, 0);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t s = 0; s < medoids.size(); ++s) {
        const double v = d(medoids[s], j);
        if (v < nearest[j]) {
          second[j] = nearest[j];
          nearest[j] = v;
          nearest_slot[j] = s;
        } else if (v < second[j]) {
          second[j] = v;
        }
      }
  }

  double cost() const {
    double c = 0.0;
    for (double v : nearest)
      c += v;
    return c;
  }
};

// Swaps must lower the cost by more than rounding, or two equivalent configurations could alternate.
double improvement_threshold(double cost) {
  return 1e-12 * std::max(1.0, std::abs(cost));
}

void build(pam_state& st, std::size_t k) {
  const std::size_t n = st.d.n;
  std::vector<bool> is_medoid(n, false);
  std::vector<double> nearest(n, std::numeric_limits<double>::infinity());
  for (std::size_t added = 0; added < k; ++added) {
    // The candidate that lowers the total cost the most (the first: the cost is +inf for every point).
    std::size_t best = n;
    double best_cost = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
      if (is_medoid[i])
        continue;
      double c = 0.0;
      for (std::size_t j = 0; j < n; ++j)
        c += std::min(nearest[j], st.d(i, j));
      if (c < best_cost || best == n) {
        best_cost = c;
        best = i;
      }
    }
    is_medoid[best] = true;
    st.medoids.push_back(best);
    for (std::size_t j = 0; j < n; ++j)
      nearest[j] = std::min(nearest[j], st.d(best, j));
  }
  // SWAP scans medoids in this order: sorted, its ties also go to the lower index.
  std::sort(st.medoids.begin(), st.medoids.end());
  st.refresh();
}

void swap_until_stable(pam_state& st) {
  const std::size_t n = st.d.n;
  const std::size_t k = st.medoids.size();
  std::vector<bool> is_medoid(n, false);
  for (auto m : st.medoids)
    is_medoid[m] = true;
  double cost = st.cost();
  for (;;) {
    double best_delta = 0.0;
    std::size_t best_slot = k, best_h = n;
    for (std::size_t s = 0; s < k; ++s)
      for (std::size_t h = 0; h < n; ++h) {
        if (is_medoid[h])
          continue;
        // Replacing medoid slot s by h: points served by s go to h or their second medoid, the rest to h
        // when it is nearer.
        double delta = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
          const double dh = st.d(h, j);
          if (st.nearest_slot[j] == s)
            delta += std::min(dh, st.second[j]) - st.nearest[j];
          else if (dh < st.nearest[j])
            delta += dh - st.nearest[j];
        }
        if (delta < best_delta) {
          best_delta = delta;
          best_slot = s;
          best_h = h;
        }
      }
    if (best_slot == k || best_delta >= -improvement_threshold(cost))
      return;
    is_medoid[st.medoids[best_slot]] = false;
    is_medoid[best_h] = true;
    st.medoids[best_slot] = best_h;
    st.refresh();
    cost = st.cost();
  }
}

// Ids 0..k-1 in the order of the medoids' indices; every point to its nearest medoid (ties to the lower
// id), a medoid always to its own cluster even when another medoid is a duplicate of it.
partition make_partition(const distance_matrix& d, std::vector<std::size_t> medoids) {
  std::sort(medoids.begin(), medoids.end());
  partition out;
  out.label.assign(d.n, 0);
  for (std::size_t j = 0; j < d.n; ++j) {
    uint32_t best = 0;
    for (uint32_t c = 1; c < medoids.size(); ++c)
      if (d(medoids[c], j) < d(medoids[best], j))
        best = c;
    out.label[j] = best;
  }
  for (uint32_t c = 0; c < medoids.size(); ++c) {
    out.label[medoids[c]] = c;
    out.medoid[c] = medoids[c];
  }
  for (std::size_t j = 0; j < d.n; ++j)
    out.cost += d(medoids[out.label[j]], j);
  return out;
}

std::size_t clamp_k(const distance_matrix& d, uint32_t k) {
  return std::min<std::size_t>(std::max<uint32_t>(k, 1), d.n);
}

// Maximum-weight perfect matching on a square matrix (Hungarian algorithm, O(m^3), exact on integers):
// returns col_of[row]. Run as minimisation of -weight.
std::vector<std::size_t> max_weight_matching(const std::vector<std::vector<int64_t>>& weight) {
  const std::size_t m = weight.size();
  const int64_t inf = std::numeric_limits<int64_t>::max() / 4;
  // 1-based potentials and matches with a virtual column 0, as in the classic formulation.
  std::vector<int64_t> u(m + 1, 0), v(m + 1, 0);
  std::vector<std::size_t> row_of(m + 1, 0), way(m + 1, 0);
  for (std::size_t i = 1; i <= m; ++i) {
    row_of[0] = i;
    std::size_t j0 = 0;
    std::vector<int64_t> minv(m + 1, inf);
    std::vector<bool> used(m + 1, false);
    do {
      used[j0] = true;
      const std::size_t i0 = row_of[j0];
      int64_t delta = inf;
      std::size_t j1 = 0;
      for (std::size_t j = 1; j <= m; ++j) {
        if (used[j])
          continue;
        const int64_t cur = -weight[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (std::size_t j = 0; j <= m; ++j)
        if (used[j]) {
          u[row_of[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      j0 = j1;
    } while (row_of[j0] != 0);
    do {
      const std::size_t j1 = way[j0];
      row_of[j0] = row_of[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<std::size_t> col_of(m, 0);
  for (std::size_t j = 1; j <= m; ++j)
    if (row_of[j] != 0)
      col_of[row_of[j] - 1] = j - 1;
  return col_of;
}

double pairs(double x) {
  return x * (x - 1.0) / 2.0;
}

} // namespace

double kl_divergence(const diagonal_gaussian& p, const diagonal_gaussian& q) {
  check_gaussian(p, "KL divergence: p");
  check_gaussian(q, "KL divergence: q");
  if (p.mean.size() != q.mean.size())
    throw error(errc::invalid_argument, "KL divergence: p has " + std::to_string(p.mean.size())
                                          + " dimensions but q has " + std::to_string(q.mean.size()));
  double sum = 0.0;
  for (std::size_t i = 0; i < p.mean.size(); ++i) {
    const double dm = q.mean[i] - p.mean[i];
    sum += p.variance[i] / q.variance[i] + dm * dm / q.variance[i] - 1.0 + std::log(q.variance[i] / p.variance[i]);
  }
  return 0.5 * sum;
}

double symmetric_kl(const diagonal_gaussian& a, const diagonal_gaussian& b) {
  check_gaussian(a, "symmetric KL: a");
  check_gaussian(b, "symmetric KL: b");
  check_same_dimension(a, b);
  return symmetric_kl_unchecked(a, reciprocals(a.variance), b, reciprocals(b.variance));
}

double symmetric_kl(const predictive& a, const predictive& b) {
  check_predictive(a);
  check_predictive(b);
  check_shapes(a, b);
  return symmetric_kl_unchecked(a, b);
}

distance_matrix pairwise_symmetric_kl(const std::vector<diagonal_gaussian>& fingerprints) {
  const std::size_t n = fingerprints.size();
  std::vector<std::vector<double>> inv(n);
  for (std::size_t i = 0; i < n; ++i) {
    check_gaussian(fingerprints[i], "pairwise symmetric KL");
    check_same_dimension(fingerprints[0], fingerprints[i]);
    inv[i] = reciprocals(fingerprints[i].variance);
  }
  distance_matrix d{n, std::vector<double>(n * n, 0.0)};
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      d.values[i * n + j] = d.values[j * n + i]
        = symmetric_kl_unchecked(fingerprints[i], inv[i], fingerprints[j], inv[j]);
  return d;
}

distance_matrix pairwise_symmetric_kl(const std::vector<predictive>& fingerprints) {
  const std::size_t n = fingerprints.size();
  for (const auto& f : fingerprints) {
    check_predictive(f);
    check_shapes(fingerprints[0], f);
  }
  distance_matrix d{n, std::vector<double>(n * n, 0.0)};
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      d.values[i * n + j] = d.values[j * n + i] = symmetric_kl_unchecked(fingerprints[i], fingerprints[j]);
  return d;
}

partition k_medoids(const distance_matrix& d, uint32_t k) {
  check_matrix(d, "k-medoids");
  pam_state st{d, {}, {}, {}, {}};
  build(st, clamp_k(d, k));
  swap_until_stable(st);
  return make_partition(d, st.medoids);
}

double silhouette(const distance_matrix& d, const std::vector<uint32_t>& label) {
  check_matrix(d, "silhouette");
  if (label.size() != d.n)
    throw error(errc::invalid_argument,
                "silhouette: " + std::to_string(label.size()) + " labels for " + std::to_string(d.n) + " points");
  // Dense cluster indices so the per-point sums are a small array, not a map lookup per pair.
  std::map<uint32_t, std::size_t> index;
  for (auto l : label)
    index.emplace(l, 0);
  if (index.size() < 2)
    return 0.0;
  std::size_t next = 0;
  for (auto& [id, i] : index)
    i = next++;
  std::vector<std::size_t> dense(d.n), size(index.size(), 0);
  for (std::size_t i = 0; i < d.n; ++i) {
    dense[i] = index[label[i]];
    ++size[dense[i]];
  }
  double total = 0.0;
  std::vector<double> sum(index.size());
  for (std::size_t i = 0; i < d.n; ++i) {
    if (size[dense[i]] == 1)
      continue; // a point alone in its cluster scores 0
    std::fill(sum.begin(), sum.end(), 0.0);
    for (std::size_t j = 0; j < d.n; ++j)
      sum[dense[j]] += d(i, j);
    const double a = sum[dense[i]] / static_cast<double>(size[dense[i]] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < sum.size(); ++c)
      if (c != dense[i])
        b = std::min(b, sum[c] / static_cast<double>(size[c]));
    const double top = std::max(a, b);
    if (top > 0.0)
      total += (b - a) / top;
  }
  return total / static_cast<double>(d.n);
}

partition k_medoids_by_silhouette(const distance_matrix& d, uint32_t k_max) {
  check_matrix(d, "k-medoids by silhouette");
  const std::size_t top = std::min<std::size_t>(k_max, d.n);
  if (top < 2)
    return k_medoids(d, 1); // no K in 2..k_max to compare: one cluster
  partition best;
  double best_score = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 2; k <= top; ++k) {
    auto p = k_medoids(d, static_cast<uint32_t>(k));
    const double s = silhouette(d, p.label);
    if (s > best_score) {
      best_score = s;
      best = std::move(p);
    }
  }
  return best;
}

void keep_ids(partition& now, const std::vector<uint32_t>& previous) {
  if (now.label.size() != previous.size())
    throw error(errc::invalid_argument, "keep ids: " + std::to_string(now.label.size()) + " labels now but "
                                          + std::to_string(previous.size()) + " before");
  std::map<uint32_t, std::size_t> new_index, old_index;
  for (auto l : now.label)
    new_index.emplace(l, 0);
  for (const auto& [id, m] : now.medoid)
    new_index.emplace(id, 0);
  for (auto l : previous)
    old_index.emplace(l, 0);
  std::vector<uint32_t> new_ids, old_ids;
  for (auto& [id, i] : new_index) {
    i = new_ids.size();
    new_ids.push_back(id);
  }
  for (auto& [id, i] : old_index) {
    i = old_ids.size();
    old_ids.push_back(id);
  }
  // Square overlap matrix, padded with zeros: a padded partner stands for "no previous id".
  const std::size_t m = std::max(new_ids.size(), old_ids.size());
  std::vector<std::vector<int64_t>> overlap(m, std::vector<int64_t>(m, 0));
  for (std::size_t i = 0; i < previous.size(); ++i)
    ++overlap[new_index[now.label[i]]][old_index[previous[i]]];
  const auto col_of = max_weight_matching(overlap);

  std::map<uint32_t, uint32_t> rename;
  std::vector<std::size_t> unmatched;
  for (std::size_t r = 0; r < new_ids.size(); ++r) {
    // A pairing without a shared point is no match: the cluster is new.
    if (col_of[r] < old_ids.size() && overlap[r][col_of[r]] > 0)
      rename[new_ids[r]] = old_ids[col_of[r]];
    else
      unmatched.push_back(r);
  }
  std::set<uint32_t> taken;
  for (const auto& [from, to] : rename)
    taken.insert(to);
  uint32_t candidate = 0;
  for (auto r : unmatched) {
    while (taken.count(candidate) != 0)
      ++candidate;
    rename[new_ids[r]] = candidate;
    taken.insert(candidate);
  }
  for (auto& l : now.label)
    l = rename[l];
  std::map<uint32_t, std::size_t> medoid;
  for (const auto& [id, m] : now.medoid)
    medoid[rename[id]] = m;
  now.medoid = std::move(medoid);
}

double adjusted_rand_index(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  if (a.size() != b.size())
    throw error(errc::invalid_argument, "adjusted Rand index: labellings of " + std::to_string(a.size()) + " and "
                                          + std::to_string(b.size()) + " points");
  std::map<std::pair<uint32_t, uint32_t>, std::size_t> cell;
  std::map<uint32_t, std::size_t> row, col;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ++cell[{a[i], b[i]}];
    ++row[a[i]];
    ++col[b[i]];
  }
  double index = 0.0, sum_rows = 0.0, sum_cols = 0.0;
  for (const auto& [key, count] : cell)
    index += pairs(static_cast<double>(count));
  for (const auto& [key, count] : row)
    sum_rows += pairs(static_cast<double>(count));
  for (const auto& [key, count] : col)
    sum_cols += pairs(static_cast<double>(count));
  // The denominator is 0 exactly when both put everything in one group or both make every point a
  // singleton (fewer than two points is both): identical groupings. Tested on the counts, not on a
  // difference of rounded doubles.
  const bool one_group = row.size() <= 1 && col.size() <= 1;
  const bool all_alone = row.size() == a.size() && col.size() == a.size();
  if (one_group || all_alone)
    return 1.0;
  const double all = pairs(static_cast<double>(a.size()));
  const double expected = sum_rows * sum_cols / all;
  const double top = 0.5 * (sum_rows + sum_cols);
  return (index - expected) / (top - expected);
}

} // namespace elsa::cluster
