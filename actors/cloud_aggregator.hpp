// The cloud-aggregator role: owns the global round clock. It broadcasts the global adapters of every cluster
// to the edges, opens cloud round R (kappa2 edge rounds, paced by the coordinator), waits for every live
// edge's per-cluster adapters (deadline, quorum), averages them weighted by data size, scores the result on
// held-out data (in a scorer actor of its own, while the next cloud round runs) and starts the next cloud
// round; at the end, once the last scores are in, it scores the test split and saves the adapters.
// It learns the coordinator from its registration and the edges from the coordinator's peer table, and begins
// once both that table and `start` are in. Of the protocol it receives adapter updates and, after a
// re-clustering, the coordinator's new placement (every kind it receives is counted in `received`, reported
// in the final event). Each task is scored with the cluster most of its clients are in.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/transmit.hpp"
#include "actors/interfaces.hpp"
#include "actors/peers.hpp"
#include "core/fed/adapters.hpp"
#include "core/run/events.hpp"

namespace elsa::fed {
class evaluator;
}

namespace elsa::actors {

struct cloud_state {
  static inline const char* name = "elsa.cloud";

  context_ptr ctx;
  peer_book peers;  // the coordinator (its registration), then the edges (the coordinator's peer table)
  delivery net;  // the network: messages per receiver, unacknowledged and taken ones (actors/transmit.hpp)
  bool start_asked = false;  // `start` arrived; the run begins once the peer table is in too
  bool started = false;
  std::shared_ptr<fed::evaluator> evaluator;
  std::vector<fed::adapter_set> global;   // by cluster (heads per task, core/fed/adapters.hpp)
  std::vector<int64_t> num_labels;        // by task
  std::map<uint32_t, uint32_t> task_of;     // client -> task of its head (the coordinator's peer table)
  std::map<uint32_t, uint32_t> cluster_of;  // client -> cluster
  std::set<uint32_t> live_edges;
  run::kind_bytes bytes_down_pending;  // the initial broadcast, recorded with the first cloud round
  std::map<uint32_t, std::vector<float>> sketch_error;  // per cluster: what sketch decodes left (top_k's error feedback)
  int64_t bytes_control = 0;       // openings sent to the coordinator this cloud round

  // -- the cloud round in progress --
  uint32_t cloud_round = 0;
  bool waiting = false;
  std::map<uint32_t, std::map<uint32_t, std::pair<fed::adapter_set, uint64_t>>> received_sets; // edge -> cluster
  std::map<std::string, int64_t> received;  // message kinds received, for the record
  // A fingerprint round's aggregate waits for the coordinator's re-clustering before the next cloud round.
  std::optional<messages::assignment_update> reclustered;  // arrived, not applied yet
  std::optional<run::cloud_round_event> held;              // the aggregated round's event, until then

  // -- validation, scored beside the next cloud round by a scorer actor, one round at a time --
  struct validation_job {
    uint32_t round = 0;
    std::vector<fed::adapter_set> global;  // by cluster, as the round's aggregation left them
    std::vector<uint32_t> cluster_of_task;  // the cluster each task is scored with
  };
  std::deque<validation_job> to_validate;  // waiting for the scorer
  caf::actor_addr scorer;                  // the scorer at work (null: none)
  uint32_t scoring_round = 0;              // ... and the round it scores
  bool finishing = false;                  // the last cloud round is in: finish once its scores are
  bool open_held = false;                  // the next cloud round waits for the scorer to catch up (maybe_open)
};

using cloud_pointer = cloud_actor::stateful_pointer<cloud_state>;

/// Behaviour of the cloud: `initial` are the starting adapters per cluster; `num_labels` the labels of each task.
cloud_actor::behavior_type cloud_aggregator(cloud_pointer self, context_ptr ctx,
                                            std::shared_ptr<fed::evaluator> evaluator,
                                            std::vector<fed::adapter_set> initial, std::vector<int64_t> num_labels);

} // namespace elsa::actors
