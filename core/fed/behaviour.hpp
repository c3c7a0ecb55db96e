// One behaviour fingerprinting at the coordinator (ELSA.md 3.1), values in and values out: the wire
// fingerprints checked and turned into Gaussians (or predictive rows), the symmetric KL matrix, k-medoids
// with K given or by silhouette, cluster ids kept stable against the previous clustering, and the clients'
// consistency scores and trust. The coordinator calls recluster() and sends what it returns. Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/fed/adapters.hpp"
#include "core/run/run_config.hpp"
#include "messages/types.hpp"

namespace elsa::fed {

/// The clusters a run has: its tasks under clustering = "task", one under "none", and under "behaviour" K
/// (`[elsa] clusters`) or, with K = 0, `max_clusters`; never more than the clients.
uint32_t cluster_count(const run::run_config& cfg, uint32_t tasks);

/// The cluster a client whose head is task `task` starts in: that task under clustering = "task", else 0
/// (everyone together until the first clustering).
inline uint32_t starting_cluster(const run::run_config& cfg, uint32_t task) {
  return cfg.clustering == "task" ? task : 0;
}

/// What one fingerprinting decided.
struct reclustering {
  std::map<uint32_t, uint32_t> clusters;   // every client of `cluster_of` -> its cluster (unfingerprinted: as before)
  std::map<uint32_t, uint32_t> medoids;    // cluster -> medoid client
  std::map<uint32_t, double> consistency;  // fingerprinted client -> c_n
  std::map<uint32_t, double> trust;        // every client -> tau_n (unfingerprinted: as before)
  std::set<uint32_t> excluded;             // trust < tau_min
  std::vector<std::string> rejected;       // one line per fingerprint left out (wrong form, size, values)
  uint32_t k = 0;
  double silhouette = 0;
};

/// Clusters the clients that sent a fingerprint (`now`, by client), against their previous fingerprints
/// (`previous`, for the drift) and clusters (`cluster_of`, every client), with K = cfg.clusters or chosen by
/// silhouette over 2..min(cfg.max_clusters, ids); new cluster ids stay below `ids`. Trust (`trust`, every
/// client; a client without a value starts at 1) moves by cfg.trust_rho toward c_n. With fewer than two
/// usable fingerprints the clusters stay as they are and trust does not move. Fingerprints of another form
/// than cfg.fingerprint, of a dimension other than the majority's, or with values that are not finite (a
/// variance not > 0, a row that is not a distribution) are rejected with their reason.
reclustering recluster(const std::map<uint32_t, messages::fingerprint>& now,
                       const std::map<uint32_t, messages::fingerprint>& previous,
                       const std::map<uint32_t, uint32_t>& cluster_of, const std::map<uint32_t, double>& trust,
                       const run::run_config& cfg, uint32_t ids);

/// The cloud's global sets after a re-clustering from `before` to `after` (client -> cluster; `task_of`:
/// client -> task index into `task_names`). A cluster with members takes its LoRA from the cluster most of
/// its members were in (itself on a tie) and each task's head from the cluster most of its clients of that
/// task were in; a cluster without members, and anything not taken, stays as it was.
std::vector<adapter_set> reseed_clusters(const std::vector<adapter_set>& global,
                                         const std::map<uint32_t, uint32_t>& before,
                                         const std::map<uint32_t, uint32_t>& after,
                                         const std::map<uint32_t, uint32_t>& task_of,
                                         const std::vector<std::string>& task_names);

/// The cluster whose adapters stand for task `task` (evaluation, saved adapters): the one most of its
/// clients are in, the lower id on a tie; nullopt when no client holds the task.
std::optional<uint32_t> cluster_for_task(uint32_t task, const std::map<uint32_t, uint32_t>& cluster_of,
                                         const std::map<uint32_t, uint32_t>& task_of);

} // namespace elsa::fed
