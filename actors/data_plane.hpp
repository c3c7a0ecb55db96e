// The data plane beside BASP: large payloads do not travel inside CAF messages between processes. When CAF
// serialises a payload of at least [network] data_plane_min_bytes, this process holds the bytes and BASP
// carries a ticket (messages/payload.hpp); the receiving process's deserialiser fetches the bytes from the
// holder's data-plane socket, one blocking request/reply, into one buffer. BASP's own path copies each byte
// four times in user space on one I/O thread (docs/deployment.md); this one reads it once from the kernel.
// Control messages and anything smaller stay on BASP. TLS as the node's [network] says: mutual, with the
// same certificate, key and CA as CAF's OpenSSL module. Sockets and threads only: no actors, no maths.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/run/run_config.hpp"
#include "messages/payload.hpp"

namespace elsa::actors {

struct data_plane_stats {
  uint64_t held = 0;      // payloads held for a fetch
  uint64_t served = 0;    // ... fetched by their receiver
  uint64_t expired = 0;   // ... dropped unfetched after the hold time
  uint64_t fetched = 0;   // payloads this process fetched from others
  uint64_t failed = 0;    // ... or could not (each also a log line): CAF then drops the message
  uint64_t connections = 0;  // connections this process opened to holders (kept and reused)
  uint64_t refused = 0;   // connections refused (TLS handshake, too many) or requests for unknown tickets
};

/// "data plane: H held, R redeemed, F fetched, X failed, E expired, Y refused" (a node's last line about it).
std::string describe(const data_plane_stats& s);

class data_plane final : public messages::payload_offload {
public:
  /// Listens on listen_host (any free port); tickets name advertise_host (listen_host when empty). With
  /// cfg.tls, mutual TLS with cfg's certificate, key and CA. elsa::error (one line) when it cannot listen
  /// or load the certificates.
  data_plane(const run::run_config& cfg, const std::string& listen_host, const std::string& advertise_host);
  /// Stops serving and waits for its threads; uninstalls itself if installed.
  ~data_plane() override;
  data_plane(const data_plane&) = delete;
  data_plane& operator=(const data_plane&) = delete;

  uint16_t port() const;
  data_plane_stats stats() const;

  /// Makes this the process's payload offload (messages::set_payload_offload).
  void install();

  /// Where a failed fetch or a refused connection is said, one line each (default: nowhere).
  void set_log(std::function<void(const std::string&)> log);

  /// Tickets that name a wildcard host (0.0.0.0, ::: a process listening on every interface without
  /// --advertise, which only the rendezvous may) are redeemed at `host`, the address this process joined.
  void redeem_wildcard_at(const std::string& host);

  bool hold(const messages::payload& x, messages::payload_ticket& ticket) override;
  caf::expected<messages::payload> fetch(const messages::payload_ticket& ticket) override;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
  bool installed_ = false;
};

/// The process's data plane when cfg.data_plane, installed, saying its failures to `log` (see set_log);
/// nullptr otherwise. Start it before the actor system and destroy it after (declare it first).
std::unique_ptr<data_plane> start_data_plane(const run::run_config& cfg, const std::string& listen_host,
                                             const std::string& advertise_host,
                                             std::function<void(const std::string&)> log = {});

} // namespace elsa::actors
