// CAF's network layer for ELSA's processes (see network.hpp).
#include "actors/network.hpp"

#include <chrono>
#include <fstream>
#include <memory>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/errors.hpp"

namespace elsa::actors {

namespace {

void check_readable(const std::filesystem::path& p, const char* key) {
  std::ifstream f(p);
  if (!f)
    throw error(errc::io_error,
                fmt::format("[network] {} = \"{}\": cannot read that file", key, p.string()));
}

// Loads the three files as CAF's OpenSSL module will (which, on a bad file, throws inside its I/O thread on
// the first connection and ends the process): one line naming the key instead, before anything starts.
void check_tls_files(const run::run_config& cfg) {
  check_readable(cfg.certificate, "certificate");
  check_readable(cfg.key, "key");
  check_readable(cfg.cafile, "cafile");
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  const auto bad = [](const char* key, const std::filesystem::path& p, const char* what) {
    ERR_clear_error();
    return error(errc::invalid_argument, fmt::format("[network] {} = \"{}\": {}", key, p.string(), what));
  };
  if (!ctx)
    throw error(errc::io_error, "OpenSSL cannot make a TLS context");
  // The key first: loaded after a certificate, a key that does not match it fails as if it were no key.
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), cfg.key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw bad("key", cfg.key, "not a PEM private key (or one with a passphrase)");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cfg.certificate.c_str()) != 1)
    throw bad("certificate", cfg.certificate, "not a PEM certificate");
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    throw bad("key", cfg.key, fmt::format("is not the key of certificate {}", cfg.certificate.string()).c_str());
  if (SSL_CTX_load_verify_locations(ctx.get(), cfg.cafile.c_str(), nullptr) != 1)
    throw bad("cafile", cfg.cafile, "not a PEM CA certificate");
}

} // namespace

void check_network(const run::run_config& cfg) {
  if (!cfg.tls)
    return;
  if (cfg.certificate.empty())
    throw error(errc::invalid_argument,
                "[network] tls = true needs certificate, key and cafile (scripts/make_certs.sh makes a test CA "
                "and node certificates); tls = false runs in plaintext");
  check_tls_files(cfg);
}

void configure_network(caf::actor_system_config& sys_cfg, const run::run_config& cfg) {
  // Workers that wait on a condition variable, not work stealing's: its idle workers poll every 50 us for a
  // while after each job, and on a small machine those wake-ups take the cores that a payload crossing the
  // data plane needs (16 MiB request/reply: 0.92 against 0.74 of raw TLS's throughput, docs/deployment.md).
  sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  sys_cfg.load<caf::io::middleman>();
  sys_cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(cfg.heartbeat_ms)});
  sys_cfg.set("middleman.connection-timeout",
              caf::timespan{std::chrono::milliseconds(cfg.connection_timeout_ms)});
  if (!cfg.tls)
    return;
  check_network(cfg);
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
