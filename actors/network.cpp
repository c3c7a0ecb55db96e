// CAF's network layer for ELSA's processes (see network.hpp).
#include "actors/network.hpp"

#include <chrono>
#include <fstream>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <fmt/format.h>

#include "core/errors.hpp"

namespace elsa::actors {

namespace {

void check_readable(const std::filesystem::path& p, const char* key) {
  std::ifstream f(p);
  if (!f)
    throw error(errc::io_error,
                fmt::format("[network] {} = \"{}\": cannot read that file", key, p.string()));
}

} // namespace

void configure_network(caf::actor_system_config& sys_cfg, const run::run_config& cfg) {
  sys_cfg.load<caf::io::middleman>();
  sys_cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(cfg.heartbeat_ms)});
  sys_cfg.set("middleman.connection-timeout",
              caf::timespan{std::chrono::milliseconds(cfg.connection_timeout_ms)});
  if (!cfg.tls)
    return;
  if (cfg.certificate.empty())
    throw error(errc::invalid_argument,
                "[network] tls = true needs certificate, key and cafile (scripts/make_certs.sh makes a test CA "
                "and node certificates); tls = false runs in plaintext");
  check_readable(cfg.certificate, "certificate");
  check_readable(cfg.key, "key");
  check_readable(cfg.cafile, "cafile");
  sys_cfg.load<caf::openssl::manager>();
  sys_cfg.openssl_certificate = cfg.certificate.string();
  sys_cfg.openssl_key = cfg.key.string();
  sys_cfg.openssl_cafile = cfg.cafile.string();
}

caf::expected<uint16_t> listen(caf::actor_system& sys, const run::run_config& cfg, const caf::actor& whom,
                               const std::string& host, uint16_t port) {
  if (cfg.tls)
    return caf::openssl::publish(whom, port, host.c_str(), false);
  return sys.middleman().publish(whom, port, host.c_str(), false);
}

caf::expected<caf::actor> connect(caf::actor_system& sys, const run::run_config& cfg, const std::string& host,
                                  uint16_t port) {
  if (cfg.tls)
    return caf::openssl::remote_actor<caf::actor>(sys, host, port);
  return sys.middleman().remote_actor<caf::actor>(host, port);
}

} // namespace elsa::actors
