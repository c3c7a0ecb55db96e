// CAF's network layer as ELSA's processes use it: the io middleman (and, with [network] tls, the OpenSSL
// module with the node's certificate, key and CA), heartbeats and the connection timeout from [network], and
// publish / connect that pick TLS or plaintext from the config. Wiring only.
#pragma once

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "core/run/run_config.hpp"

namespace elsa::actors {

/// With cfg.tls, checks that [network] certificate, key and cafile are given, readable, PEM, and that the key
/// is the certificate's: elsa::error naming the key otherwise. Nothing to check for plaintext.
void check_network(const run::run_config& cfg);

/// Loads the middleman (and the OpenSSL module when cfg.tls) on `sys_cfg` and sets heartbeats, the
/// connection timeout, the certificate files and CAF's `sharing` scheduler (no polling workers). elsa::error naming the [network] key when TLS is on and a
/// certificate, key or CA file is missing or unreadable.
void configure_network(caf::actor_system_config& sys_cfg, const run::run_config& cfg);

/// Listens on host:port (0: any free port) for peers of `whom`; the bound port or the error.
caf::expected<uint16_t> listen(caf::actor_system& sys, const run::run_config& cfg, const caf::actor& whom,
                               const std::string& host, uint16_t port);

/// Connects to the process listening at host:port; its published actor or the error.
caf::expected<caf::actor> connect(caf::actor_system& sys, const run::run_config& cfg, const std::string& host,
                                  uint16_t port);

} // namespace elsa::actors
