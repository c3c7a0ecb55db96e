// One process's part of an ELSA run across processes (`elsa node`, and every process `elsa launch` starts):
// the same roles as in one process (actors/runtime.hpp), connected through CAF's io middleman, with mutual
// TLS (CAF's OpenSSL module) unless [network] tls = false. The cloud's process is the rendezvous: it
// listens, every other process joins it with the participants it runs and the port it listens on, and
// learns where the others are; the run starts once every participant joined. The cloud's process writes the
// run record. docs/deployment.md has the protocol and the commands.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "actors/runtime.hpp"
#include "core/run/run_config.hpp"

namespace elsa::actors {

struct node_options {
  std::string role;                 // cloud, coordinator, edge or client
  std::vector<uint32_t> ids;        // edge or client ids this process runs (cloud, coordinator: ignored)
  std::string listen_host = "127.0.0.1"; // where this process accepts its peers' connections ...
  uint16_t listen_port = 0;         // ... 0: any free port (reported through on_listening)
  std::string advertise_host;       // the address other machines reach this one at; empty: listen_host
  std::string join_host;            // the rendezvous (the cloud's process); not for the cloud
  uint16_t join_port = 0;
  bool resume = false;    // cloud: continue the run in cfg.out_dir from its last checkpoint (actors/runtime.hpp)
  bool fallback = false;  // cloud, with resume: a corrupt newest checkpoint gives way to the one before it
  /// Called once the process listens, with the bound address (elsa launch reads the cloud's from stdout).
  std::function<void(const std::string& host, uint16_t port)> on_listening;
};

/// Runs this process's roles of `cfg` until the run finishes (or the cloud's process stops it). The cloud's
/// process returns the run's result and writes the run record into cfg.out_dir (summary.json adds
/// `processes`); other processes return an empty result. hooks.before_write and hooks.stop_requested are
/// used as in run_federation (the others are one-process hooks). elsa::error, with one line, when the
/// configuration cannot run across processes, a peer cannot be reached or refuses this process, or the
/// rendezvous goes away before the run finished.
run_result run_node(const run::run_config& cfg, const node_options& opt, std::ostream& log, std::ostream* results,
                    const run_hooks& hooks = {});

} // namespace elsa::actors
