// Two fixes for CAF 0.17.6's OpenSSL module, by symbol interposition (they must live in the executable, which
// exports them: the OBJECT library elsa_openssl_fixes and ENABLE_EXPORTS in CMakeLists.txt).
// Why, in docs/deployment.md "TLS":
// 1. CAF never drains OpenSSL 3's per-thread error queue (it only reads it in log statements, compiled out in
//    Debian's build). A peer that disconnects leaves "unexpected eof while reading" queued, and the next
//    harmless "no data yet" on ANY other TLS connection of the process then reads as fatal: that connection
//    is dropped. Clearing the queue before each SSL I/O call (as OpenSSL's documentation requires) fixes it.
// 2. A refused TLS peer (a certificate from another CA, or none) leaves no trace in a CAF process. A verify
//    and an info callback on every SSL object write one line per refusal to stderr (the node's log).
#include <cstdio>
#include <cstdlib>
#include <string>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

namespace {

std::string address_of(const SSL* ssl) {
  const int fd = SSL_get_fd(ssl);
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  if (fd < 0 || getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0 || sa.sin_family != AF_INET)
    return "a peer";
  char buf[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof(buf));
  return std::string(buf) + ":" + std::to_string(ntohs(sa.sin_port));
}

// The peer's address as it was when the handshake started (a refused peer has often closed by the time we
// say so): kept in the session's ex_data, freed with it.
int peer_index() {
  static const int index = SSL_get_ex_new_index(
    0, nullptr, nullptr, nullptr,
    [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<std::string*>(ptr); });
  return index;
}

void remember_peer(const SSL* ssl) {
  if (SSL_get_ex_data(ssl, peer_index()) == nullptr)
    SSL_set_ex_data(const_cast<SSL*>(ssl), peer_index(), new std::string(address_of(ssl)));
}

std::string peer_of(const SSL* ssl) {
  if (const auto* known = static_cast<const std::string*>(SSL_get_ex_data(ssl, peer_index())))
    if (*known != "a peer")
      return *known;
  return address_of(ssl);
}

// "rendezvous: tls: ..." or "client 3: tls: ...": the process names itself in ELSA_NODE_NAME (actors/node.cpp).
void say(const std::string& line) {
  const char* name = std::getenv("ELSA_NODE_NAME");
  const std::string prefix = name != nullptr ? std::string{name} + ": tls: " : std::string{"tls: "};
  std::fputs((prefix + line + "\n").c_str(), stderr);  // one write: processes share the terminal
}

// Marks an SSL object whose handshake completed, or whose refusal was said (ex_data: CAF uses none).
int done_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int verify_cb(int ok, X509_STORE_CTX* st) {
  if (!ok) {
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(st, SSL_get_ex_data_X509_STORE_CTX_idx()));
    char subject[256] = "?";
    if (auto* crt = X509_STORE_CTX_get_current_cert(st))
      X509_NAME_oneline(X509_get_subject_name(crt), subject, sizeof(subject));
    SSL_set_ex_data(ssl, done_index(), const_cast<char*>("said"));  // the alert that follows says no more
    say("refused the certificate of " + peer_of(ssl) + " (" + subject
        + "): " + X509_verify_cert_error_string(X509_STORE_CTX_get_error(st)));
  }
  return ok;
}

void info_cb(const SSL* ssl, int where, int ret) {
  if (where & SSL_CB_HANDSHAKE_START)
    remember_peer(ssl);
  if (where & SSL_CB_HANDSHAKE_DONE)
    SSL_set_ex_data(const_cast<SSL*>(ssl), done_index(), const_cast<char*>("done"));
  // Only during the handshake: CAF closes established connections without close_notify, which the
  // other side answers with an alert that is no refusal.
  if (SSL_get_ex_data(ssl, done_index()) != nullptr || !SSL_is_server(const_cast<SSL*>(ssl)))
    return;
  // One line per refused session: mark it as done once said.
  const auto said = [ssl] { SSL_set_ex_data(const_cast<SSL*>(ssl), done_index(), const_cast<char*>("said")); };
  if ((where & SSL_CB_ALERT) && std::string{SSL_alert_type_string(ret)} == "F") {
    said();
    if (where & SSL_CB_WRITE) {
      // The queued reason says more than the alert ("peer did not return a certificate" vs "unknown").
      const auto e = ERR_peek_last_error();
      const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
      say("refused " + peer_of(ssl) + ": " + (reason != nullptr ? reason : SSL_alert_desc_string_long(ret)));
    } else
      say("handshake with " + peer_of(ssl) + " failed: it sent \"" + SSL_alert_desc_string_long(ret)
          + "\" (it does not accept this node's certificate)");
  } else if ((where & SSL_CB_EXIT) && ret <= 0) {
    // ret < 0 is also "would block"; a failure leaves its reason queued (the queue is cleared before
    // each call, see below).
    const auto e = ERR_peek_last_error();
    if (e == 0)
      return;
    char reason[256];
    ERR_error_string_n(e, reason, sizeof(reason));
    said();
    say("handshake with " + peer_of(ssl) + " failed: " + reason);
  }
}

// ELSA_OPENSSL_NO_FIX=1 turns fix 1 off, to reproduce the bug (docs/deployment.md).
bool clear_errors() {
  static const bool on = [] {
    const char* v = std::getenv("ELSA_OPENSSL_NO_FIX");
    return v == nullptr || std::string{v} != "1";
  }();
  return on;
}

template <class Fn>
Fn real(const char* name) {
  auto* fn = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
  if (fn == nullptr) {  // no libssl behind us: nothing sensible to do
    std::fprintf(stderr, "elsa: internal error: OpenSSL's %s not found (%s)\n", name, dlerror());
    std::abort();
  }
  return fn;
}

} // namespace

extern "C" {

SSL* SSL_new(SSL_CTX* ctx) {
  static auto next = real<SSL* (*)(SSL_CTX*)>("SSL_new");
  SSL* ssl = next(ctx);
  if (ssl != nullptr) {
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), verify_cb);
    SSL_set_info_callback(ssl, info_cb);
  }
  return ssl;
}

int SSL_read(SSL* s, void* b, int n) {
  static auto next = real<int (*)(SSL*, void*, int)>("SSL_read");
  if (clear_errors())
    ERR_clear_error();
  return next(s, b, n);
}

int SSL_write(SSL* s, const void* b, int n) {
  static auto next = real<int (*)(SSL*, const void*, int)>("SSL_write");
  if (clear_errors())
    ERR_clear_error();
  return next(s, b, n);
}

int SSL_accept(SSL* s) {
  static auto next = real<int (*)(SSL*)>("SSL_accept");
  if (clear_errors())
    ERR_clear_error();
  return next(s);
}

int SSL_connect(SSL* s) {
  static auto next = real<int (*)(SSL*)>("SSL_connect");
  if (clear_errors())
    ERR_clear_error();
  return next(s);
}

} // extern "C"
