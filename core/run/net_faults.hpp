// Network faults injected where messages are sent ([faults] net_drop, net_delay/net_delay_ms, net_duplicate,
// net_corrupt, partition_*): what happens to one message on one link, decided from the run's seed, the link
// (sender and receiver) and the sender's count of messages on that link: the same seed and the same sequence
// of messages give the same faults (a deterministic run repeats them; threaded or across processes, timing
// changes which messages are sent). The actors apply the decision (actors/transmit.hpp) and record it; this
// file holds no actor code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/run/run_config.hpp"
#include "messages/types.hpp"

namespace elsa::run {

enum class net_fault : uint8_t {
  drop,       // lost on the way ([faults] net_drop)
  partition,  // lost: the sender or the receiver is cut off ([faults] partition_*)
  delay,      // held back delay_ms
  duplicate,  // delivered twice
  flip,       // delivered with 1 to 8 bits flipped
  truncate,   // delivered cut short
};

/// "drop", "partition", "delay", "duplicate", "flip", "truncate".
const char* to_string(net_fault f) noexcept;

/// What the network does to one message: nothing, or lose it, or deliver it (late, twice, damaged: any
/// combination).
struct net_action {
  bool lost = false;
  std::vector<net_fault> faults;  // in the order above; empty: delivered as sent
  int64_t delay_ms = 0;
  uint64_t damage_seed = 0;       // for flip / truncate

  bool has(net_fault f) const;
};

/// True when any network fault is configured.
bool network_faults_on(const run_config& cfg);

/// True when `who` is cut off during edge round `round`.
bool partitioned(const run_config& cfg, const messages::participant& who, uint32_t round);

/// The fate of message number `seq` (counted by the sender, per receiver, from 0) from `from` to `to`, sent
/// during edge round `round`. Same arguments, same answer.
net_action decide(const run_config& cfg, const messages::participant& from, const messages::participant& to,
                  uint64_t seq, uint32_t round);

/// `bytes` damaged as `fault` (flip or truncate) with `seed`: 1 to 8 bits flipped at seeded positions, or
/// cut to a seeded length shorter than before (possibly 0). Other faults return the bytes unchanged.
std::vector<std::byte> damage(const std::byte* bytes, std::size_t size, net_fault fault, uint64_t seed);

} // namespace elsa::run
