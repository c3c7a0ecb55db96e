// The data plane beside BASP (see data_plane.hpp). Wire: a request is [u64 id_hi][u64 id_lo][u64 size]; the
// answer [u64 size] then the bytes, or [u64 ~0] for a ticket the holder does not have (fetched already,
// expired, or never held). A ticket is served once and forgotten.
#include "actors/data_plane.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/errors.hpp"

namespace elsa::actors {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr uint64_t no_ticket = ~uint64_t{0};

std::string ssl_error_text() {
  char buf[256] = {0};
  const auto code = ERR_get_error();
  ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return code == 0 ? std::string("connection closed") : std::string(buf);
}

// One connection, plaintext or TLS, blocking.
struct channel {
  int fd = -1;
  SSL* ssl = nullptr;

  bool read_full(void* buf, std::size_t n) {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
      const int want = static_cast<int>(std::min<std::size_t>(n, std::size_t{1} << 30));
      ssize_t got;
      if (ssl != nullptr) {
        ERR_clear_error();
        got = SSL_read(ssl, p, want);
      } else {
        got = ::recv(fd, p, static_cast<std::size_t>(want), 0);
        if (got < 0 && errno == EINTR)
          continue;
      }
      if (got <= 0)
        return false;
      p += got;
      n -= static_cast<std::size_t>(got);
    }
    return true;
  }

  bool write_full(const void* buf, std::size_t n) {
    const auto* p = static_cast<const char*>(buf);
    while (n > 0) {
      const int want = static_cast<int>(std::min<std::size_t>(n, std::size_t{1} << 30));
      ssize_t put;
      if (ssl != nullptr) {
        ERR_clear_error();
        put = SSL_write(ssl, p, want);
      } else {
        put = ::send(fd, p, static_cast<std::size_t>(want), MSG_NOSIGNAL);
        if (put < 0 && errno == EINTR)
          continue;
      }
      if (put <= 0)
        return false;
      p += put;
      n -= static_cast<std::size_t>(put);
    }
    return true;
  }

  // A header and a body: one sendmsg in plaintext (one segment for small bodies), two writes under TLS.
  bool write_two(const void* head, std::size_t head_n, const void* body, std::size_t body_n) {
    if (ssl != nullptr || body_n == 0)
      return write_full(head, head_n) && (body_n == 0 || write_full(body, body_n));
    iovec iov[2] = {{const_cast<void*>(head), head_n}, {const_cast<void*>(body), body_n}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    ssize_t put;
    do
      put = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    while (put < 0 && errno == EINTR);
    if (put < 0)
      return false;
    auto done = static_cast<std::size_t>(put);
    if (done < head_n)
      return write_full(static_cast<const char*>(head) + done, head_n - done) && write_full(body, body_n);
    done -= head_n;
    return write_full(static_cast<const char*>(body) + done, body_n - done);
  }

  void close_all() {
    if (ssl != nullptr) {
      ERR_clear_error();
      SSL_shutdown(ssl);
      SSL_free(ssl);
      ssl = nullptr;
    }
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
};

void set_socket_options(int fd, int64_t timeout_ms) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (timeout_ms > 0) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout_ms / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout_ms % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
}

SSL_CTX* make_context(bool server, const run::run_config& cfg) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr)
    throw error(errc::io_error, "data plane: OpenSSL cannot make a TLS context");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  ERR_clear_error();
  if (SSL_CTX_use_PrivateKey_file(ctx, cfg.key.c_str(), SSL_FILETYPE_PEM) != 1
      || SSL_CTX_use_certificate_chain_file(ctx, cfg.certificate.c_str()) != 1
      || SSL_CTX_check_private_key(ctx) != 1 || SSL_CTX_load_verify_locations(ctx, cfg.cafile.c_str(), nullptr) != 1) {
    const auto why = ssl_error_text();
    SSL_CTX_free(ctx);
    throw error(errc::invalid_argument,
                fmt::format("data plane: cannot load [network] certificate, key or cafile: {}", why));
  }
  // Mutual, as CAF's OpenSSL module: a peer without a certificate signed by the run's CA is refused.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ctx;
}

// Receive buffers, reused: fresh memory costs a page fault per 4 KiB (about 4 us each on these VMs, 16 ms
// for a 16 MiB payload), and glibc hands large freed blocks back to the kernel. A fetched payload's buffer
// returns here when its last reference goes; capacities are whole 64 KiB units (a run's payload sizes
// repeat, so a buffer fits its next payload exactly); at most `max_pooled_bytes` wait and are never
// returned to the system. Process-wide and never destroyed (payloads may outlive any data plane).
class buffer_pool {
public:
  static constexpr std::size_t max_pooled_bytes = std::size_t{256} << 20;

  static buffer_pool& instance() {
    static auto* pool = new buffer_pool;
    return *pool;
  }

  // A buffer of at least n bytes, 8-byte aligned, owned by the returned pointer (which gives it back).
  std::shared_ptr<void> take(std::size_t n) {
    const std::size_t cap = capacity_for(n);
    void* mem = nullptr;
    {
      std::lock_guard<std::mutex> lock(m_);
      auto& free_list = free_[cap];
      if (!free_list.empty()) {
        mem = free_list.back();
        free_list.pop_back();
        pooled_ -= cap;
      }
    }
    if (mem == nullptr)
      mem = std::malloc(cap);
    if (mem == nullptr)
      return nullptr;
    return std::shared_ptr<void>(mem, [cap](void* p) { instance().give_back(p, cap); });
  }

private:
  static std::size_t capacity_for(std::size_t n) {
    constexpr std::size_t unit = std::size_t{64} << 10;
    return std::max<std::size_t>(unit, (n + unit - 1) / unit * unit);
  }

  void give_back(void* p, std::size_t cap) {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (pooled_ + cap <= max_pooled_bytes) {
        free_[cap].push_back(p);
        pooled_ += cap;
        return;
      }
    }
    std::free(p);
  }

  std::mutex m_;
  std::map<std::size_t, std::vector<void*>> free_;
  std::size_t pooled_ = 0;
};

} // namespace

struct data_plane::impl {
  std::size_t min_bytes = 0;
  std::chrono::milliseconds hold_for{0};
  int64_t io_timeout_ms = 0;
  std::string advertise;
  std::string wildcard_at;  // where tickets naming a wildcard host are redeemed (empty: as they say)
  std::function<void(const std::string&)> log;  // one line per failed fetch or refused connection
  int64_t server_timeout_ms = 0;  // a server connection silent this long (handshake or idle) is closed
  static constexpr std::size_t max_connections = 512;  // server connections at once; more are closed
  uint16_t port = 0;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  SSL_CTX* server_ctx = nullptr;
  SSL_CTX* client_ctx = nullptr;
  std::thread acceptor;

  mutable std::mutex m;
  std::condition_variable idle;
  bool stopping = false;
  struct held_payload {
    messages::payload bytes;
    clock_type::time_point since;
  };
  std::map<std::pair<uint64_t, uint64_t>, held_payload> held;
  std::set<int> serving;  // fds of live server connections (shut down on stop)
  std::map<std::string, std::vector<channel>> pool;  // idle client connections per holder "host:port"
  data_plane_stats stats;

  ~impl() {
    for (auto& [where, chans] : pool)
      for (auto& c : chans)
        c.close_all();
    if (server_ctx != nullptr)
      SSL_CTX_free(server_ctx);
    if (client_ctx != nullptr)
      SSL_CTX_free(client_ctx);
    for (int fd : {listen_fd, wake[0], wake[1]})
      if (fd >= 0)
        ::close(fd);
  }

  void expire_old(clock_type::time_point now) {  // under m
    for (auto it = held.begin(); it != held.end();)
      if (now - it->second.since > hold_for) {
        it = held.erase(it);
        ++stats.expired;
      } else {
        ++it;
      }
  }

  static void serve(std::shared_ptr<impl> self, channel ch) {
    for (;;) {
      uint64_t req[3];
      if (!ch.read_full(req, sizeof(req)))
        break;
      messages::payload bytes;
      bool found = false;
      {
        std::lock_guard<std::mutex> lock(self->m);
        auto it = self->held.find({req[0], req[1]});
        if (it != self->held.end() && it->second.bytes.size() == req[2]) {
          bytes = std::move(it->second.bytes);
          self->held.erase(it);
          ++self->stats.served;
          found = true;
        } else {
          ++self->stats.refused;
        }
      }
      const uint64_t n = found ? bytes.size() : no_ticket;
      if (!ch.write_two(&n, sizeof(n), bytes.data(), found ? bytes.size() : 0))
        break;
    }
    {
      // Out of the set before the fd is closed: a number the OS reuses is never shut down by mistake.
      std::lock_guard<std::mutex> lock(self->m);
      self->serving.erase(ch.fd);
      self->idle.notify_all();
    }
    ch.close_all();
  }

  void say(const std::string& line) {
    std::function<void(const std::string&)> out;
    {
      std::lock_guard<std::mutex> lock(m);
      out = log;
    }
    if (out)
      out(line);
  }

  // Starts a connection's thread; false (the fd closed, counted as refused) when it cannot.
  static bool launch(const std::shared_ptr<impl>& self, int fd, bool tls) {
    try {
      if (tls)
        std::thread(handshake_then_serve, self, fd).detach();
      else
        std::thread(serve, self, channel{fd, nullptr}).detach();
      return true;
    } catch (const std::system_error&) {
      std::lock_guard<std::mutex> lock(self->m);
      self->serving.erase(fd);
      ++self->stats.refused;
      ::close(fd);
      return false;
    }
  }

  static void handshake_then_serve(std::shared_ptr<impl> self, int fd) {
    channel c{fd, SSL_new(self->server_ctx)};
    SSL_set_fd(c.ssl, fd);
    ERR_clear_error();
    if (SSL_accept(c.ssl) != 1) {
      const auto why = ssl_error_text();
      {
        std::lock_guard<std::mutex> lock(self->m);
        ++self->stats.refused;
        self->serving.erase(fd);
        self->idle.notify_all();
      }
      c.close_all();
      self->say("data plane: refused a connection: TLS handshake failed: " + why);
      return;
    }
    serve(self, c);
  }

  static void accept_loop(std::shared_ptr<impl> self) {
    for (;;) {
      pollfd fds[2] = {{self->listen_fd, POLLIN, 0}, {self->wake[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR)
          continue;
        return;
      }
      if (fds[1].revents != 0)
        return;
      const int fd = ::accept4(self->listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));  // out of fds: do not spin
        continue;
      }
      // Handshake and idle alike: a connection that says nothing for this long is closed (a pooled one is
      // reopened by its client), so no peer holds a thread forever.
      set_socket_options(fd, self->server_timeout_ms);
      {
        std::lock_guard<std::mutex> lock(self->m);
        if (self->stopping) {
          ::close(fd);
          return;
        }
        if (self->serving.size() >= max_connections) {
          ++self->stats.refused;
          ::close(fd);
          continue;
        }
        self->serving.insert(fd);
      }
      // The handshake runs on the connection's own thread: a stalled peer holds up no one else.
      launch(self, fd, self->server_ctx != nullptr);
    }
  }

  channel connect_to(const std::string& host, uint16_t port, std::string& why) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const auto service = std::to_string(port);
    if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
      why = fmt::format("cannot resolve {}: {}", host, gai_strerror(rc));
      return {};
    }
    int fd = -1;
    for (auto* a = found; a != nullptr && fd < 0; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0)
        continue;
      // Non-blocking, with the same limit as a read: a host that drops packets is not waited for through
      // the kernel's SYN retries (minutes) on a CAF thread.
      int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        rc = ::poll(&p, 1, static_cast<int>(io_timeout_ms));
        int err = 0;
        socklen_t len = sizeof(err);
        if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
          rc = 0;
        } else {
          errno = rc == 0 ? ETIMEDOUT : (err != 0 ? err : errno);
          rc = -1;
        }
      }
      if (rc != 0) {
        why = std::strerror(errno);
        ::close(fd);
        fd = -1;
      }
    }
    ::freeaddrinfo(found);
    if (fd < 0)
      return {};
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    set_socket_options(fd, io_timeout_ms);
    {
      std::lock_guard<std::mutex> lock(m);
      ++stats.connections;
    }
    channel ch{fd, nullptr};
    if (client_ctx != nullptr) {
      ch.ssl = SSL_new(client_ctx);
      SSL_set_fd(ch.ssl, fd);
      ERR_clear_error();
      if (SSL_connect(ch.ssl) != 1) {
        why = "TLS handshake failed: " + ssl_error_text();
        ch.close_all();
        return {};
      }
    }
    return ch;
  }
};

data_plane::data_plane(const run::run_config& cfg, const std::string& listen_host, const std::string& advertise_host)
  : impl_(std::make_shared<impl>()) {
  auto& s = *impl_;
  s.min_bytes = static_cast<std::size_t>(std::max<int64_t>(cfg.data_plane_min_bytes, 1));
  // Held payloads wait for their fetch at most this long (a receiver that died never asks).
  s.hold_for = std::chrono::milliseconds(std::max<int64_t>(60000, 3 * cfg.connection_timeout_ms));
  // A fetch runs on a CAF I/O or BASP worker thread: a holder that stops answering (a stopped process) must
  // not hold it past a fraction of the connection timeout, or this process's own heartbeats lapse. The
  // limit is per read without progress, so a slow link that keeps moving is not cut.
  s.io_timeout_ms = std::max<int64_t>(cfg.connection_timeout_ms / 4, 500);
  s.server_timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(s.hold_for).count();
  s.advertise = advertise_host.empty() ? listen_host : advertise_host;
  std::signal(SIGPIPE, SIG_IGN);  // a peer that goes away mid-write is an error return, not a signal
  if (cfg.tls) {
    s.server_ctx = make_context(true, cfg);
    s.client_ctx = make_context(false, cfg);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const bool any = listen_host.empty() || listen_host == "0.0.0.0" || listen_host == "::";
  if (const int rc = ::getaddrinfo(any ? nullptr : listen_host.c_str(), "0", &hints, &found); rc != 0)
    throw error(errc::io_error, fmt::format("data plane: cannot resolve {}: {}", listen_host, gai_strerror(rc)));
  std::string why = "no address";
  for (auto* a = found; a != nullptr && s.listen_fd < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
      continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      s.listen_fd = fd;
    } else {
      why = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (s.listen_fd < 0)
    throw error(errc::io_error, fmt::format("data plane: cannot listen on {}: {}", listen_host, why));
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  s.port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (::pipe2(s.wake, O_CLOEXEC) != 0)
    throw error(errc::io_error, fmt::format("data plane: pipe: {}", std::strerror(errno)));
  s.acceptor = std::thread(impl::accept_loop, impl_);
}

data_plane::~data_plane() {
  if (installed_)
    messages::set_payload_offload(nullptr);
  auto& s = *impl_;
  {
    std::unique_lock<std::mutex> lock(s.m);
    s.stopping = true;
    for (int fd : s.serving)
      ::shutdown(fd, SHUT_RDWR);  // its thread's read fails; it closes the fd and leaves
  }
  const char one = 1;
  [[maybe_unused]] auto w = ::write(s.wake[1], &one, 1);
  if (s.acceptor.joinable())
    s.acceptor.join();
  std::unique_lock<std::mutex> lock(s.m);
  for (int fd : s.serving)
    ::shutdown(fd, SHUT_RDWR);
  s.idle.wait_for(lock, std::chrono::seconds(5), [&] { return s.serving.empty(); });
  // Threads still handshaking hold their own reference to impl: it lives until the last one leaves.
}

uint16_t data_plane::port() const {
  return impl_->port;
}

data_plane_stats data_plane::stats() const {
  std::lock_guard<std::mutex> lock(impl_->m);
  return impl_->stats;
}

void data_plane::set_log(std::function<void(const std::string&)> log) {
  std::lock_guard<std::mutex> lock(impl_->m);
  impl_->log = std::move(log);
}

void data_plane::redeem_wildcard_at(const std::string& host) {
  std::lock_guard<std::mutex> lock(impl_->m);
  impl_->wildcard_at = host;
}

void data_plane::install() {
  messages::set_payload_offload(this);
  installed_ = true;
}

bool data_plane::hold(const messages::payload& x, messages::payload_ticket& ticket) {
  auto& s = *impl_;
  if (x.size() < s.min_bytes)
    return false;
  uint64_t id[2];
  if (::getrandom(id, sizeof(id), 0) != static_cast<ssize_t>(sizeof(id)))
    return false;  // no randomness: send it inline rather than with a guessable ticket
  const auto now = clock_type::now();
  {
    std::lock_guard<std::mutex> lock(s.m);
    if (s.stopping)
      return false;
    s.expire_old(now);
    s.held[{id[0], id[1]}] = impl::held_payload{x, now};
    ++s.stats.held;
  }
  ticket.id_hi = id[0];
  ticket.id_lo = id[1];
  ticket.size = x.size();
  ticket.host = s.advertise;
  ticket.port = s.port;
  return true;
}

caf::expected<messages::payload> data_plane::fetch(const messages::payload_ticket& ticket) {
  auto& s = *impl_;
  std::string host = ticket.host;
  {
    std::lock_guard<std::mutex> lock(s.m);
    if ((host.empty() || host == "0.0.0.0" || host == "::") && !s.wildcard_at.empty())
      host = s.wildcard_at;
  }
  const auto where = fmt::format("{}:{}", host, ticket.port);
  auto fail = [&](const std::string& why) {
    const auto line = fmt::format("data plane: cannot fetch {} bytes from {}: {}", ticket.size, where, why);
    {
      std::lock_guard<std::mutex> lock(s.m);
      ++s.stats.failed;
    }
    s.say(line);  // CAF drops the message with a fixed text of its own (and only in a logging build)
    return caf::make_error(caf::sec::runtime_error, line);
  };
  channel ch;
  {
    std::lock_guard<std::mutex> lock(s.m);
    auto& idle = s.pool[where];
    if (!idle.empty()) {
      ch = idle.back();
      idle.pop_back();
    }
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool pooled = ch.fd >= 0;
    if (!pooled) {
      std::string why;
      ch = s.connect_to(host, ticket.port, why);
      if (ch.fd < 0)
        return fail(why);
    }
    const uint64_t req[3] = {ticket.id_hi, ticket.id_lo, ticket.size};
    uint64_t n = 0;
    if (!ch.write_full(req, sizeof(req)) || !ch.read_full(&n, sizeof(n))) {
      ch.close_all();
      if (pooled)
        continue;  // an idle pooled connection may have been closed by its holder: one fresh try
      return fail("the connection broke");
    }
    if (n == no_ticket) {
      {
        std::lock_guard<std::mutex> lock(s.m);
        s.pool[where].push_back(ch);
      }
      return fail("the holder does not have that ticket (fetched before, or held past its time)");
    }
    if (n != ticket.size) {
      ch.close_all();
      return fail(fmt::format("the holder answered with {} bytes", n));
    }
    auto mem = buffer_pool::instance().take(n);
    if (!mem) {
      ch.close_all();
      return fail("out of memory");
    }
    if (n > 0 && !ch.read_full(mem.get(), n)) {
      ch.close_all();
      return fail("the connection broke mid-payload");
    }
    const void* at = mem.get();
    auto bytes = messages::payload::wrap(std::move(mem), at, n);
    std::lock_guard<std::mutex> lock(s.m);
    s.pool[where].push_back(ch);
    ++s.stats.fetched;
    return bytes;
  }
  return fail("the connection broke");
}

std::string describe(const data_plane_stats& s) {
  return fmt::format("data plane: {} held, {} redeemed, {} fetched, {} failed, {} expired, {} refused", s.held,
                     s.served, s.fetched, s.failed, s.expired, s.refused);
}

std::unique_ptr<data_plane> start_data_plane(const run::run_config& cfg, const std::string& listen_host,
                                             const std::string& advertise_host,
                                             std::function<void(const std::string&)> log) {
  if (!cfg.data_plane)
    return nullptr;
  auto plane = std::make_unique<data_plane>(cfg, listen_host, advertise_host);
  if (log)
    plane->set_log(std::move(log));
  plane->install();
  return plane;
}

} // namespace elsa::actors
