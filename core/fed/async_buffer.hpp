// [topology] mode = "async" at one edge: FedBuff (Nguyen et al., "Federated Learning with Buffered Asynchronous
// Aggregation", AISTATS 2022) on the simulated clock. An edge round ends with a flush: of the uploads on their
// way (this round's and those held from earlier rounds), the buffer_size that reach the edge first on the
// simulated clock are aggregated; the rest wait, and their clients train no more until theirs is taken. An
// upload made from older adapters adds its change to the adapters of now (rebase) and weighs (1 + lag)^-1/2.
// No torch in the interface, no actors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "core/fed/adapters.hpp"
#include "core/fed/aggregation.hpp"
#include "core/sim/clock.hpp"

namespace elsa::fed {

/// The aggregation policy of a flush: `base` with FedBuff's (1 + lag)^-1/2 weight and no staleness bound.
aggregation_policy fedbuff_policy(aggregation_policy base);

class async_buffer {
public:
  /// Edge round `round` opens: its clients start from `adapters` (cluster -> adapters).
  void opened(uint32_t round, const std::map<uint32_t, adapter_set>& adapters);

  /// True while client `client`'s upload waits for a flush: it gets no opening until it is taken.
  bool holds(uint32_t client) const {
    return held_.count(client) > 0;
  }

  struct upload {
    client_update update;   // its whole set (head/tail and its body slot), of the round it trained in
    sim::upload_time time;  // its own seconds until the upload and the edge's body work for it
  };
  struct flush_result {
    std::vector<client_update> take;       // to aggregate now; those of earlier rounds rebased onto this round's start
    std::map<uint32_t, int64_t> staleness;  // client -> rounds its taken upload lagged (0: this round's)
    sim::flush_plan plan;                   // when, and what waits
    std::vector<uint32_t> not_rebased;      // taken late without the adapters it started from (cannot happen
                                            // when every round was opened(): the caller reports it)
  };
  /// Round `round` closes with its clients' uploads (`wave`, by client): the `buffer` earliest of them and of
  /// the held ones are taken, the others held. Every held client's upload is one of an earlier round.
  flush_result flush(uint32_t round, std::map<uint32_t, upload> wave, std::size_t buffer);

  /// The clients whose uploads wait, earliest arrival first.
  std::vector<uint32_t> waiting() const;

private:
  std::map<uint32_t, client_update> held_;
  std::vector<sim::waiting_upload> waiting_;
  std::map<uint32_t, std::map<uint32_t, adapter_set>> start_;  // round -> cluster -> the adapters it started from
};

} // namespace elsa::fed
