// One behaviour fingerprinting (see behaviour.hpp): wire fingerprints -> core/cluster's clustering and trust.
#include "core/fed/behaviour.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "core/cluster/clustering.hpp"
#include "core/cluster/trust.hpp"
#include "core/errors.hpp"

namespace elsa::fed {

namespace {

// The f32 values of a tensor, or nullopt when it is not f32 or not of the given rank.
std::optional<std::vector<double>> f32_values(const messages::tensor_bytes& t, std::size_t rank) {
  if (t.type() != messages::dtype::f32 || t.shape().size() != rank || t.numel() < 0
      || static_cast<std::size_t>(t.numel()) * 4 != t.size_bytes())
    return std::nullopt;
  std::vector<double> out(static_cast<std::size_t>(t.numel()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    float v;
    std::memcpy(&v, t.data() + 4 * i, 4);
    out[i] = v;
  }
  return out;
}

// A usable fingerprint in the run's form, or the reason it is not.
struct parsed {
  std::optional<cluster::diagonal_gaussian> gaussian;
  std::optional<cluster::predictive> predictive;
  std::string problem;
  std::pair<std::size_t, std::size_t> shape;  // (d, 0), or (rows, cols)
};

std::string shape_text(const std::pair<std::size_t, std::size_t>& s) {
  return s.second == 0 ? std::to_string(s.first) : fmt::format("{} x {}", s.first, s.second);
}

parsed parse(const messages::fingerprint& fp, const std::string& form) {
  parsed p;
  if (form != "predictive") {  // gaussian or displacement: the same Gaussian on the wire
    const auto* g = std::get_if<messages::gaussian_fingerprint>(&fp.form);
    if (g == nullptr) {
      p.problem = "a predictive fingerprint where the run uses gaussian ones";
      return p;
    }
    auto mean = f32_values(g->mean, 1);
    auto var = f32_values(g->variance, 1);
    if (!mean || !var || mean->size() != var->size() || mean->empty()) {
      p.problem = "mean and variance are not two f32 vectors of one length";
      return p;
    }
    for (std::size_t i = 0; i < mean->size(); ++i)
      if (!std::isfinite((*mean)[i]) || !std::isfinite((*var)[i]) || !((*var)[i] > 0)) {
        p.problem = fmt::format("dimension {} has mean {} and variance {} (need finite values, variance > 0)", i,
                                (*mean)[i], (*var)[i]);
        return p;
      }
    p.shape = {mean->size(), 0};
    p.gaussian = cluster::diagonal_gaussian{std::move(*mean), std::move(*var)};
    return p;
  }
  const auto* pr = std::get_if<messages::predictive_fingerprint>(&fp.form);
  if (pr == nullptr) {
    p.problem = "a gaussian fingerprint where the run uses predictive ones";
    return p;
  }
  auto probs = f32_values(pr->probs, 2);
  if (!probs || probs->empty()) {
    p.problem = "the predictive rows are not an f32 (probes, classes) matrix";
    return p;
  }
  const auto rows = static_cast<uint32_t>(pr->probs.shape()[0]);
  const auto cols = static_cast<uint32_t>(pr->probs.shape()[1]);
  // Floor and renormalise each row (core/cluster needs no zero), after checking it is a distribution.
  for (uint32_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (uint32_t c = 0; c < cols; ++c) {
      double& v = (*probs)[static_cast<std::size_t>(r) * cols + c];
      if (!std::isfinite(v) || v < 0) {
        p.problem = fmt::format("probe {} has probability {}", r, v);
        return p;
      }
      v = std::max(v, 1e-12);
      sum += v;
    }
    if (std::abs(sum - 1.0) > 1e-3) {
      p.problem = fmt::format("probe {}'s probabilities sum to {}", r, sum);
      return p;
    }
    for (uint32_t c = 0; c < cols; ++c)
      (*probs)[static_cast<std::size_t>(r) * cols + c] /= sum;
  }
  p.shape = {rows, cols};
  p.predictive = cluster::predictive{rows, cols, std::move(*probs)};
  return p;
}

double discrepancy(const parsed& a, const parsed& b) {
  return a.gaussian ? cluster::symmetric_kl(*a.gaussian, *b.gaussian) : cluster::symmetric_kl(*a.predictive, *b.predictive);
}

} // namespace

uint32_t cluster_count(const run::run_config& cfg, uint32_t tasks) {
  if (cfg.clustering == "task")
    return tasks;
  if (cfg.clustering == "none")
    return 1;
  return static_cast<uint32_t>(std::min<int64_t>(cfg.clusters > 0 ? cfg.clusters : cfg.max_clusters, cfg.clients));
}

reclustering recluster(const std::map<uint32_t, messages::fingerprint>& now,
                       const std::map<uint32_t, messages::fingerprint>& previous,
                       const std::map<uint32_t, uint32_t>& cluster_of, const std::map<uint32_t, double>& trust,
                       const run::run_config& cfg, uint32_t ids) {
  reclustering out;
  out.clusters = cluster_of;
  for (const auto& [c, k] : cluster_of) {
    auto t = trust.find(c);
    out.trust[c] = t == trust.end() ? 1.0 : t->second;
  }
  // Parse; the majority's dimension is the run's (a client cannot impose its own).
  std::map<uint32_t, parsed> ok;
  std::map<std::pair<std::size_t, std::size_t>, int> dims;
  for (const auto& [c, fp] : now) {
    auto p = parse(fp, cfg.fingerprint);
    if (!p.problem.empty()) {
      out.rejected.push_back(fmt::format("client {}'s fingerprint: {}", c, p.problem));
      continue;
    }
    ++dims[p.shape];
    ok.emplace(c, std::move(p));
  }
  if (!dims.empty()) {
    const auto dim = std::max_element(dims.begin(), dims.end(), [](const auto& a, const auto& b) {
                       return a.second < b.second;
                     })->first;
    for (auto it = ok.begin(); it != ok.end();)
      if (it->second.shape != dim) {
        out.rejected.push_back(fmt::format("client {}'s fingerprint has shape {} where most have {}", it->first,
                                           shape_text(it->second.shape), shape_text(dim)));
        it = ok.erase(it);
      } else {
        ++it;
      }
  }
  for (const auto& [c, p] : ok)
    if (!cluster_of.count(c)) {
      out.rejected.push_back(fmt::format("client {} is not a registered client", c));
    }
  for (auto it = ok.begin(); it != ok.end();)
    it = cluster_of.count(it->first) ? std::next(it) : ok.erase(it);
  if (ok.size() < 2)
    return out;

  std::vector<uint32_t> clients;
  std::vector<const parsed*> fps;
  for (const auto& [c, p] : ok) {
    clients.push_back(c);
    fps.push_back(&p);
  }
  const std::size_t n = clients.size();
  cluster::distance_matrix d{n, std::vector<double>(n * n, 0.0)};
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      d.values[i * n + j] = d.values[j * n + i] = discrepancy(*fps[i], *fps[j]);
  const uint32_t cap = std::max<uint32_t>(1, std::min<uint32_t>(ids, static_cast<uint32_t>(n)));
  auto part = cfg.clusters > 0
                ? cluster::k_medoids(d, std::min<uint32_t>(static_cast<uint32_t>(cfg.clusters), cap))
                : cluster::k_medoids_by_silhouette(d, std::min<uint32_t>(static_cast<uint32_t>(cfg.max_clusters), cap));
  std::vector<uint32_t> before;
  for (auto c : clients)
    before.push_back(cluster_of.at(c));
  cluster::keep_ids(part, before);
  for (const auto& [k, m] : part.medoid)
    if (k >= ids)
      throw error(errc::internal, fmt::format("recluster: cluster id {} beyond the run's {} clusters", k, ids));
  out.k = static_cast<uint32_t>(part.medoid.size());
  out.silhouette = cluster::silhouette(d, part.label);
  for (std::size_t i = 0; i < n; ++i)
    out.clusters[clients[i]] = part.label[i];
  for (const auto& [k, m] : part.medoid)
    out.medoids[k] = clients[m];

  // Trust: the distance to the medoid and the drift from the client's own previous fingerprint.
  std::vector<std::optional<double>> drift(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto prev = previous.find(clients[i]);
    if (prev == previous.end())
      continue;
    auto p = parse(prev->second, cfg.fingerprint);
    if (p.problem.empty() && p.shape == fps[i]->shape)
      drift[i] = discrepancy(*fps[i], p);
  }
  cluster::trust_params tp;
  tp.beta = cfg.trust_beta;
  tp.gamma = cfg.trust_gamma;
  tp.rho = cfg.trust_rho;
  tp.tau_min = cfg.tau_min;
  const auto scores = cluster::consistency_scores(d, part, drift, tp);
  for (std::size_t i = 0; i < n; ++i) {
    out.consistency[clients[i]] = scores[i];
    out.trust[clients[i]] = cluster::updated_trust(out.trust[clients[i]], scores[i], tp);
  }
  for (const auto& [c, t] : out.trust)
    if (t < cfg.tau_min)
      out.excluded.insert(c);
  return out;
}

namespace {

// The most frequent value (the preferred one on a tie, else the lowest); nullopt when empty.
std::optional<uint32_t> mode_of(const std::map<uint32_t, int>& counts, std::optional<uint32_t> preferred) {
  std::optional<uint32_t> best;
  int most = 0;
  for (const auto& [k, n] : counts)
    if (n > most) {
      best = k;
      most = n;
    }
  if (preferred && counts.count(*preferred) && counts.at(*preferred) == most)
    return preferred;
  return best;
}

const messages::named_tensor* find_named(const adapter_set& set, const std::string& name) {
  for (const auto& nt : set)
    if (nt.name == name)
      return &nt;
  return nullptr;
}

} // namespace

std::vector<adapter_set> reseed_clusters(const std::vector<adapter_set>& global,
                                         const std::map<uint32_t, uint32_t>& before,
                                         const std::map<uint32_t, uint32_t>& after,
                                         const std::map<uint32_t, uint32_t>& task_of,
                                         const std::vector<std::string>& task_names) {
  std::vector<adapter_set> out = global;
  const auto ids = static_cast<uint32_t>(global.size());
  for (uint32_t k = 0; k < ids; ++k) {
    std::map<uint32_t, int> from;                        // previous cluster -> members of k from it
    std::map<uint32_t, std::map<uint32_t, int>> by_task;  // task -> previous cluster -> its members in k
    for (const auto& [c, now] : after) {
      auto was = before.find(c);
      if (now != k || was == before.end() || was->second >= ids)
        continue;
      ++from[was->second];
      auto t = task_of.find(c);
      if (t != task_of.end())
        ++by_task[t->second][was->second];
    }
    const auto source = mode_of(from, k);
    if (!source)
      continue;  // no members: as it was
    adapter_set taken = lora_only(global[*source]);
    for (const auto& [t, counts] : by_task) {
      if (t >= task_names.size())
        continue;
      const auto head_from = mode_of(counts, k);
      if (const auto* head = find_named(global[*head_from], head_name(task_names[t])))
        taken.push_back(*head);
    }
    out[k] = overlay(global[k], taken);
  }
  return out;
}

std::optional<uint32_t> cluster_for_task(uint32_t task, const std::map<uint32_t, uint32_t>& cluster_of,
                                         const std::map<uint32_t, uint32_t>& task_of) {
  std::map<uint32_t, int> counts;
  for (const auto& [c, t] : task_of)
    if (t == task) {
      auto k = cluster_of.find(c);
      if (k != cluster_of.end())
        ++counts[k->second];
    }
  return mode_of(counts, std::nullopt);
}

} // namespace elsa::fed
