// The wire between processes: CAF's actor path as `elsa node` uses it (actors/network.cpp: BASP over the io
// middleman, plaintext or CAF's OpenSSL module) against blocking loopback sockets (raw TCP; raw TLS 1.3 through
// OpenSSL with the same certificates), between real processes (this program re-runs itself for the other side):
// request/reply throughput at the quickstart's forward size and at 16 MiB, the round trip of a small control
// message, the CPU an idle connected node burns, and transport-only federated rounds (1 aggregator + N clients).
// Run: build/elsa_transport_benchmark [--quick] [--only throughput|latency|idle|rounds] [--tls on|off|both]
//      [--data-plane on|off] (on, as elsa node runs: payloads >= 64 KiB beside BASP, actors/data_plane.hpp)
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/core.h>

#include "actors/data_plane.hpp"
#include "actors/network.hpp"
#include "core/run/run_config.hpp"
#include "messages/payload.hpp"
#include "messages/type_ids.hpp"

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using elsa::messages::payload;
namespace msg = elsa::messages;

// The quickstart's forward message (configs/quickstart.toml: batch 8 x max_len 96 x n_embd 192 f32 plus its
// envelope): runs/quickstart/summary.json has 472,019,200 activation bytes client -> edge over 800 steps.
constexpr std::size_t activation_bytes = 590024;
constexpr std::size_t big_bytes = std::size_t{16} << 20;  // 16 MiB
constexpr std::size_t control_bytes = 100;
// Transport-only rounds: "16 MB" and "0.4 MB" read as MiB (the larger reading).
constexpr std::size_t round_big_bytes = std::size_t{16} << 20;
constexpr std::size_t round_small_bytes = 419430;          // 0.4 MiB
constexpr auto request_timeout = std::chrono::seconds(120);  // roles use a finite deadline too

fs::path certs_dir;  // the driver's temporary certificates (set in the driver process only)
// [network] data_plane for every process of this run (--data-plane): payloads of 64 KiB or more beside BASP.
bool data_plane_on = true;
std::unique_ptr<elsa::actors::data_plane> plane;  // this process's, for its current actor system

// Children die with the driver (PR_SET_PDEATHSIG); the certificates go with it.
[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "elsa_transport_benchmark: %s\n", what.c_str());
  std::fflush(stderr);
  if (!certs_dir.empty()) {
    std::error_code ec;
    fs::remove_all(certs_dir, ec);
  }
  std::_Exit(2);
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0.0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double quantile(std::vector<double> v, double q) {
  if (v.empty())
    return 0.0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
}

std::string with_commas(std::size_t n) {
  auto s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string size_label(std::size_t n) {
  return n >= (std::size_t{1} << 20) && n % (std::size_t{1} << 20) == 0 ? std::to_string(n >> 20) + " MiB"
                                                                        : with_commas(n) + " B";
}

// Deterministic non-zero filler (the bytes' values do not matter: nothing compresses).
void fill(void* dst, std::size_t n, uint64_t seed) {
  auto* p = static_cast<unsigned char*>(dst);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = static_cast<unsigned char>(x);
  }
}

payload make_payload(std::size_t n, uint64_t seed) {
  void* mem = std::malloc(n == 0 ? 1 : n);
  if (mem == nullptr)
    throw std::bad_alloc{};
  fill(mem, n, seed);
  return payload::adopt_malloced(mem, n);
}

// -- CPU and page faults --------------------------------------------------------------------------------------

struct proc_usage {
  double cpu_s = 0;  // utime + stime
  double minflt = 0;
};

proc_usage self_usage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
            + 1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec),
          static_cast<double>(ru.ru_minflt)};
}

// /proc/PID/stat fields 10 (minflt), 14 (utime) and 15 (stime), after the parenthesised command name.
proc_usage child_usage(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = all.rfind(')');
  if (close == std::string::npos)
    return {};
  std::istringstream rest(all.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string tok; rest >> tok;)
    fields.push_back(tok);
  if (fields.size() < 13)
    return {};
  // fields[0] is field 3 (state): field k is fields[k - 3].
  static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return {(std::stod(fields[11]) + std::stod(fields[12])) / tick, std::stod(fields[7])};
}

// -- child processes ------------------------------------------------------------------------------------------

struct child_proc {
  pid_t pid = -1;
  int to_child = -1;    // its stdin: closing it tells the child to stop
  int from_child = -1;  // its stdout: one status line
};

std::mutex children_mutex;
std::vector<pid_t> live_children;  // killed on any exit path

void kill_all_children() {
  std::lock_guard<std::mutex> lock(children_mutex);
  for (auto pid : live_children)
    kill(pid, SIGKILL);
  for (auto pid : live_children)
    waitpid(pid, nullptr, 0);
  live_children.clear();
}

void on_signal(int sig) {
  for (auto pid : live_children)  // no lock: a signal handler; the list is only appended between forks
    kill(pid, SIGKILL);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

child_proc spawn_child(std::vector<std::string> args) {
  args.insert(args.end(), {"--data-plane", data_plane_on ? "on" : "off"});
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0)
    die(std::string("pipe2: ") + std::strerror(errno));
  // Built before fork: between fork and exec the child calls only async-signal-safe functions.
  std::vector<char*> argv;
  static const std::string exe = "/proc/self/exe";
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  std::lock_guard<std::mutex> lock(children_mutex);
  const pid_t pid = fork();
  if (pid < 0)
    die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // the parent dies, the child dies
    if (getppid() != parent)
      _exit(3);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    // The parent's sockets and other children's pipes (a child holding another's stdin would keep it alive).
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
      for (int fd = 3; fd < 65536; ++fd)
        close(fd);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  live_children.push_back(pid);
  return {pid, in_pipe[1], out_pipe[0]};
}

// One line from the child's stdout, or "" after `timeout_s` or at end of file.
std::string read_line(const child_proc& c, double timeout_s) {
  std::string line;
  const auto t0 = clock_type::now();
  for (;;) {
    const double left = timeout_s - seconds_since(t0);
    if (left <= 0)
      return "";
    pollfd p{c.from_child, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left * 1000) + 1) <= 0)
      continue;
    char ch;
    const auto n = read(c.from_child, &ch, 1);
    if (n <= 0)
      return "";
    if (ch == '\n')
      return line;
    line += ch;
  }
}

// Closes the children's stdin (they shut their actor system down and exit), waits up to `grace_s`, then
// SIGKILLs whoever is left. 0 when all exited cleanly, else the number that did not.
int stop_children(std::vector<child_proc>& cs, double grace_s = 15) {
  for (auto& c : cs) {
    close(c.to_child);
    c.to_child = -1;
  }
  int bad = 0;
  const auto t0 = clock_type::now();
  for (auto& c : cs) {
    int status = 0;
    pid_t r = 0;
    while ((r = waitpid(c.pid, &status, WNOHANG)) == 0 && seconds_since(t0) < grace_s)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (r == 0) {
      std::fprintf(stderr, "elsa_transport_benchmark: child %d did not exit within %.0f s; killed\n", c.pid, grace_s);
      kill(c.pid, SIGKILL);
      waitpid(c.pid, &status, 0);
      ++bad;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "elsa_transport_benchmark: child %d ended with status 0x%x\n", c.pid, status);
      ++bad;
    }
    close(c.from_child);
    std::lock_guard<std::mutex> lock(children_mutex);
    live_children.erase(std::remove(live_children.begin(), live_children.end(), c.pid), live_children.end());
  }
  cs.clear();
  return bad;
}

// Blocks until stdin reaches end of file: the parent closed it (or died).
void wait_for_parent() {
  char buf[64];
  while (true) {
    const auto n = read(0, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EINTR))
      return;
  }
}

void say_to_parent(const std::string& line) {
  const auto s = line + "\n";
  if (write(1, s.data(), s.size()) != static_cast<ssize_t>(s.size()))
    std::_Exit(4);
}

// -- CAF: the configuration `elsa node` uses, and the actors -------------------------------------------------

elsa::run::run_config net_config(bool tls, const fs::path& certs, const std::string& name) {
  elsa::run::run_config cfg;  // [network] defaults: heartbeat 1000 ms, connection timeout 10000 ms
  cfg.tls = tls;
  cfg.data_plane = data_plane_on;
  if (tls) {
    cfg.certificate = certs / (name + ".pem");
    cfg.key = certs / (name + ".key");
    cfg.cafile = certs / "ca.pem";
  }
  return cfg;
}

// What actors/resources.cpp configure_actor_system does for a node, less the LibTorch thread hook (no torch
// work here), then actors/network.cpp configure_network.
void configure(caf::actor_system_config& sys_cfg, const elsa::run::run_config& cfg) {
  msg::register_message_types(sys_cfg);
  sys_cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.threads));
  elsa::actors::configure_network(sys_cfg, cfg);
  plane.reset();  // the previous session's actor system is gone (sessions run one after the other)
  plane = elsa::actors::start_data_plane(cfg, "127.0.0.1", "");
}

// Answers (forward|deliver, payload) with a payload of the same size, built once per size and reused.
struct echo_state {
  std::map<std::size_t, payload> replies;
};

caf::behavior echo_actor(caf::stateful_actor<echo_state>* self) {
  auto reply_for = [self](std::size_t n) -> payload {
    auto& m = self->state.replies;
    auto it = m.find(n);
    if (it == m.end())
      it = m.emplace(n, make_payload(n, 7 + n)).first;
    return it->second;
  };
  return {
    [reply_for](msg::forward_atom, const payload& p) { return reply_for(p.size()); },
    [reply_for](msg::deliver_atom, const payload& p) { return reply_for(p.size()); },
  };
}

// The client side of the throughput and latency runs, event-based like ELSA's roles: K sequential requests
// (forward, payload) to the server's actor, each reply checked for its size; optionally each round trip's
// seconds appended to *samples. Answers `start` with true when done.
struct driver_state {
  caf::actor server;
  payload request;
  uint64_t left = 0;
  std::vector<double>* samples = nullptr;
  bool sampling = false;
  clock_type::time_point sent;
  caf::response_promise rp;
};

void next_request(caf::stateful_actor<driver_state>* self) {
  auto& st = self->state;
  st.sent = clock_type::now();
  self->request(st.server, request_timeout, msg::forward_atom::value, st.request)
    .then(
      [self](const payload& reply) {
        auto& st = self->state;
        if (st.sampling)
          st.samples->push_back(seconds_since(st.sent));
        if (reply.size() != st.request.size()) {
          st.rp.deliver(caf::make_error(caf::sec::unexpected_response, "reply of the wrong size"));
          return;
        }
        if (--st.left > 0)
          next_request(self);
        else
          st.rp.deliver(true);
      },
      [self](caf::error& err) { self->state.rp.deliver(err); });
}

caf::behavior driver_actor(caf::stateful_actor<driver_state>* self, caf::actor server, std::vector<double>* samples) {
  self->state.server = std::move(server);
  self->state.samples = samples;
  return {
    [self](msg::start_atom, const payload& request, uint64_t k, bool sampling) -> caf::result<bool> {
      auto& st = self->state;
      st.request = request;
      st.left = std::max<uint64_t>(k, 1);
      st.sampling = sampling;
      st.rp = self->make_response_promise();
      next_request(self);
      return caf::delegated<bool>{};
    },
  };
}

// The aggregator of the transport-only rounds: clients join (join, id) from their echo actor; each round
// sends every client the payload (deliver, request with reply) and answers with the seconds from the first
// send to the last reply.
struct aggregator_state {
  std::size_t want = 0;
  std::vector<caf::actor> clients;
  bool ready_waiting = false;
  caf::response_promise ready_rp;
  std::size_t pending = 0;
  bool failed = false;
  clock_type::time_point t0;
  caf::response_promise round_rp;
};

caf::behavior aggregator_actor(caf::stateful_actor<aggregator_state>* self, std::size_t want) {
  self->state.want = want;
  return {
    [self](msg::join_atom, uint32_t) {
      auto& st = self->state;
      st.clients.push_back(caf::actor_cast<caf::actor>(self->current_sender()));
      if (st.clients.size() == st.want && st.ready_waiting) {
        st.ready_waiting = false;
        st.ready_rp.deliver(true);
      }
    },
    [self](msg::ready_atom) -> caf::result<bool> {
      auto& st = self->state;
      if (st.clients.size() >= st.want)
        return true;
      st.ready_waiting = true;
      st.ready_rp = self->make_response_promise();
      return caf::delegated<bool>{};
    },
    [self](msg::open_round_atom, const payload& down) -> caf::result<double> {
      auto& st = self->state;
      st.pending = st.clients.size();
      st.failed = false;
      st.round_rp = self->make_response_promise();
      st.t0 = clock_type::now();
      const auto size = down.size();
      for (const auto& c : st.clients)
        self->request(c, request_timeout, msg::deliver_atom::value, down)
          .then(
            [self, size](const payload& up) {
              auto& st = self->state;
              if (st.failed)
                return;
              if (up.size() != size) {
                st.failed = true;
                st.round_rp.deliver(caf::make_error(caf::sec::unexpected_response, "upload of the wrong size"));
                return;
              }
              if (--st.pending == 0)
                st.round_rp.deliver(seconds_since(st.t0));
            },
            [self](caf::error& err) {
              auto& st = self->state;
              if (!st.failed) {
                st.failed = true;
                st.round_rp.deliver(err);
              }
            });
      return caf::delegated<double>{};
    },
  };
}

// -- raw sockets: blocking, TCP_NODELAY, a u64 length prefix, buffers reused ---------------------------------

struct tls_files {
  fs::path dir;
  std::string name;
};

SSL_CTX* make_tls_context(bool server, const tls_files& f) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr)
    die("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  const auto pem = (f.dir / (f.name + ".pem")).string();
  const auto key = (f.dir / (f.name + ".key")).string();
  const auto ca = (f.dir / "ca.pem").string();
  if (SSL_CTX_use_certificate_chain_file(ctx, pem.c_str()) != 1
      || SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1
      || SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1)
    die("cannot load " + pem + ", " + key + " or " + ca);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);  // mutual, like CAF's
  return ctx;
}

struct raw_channel {
  int fd = -1;
  SSL* ssl = nullptr;

  bool read_full(void* buf, std::size_t n) {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
      const int want = static_cast<int>(std::min<std::size_t>(n, 1 << 30));
      ssize_t got;
      if (ssl != nullptr) {
        got = SSL_read(ssl, p, want);
      } else {
        got = recv(fd, p, static_cast<std::size_t>(want), 0);
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
      const int want = static_cast<int>(std::min<std::size_t>(n, 1 << 30));
      ssize_t put;
      if (ssl != nullptr) {
        put = SSL_write(ssl, p, want);
      } else {
        put = send(fd, p, static_cast<std::size_t>(want), MSG_NOSIGNAL);
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

  void close_all() {
    if (ssl != nullptr) {
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

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// The raw server: one thread per connection; each request [u64 n][n bytes] is answered with [u64 n][n bytes]
// from a reply buffer that grows once to the largest size seen and is then reused (like the echo actor's).
void raw_serve(raw_channel ch) {
  std::vector<char> in;
  std::vector<char> out;  // [u64 n][n bytes]
  for (;;) {
    uint64_t n = 0;
    if (!ch.read_full(&n, sizeof(n)))
      break;
    if (n > msg::max_wire_payload_bytes)
      break;
    if (in.size() < n)
      in.resize(n);
    if (!ch.read_full(in.data(), n))
      break;
    if (out.size() < n + sizeof(n)) {
      out.resize(n + sizeof(n));
      fill(out.data() + sizeof(n), n, 11 + n);
    }
    std::memcpy(out.data(), &n, sizeof(n));
    if (!ch.write_full(out.data(), n + sizeof(n)))
      break;
  }
  ch.close_all();
}

int raw_listen(uint16_t& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 16) != 0)
    die(std::string("raw listen: ") + std::strerror(errno));
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  port = ntohs(sa.sin_port);
  return fd;
}

void raw_accept_loop(int listen_fd, SSL_CTX* ctx) {
  for (;;) {
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    set_nodelay(fd);
    raw_channel ch{fd, nullptr};
    if (ctx != nullptr) {
      ch.ssl = SSL_new(ctx);
      SSL_set_fd(ch.ssl, fd);
      if (SSL_accept(ch.ssl) != 1) {
        std::fprintf(stderr, "raw tls server: handshake failed\n");
        ch.close_all();
        continue;
      }
    }
    std::thread(raw_serve, ch).detach();
  }
}

raw_channel raw_connect(uint16_t port, SSL_CTX* ctx) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    die(std::string("raw connect: ") + std::strerror(errno));
  set_nodelay(fd);
  raw_channel ch{fd, nullptr};
  if (ctx != nullptr) {
    ch.ssl = SSL_new(ctx);
    SSL_set_fd(ch.ssl, fd);
    if (SSL_connect(ch.ssl) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
      die(std::string("raw tls connect: ") + buf);
    }
  }
  return ch;
}

// -- child roles ----------------------------------------------------------------------------------------------

struct role_args {
  std::string role;
  bool tls = false;
  bool raw = true;
  fs::path certs;
  uint16_t port = 0;
  uint32_t id = 0;
};

// The server of the two-process runs: the echo actor published with elsa::actors::listen, and (unless --raw
// off) a raw listener in the same process. Prints "ports CAF RAW" and serves until stdin closes.
int run_echo_server(const role_args& a) {
  uint16_t raw_port = 0;
  int raw_fd = -1;
  SSL_CTX* ctx = nullptr;
  if (a.raw) {
    if (a.tls)
      ctx = make_tls_context(true, {a.certs, "server"});
    raw_fd = raw_listen(raw_port);
    std::thread(raw_accept_loop, raw_fd, ctx).detach();
  }
  const auto cfg = net_config(a.tls, a.certs, "server");
  caf::actor_system_config sys_cfg;
  configure(sys_cfg, cfg);
  {
    caf::actor_system sys{sys_cfg};
    auto echo = sys.spawn(echo_actor);
    auto port = elsa::actors::listen(sys, cfg, caf::actor_cast<caf::actor>(echo), "127.0.0.1", 0);
    if (!port) {
      caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
      die("echo server: cannot listen: " + sys.render(port.error()));
    }
    say_to_parent(fmt::format("ports {} {}", *port, raw_port));
    wait_for_parent();
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  }
  if (raw_fd >= 0)
    shutdown(raw_fd, SHUT_RDWR);
  std::fflush(stdout);
  std::_Exit(0);  // the raw connection threads are detached
}

// One client of the transport-only rounds: the echo actor, connected to the aggregator with
// elsa::actors::connect, joins with (join, id) and answers every (deliver, payload) in kind until stdin closes.
int run_round_client(const role_args& a) {
  const auto cfg = net_config(a.tls, a.certs, "client");
  caf::actor_system_config sys_cfg;
  configure(sys_cfg, cfg);
  {
    caf::actor_system sys{sys_cfg};
    auto echo = sys.spawn(echo_actor);
    // CAF 0.17.6 closes a connection still handshaking at its first heartbeat tick (connection_timeout; see
    // docs/deployment.md, and actors/node.cpp connect_until, which retries the same way): when many
    // processes start at once on a loaded machine, said on stderr and tried again (twice).
    auto agg = elsa::actors::connect(sys, cfg, "127.0.0.1", a.port);
    for (int retry = 0; retry < 2 && !agg; ++retry) {
      std::fprintf(stderr, "round client %u: connecting failed (%s); trying again\n", a.id,
                   sys.render(agg.error()).c_str());
      agg = elsa::actors::connect(sys, cfg, "127.0.0.1", a.port);
    }
    if (!agg) {
      caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
      say_to_parent("error " + sys.render(agg.error()));
      die("round client: cannot connect: " + sys.render(agg.error()));
    }
    caf::send_as(echo, *agg, msg::join_atom::value, a.id);
    say_to_parent("joined");
    wait_for_parent();
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  }
  std::fflush(stdout);
  std::_Exit(0);
}

// -- the driver side ------------------------------------------------------------------------------------------

struct options {
  bool quick = false;
  std::string only;  // "" = everything
  std::vector<bool> modes{false, true};  // tls off, on
  int reps = 7;
  double rep_target_s = 0.5;
  double idle_s = 10;
  int rounds = 9;
};

bool wants(const options& o, const char* what) {
  return o.only.empty() || o.only == what;
}

const char* sec_name(bool tls) {
  return tls ? "tls" : "plain";
}

// A server process and this process's two ways to it: the CAF driver and a raw channel.
struct pair_session {
  bool tls = false;
  child_proc server;
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor driver;
  std::vector<double> samples;
  SSL_CTX* ctx = nullptr;
  raw_channel raw;
  std::vector<char> raw_in;                   // reply buffer, max size, touched once
  std::map<std::size_t, std::vector<char>> raw_out;  // [u64 n][n bytes] per size, built once
  std::map<std::size_t, payload> caf_out;            // per size, built once
};

void open_session(pair_session& s, bool tls, const fs::path& certs, bool with_raw) {
  s.tls = tls;
  s.server = spawn_child({"--role", "echo", "--tls", tls ? "on" : "off", "--raw", with_raw ? "on" : "off",
                          "--certs", certs.string()});
  const auto line = read_line(s.server, 60);
  unsigned caf_port = 0, raw_port = 0;
  if (std::sscanf(line.c_str(), "ports %u %u", &caf_port, &raw_port) != 2)
    die("the echo server did not start (said: \"" + line + "\")");
  const auto cfg = net_config(tls, certs, "client");
  s.sys_cfg = std::make_unique<caf::actor_system_config>();
  configure(*s.sys_cfg, cfg);
  s.sys = std::make_unique<caf::actor_system>(*s.sys_cfg);
  auto server = elsa::actors::connect(*s.sys, cfg, "127.0.0.1", static_cast<uint16_t>(caf_port));
  if (!server)
    die("cannot connect to the echo server's actor: " + s.sys->render(server.error()));
  s.driver = s.sys->spawn(driver_actor, *server, &s.samples);
  if (with_raw) {
    if (tls)
      s.ctx = make_tls_context(false, {certs, "client"});
    s.raw = raw_connect(static_cast<uint16_t>(raw_port), s.ctx);
  }
}

void close_session(pair_session& s) {
  s.raw.close_all();
  if (s.ctx != nullptr)
    SSL_CTX_free(s.ctx);
  s.ctx = nullptr;
  if (s.driver)
    caf::anon_send_exit(s.driver, caf::exit_reason::user_shutdown);
  s.driver = nullptr;
  std::vector<child_proc> cs{s.server};
  stop_children(cs);
  s.sys.reset();  // after the server went: the connection's end is then a plain disconnect
  s.sys_cfg.reset();
}

void prepare_size(pair_session& s, std::size_t n) {
  if (!s.caf_out.count(n))
    s.caf_out.emplace(n, make_payload(n, 3 + n));
  if (!s.raw_out.count(n)) {
    std::vector<char> buf(n + sizeof(uint64_t));
    const uint64_t len = n;
    std::memcpy(buf.data(), &len, sizeof(len));
    std::memcpy(buf.data() + sizeof(len), s.caf_out.at(n).data(), n);
    s.raw_out.emplace(n, std::move(buf));
  }
  if (s.raw_in.size() < n) {
    s.raw_in.resize(n);
    std::memset(s.raw_in.data(), 1, n);
  }
}

// K request/reply pairs through the actors; seconds.
double run_caf(pair_session& s, std::size_t n, uint64_t k, bool sampling) {
  caf::scoped_actor self{*s.sys};
  std::string err;
  const auto t0 = clock_type::now();
  self->request(s.driver, std::chrono::seconds(3600), msg::start_atom::value, s.caf_out.at(n), k, sampling)
    .receive([](bool) {}, [&](caf::error& e) { err = s.sys->render(e); });
  const double t = seconds_since(t0);
  if (!err.empty())
    die(fmt::format("actor path ({}, {} bytes): {}", sec_name(s.tls), n, err));
  return t;
}

// K request/reply pairs over the raw channel; seconds.
double run_raw(pair_session& s, std::size_t n, uint64_t k, bool sampling) {
  const auto& out = s.raw_out.at(n);
  const auto t0 = clock_type::now();
  for (uint64_t i = 0; i < k; ++i) {
    const auto sent = clock_type::now();
    uint64_t len = 0;
    if (!s.raw.write_full(out.data(), out.size()) || !s.raw.read_full(&len, sizeof(len)) || len != n
        || !s.raw.read_full(s.raw_in.data(), n))
      die(fmt::format("raw path ({}, {} bytes): the connection failed", sec_name(s.tls), n));
    if (sampling)
      s.samples.push_back(seconds_since(sent));
  }
  return seconds_since(t0);
}

// Seconds per pair of one path: doubles the pairs until a run takes at least `min_s`.
template <class Fn>
double seconds_per_pair(Fn&& run, double min_s) {
  for (uint64_t k = 1;; k *= 2) {
    const double t = run(k);
    if (t >= min_s || k >= (uint64_t{1} << 20))
      return t / static_cast<double>(k);
  }
}

struct rep_measure {
  double seconds = 0;
  double cpu_s = 0;   // this process + the server process
  double faults = 0;  // minor page faults, both processes
};

// Before every timed rep: CAF's idle scheduler workers poll every 50 us for a while after their last job
// (libcaf_core/caf/policy/work_stealing.hpp, moderate phase) before they block; a pause lets whichever path
// ran before go quiet so it does not eat into the next rep's CPU. Both paths get it.
void settle() {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

template <class Fn>
rep_measure measured(pair_session& s, Fn&& fn) {
  settle();
  const auto a0 = self_usage();
  const auto b0 = child_usage(s.server.pid);
  rep_measure m;
  m.seconds = fn();
  const auto a1 = self_usage();
  const auto b1 = child_usage(s.server.pid);
  m.cpu_s = (a1.cpu_s - a0.cpu_s) + (b1.cpu_s - b0.cpu_s);
  m.faults = (a1.minflt - a0.minflt) + (b1.minflt - b0.minflt);
  return m;
}

struct throughput_row {
  std::size_t size;
  bool tls;
  uint64_t pairs;
  std::vector<double> caf_mbs, raw_mbs, ratios, caf_cpu_per_gb, raw_cpu_per_gb, caf_faults, raw_faults;
};

throughput_row throughput(pair_session& s, std::size_t n, const options& o) {
  prepare_size(s, n);
  // Warm-up (first-use allocations on both sides), then K from the slower path's time per pair.
  run_caf(s, n, 2, false);
  run_raw(s, n, 2, false);
  const double per_pair = std::max(seconds_per_pair([&](uint64_t k) { return run_caf(s, n, k, false); }, 0.1),
                                   seconds_per_pair([&](uint64_t k) { return run_raw(s, n, k, false); }, 0.1));
  const auto k = static_cast<uint64_t>(std::clamp(o.rep_target_s / per_pair, 3.0, 100000.0));
  throughput_row row{n, s.tls, k, {}, {}, {}, {}, {}, {}, {}};
  const double bytes = 2.0 * static_cast<double>(n) * static_cast<double>(k);
  for (int rep = 0; rep < o.reps; ++rep) {
    rep_measure a, b;
    auto do_caf = [&] { a = measured(s, [&] { return run_caf(s, n, k, false); }); };
    auto do_raw = [&] { b = measured(s, [&] { return run_raw(s, n, k, false); }); };
    if (rep % 2 == 0) {
      do_caf();
      do_raw();
    } else {
      do_raw();
      do_caf();
    }
    row.caf_mbs.push_back(bytes / a.seconds / 1e6);
    row.raw_mbs.push_back(bytes / b.seconds / 1e6);
    row.ratios.push_back(b.seconds / a.seconds);
    row.caf_cpu_per_gb.push_back(a.cpu_s / (bytes / 1e9));
    row.raw_cpu_per_gb.push_back(b.cpu_s / (bytes / 1e9));
    row.caf_faults.push_back(a.faults / static_cast<double>(k));
    row.raw_faults.push_back(b.faults / static_cast<double>(k));
    std::fprintf(stderr, "  %s %s rep %d: actors %.0f MB/s, raw %.0f MB/s\n", sec_name(s.tls),
                 size_label(n).c_str(), rep + 1, row.caf_mbs.back(), row.raw_mbs.back());
  }
  return row;
}

struct latency_row {
  bool tls;
  uint64_t trips;
  std::vector<double> caf_us, raw_us;  // every round trip
  std::vector<double> ratios;          // per rep: median actors / median raw
};

latency_row latency(pair_session& s, const options& o) {
  const std::size_t n = control_bytes;
  prepare_size(s, n);
  run_caf(s, n, 20, false);
  run_raw(s, n, 20, false);
  const double per_trip = std::max(seconds_per_pair([&](uint64_t k) { return run_caf(s, n, k, false); }, 0.1),
                                   seconds_per_pair([&](uint64_t k) { return run_raw(s, n, k, false); }, 0.1));
  const auto k = static_cast<uint64_t>(std::clamp(0.6 * o.rep_target_s / per_trip, 50.0, 20000.0));
  latency_row row{s.tls, k, {}, {}, {}};
  s.samples.reserve(k + 16);
  for (int rep = 0; rep < o.reps; ++rep) {
    std::vector<double> a, b;
    auto do_caf = [&] {
      settle();
      s.samples.clear();
      run_caf(s, n, k, true);
      a = s.samples;
    };
    auto do_raw = [&] {
      settle();
      s.samples.clear();
      run_raw(s, n, k, true);
      b = s.samples;
    };
    if (rep % 2 == 0) {
      do_caf();
      do_raw();
    } else {
      do_raw();
      do_caf();
    }
    row.ratios.push_back(median(a) / median(b));
    for (double x : a)
      row.caf_us.push_back(x * 1e6);
    for (double x : b)
      row.raw_us.push_back(x * 1e6);
  }
  return row;
}

// Idle: a server process with one connected client and nothing to say for `idle_s` seconds (heartbeats
// every [network] heartbeat_ms as in `elsa node`); CPU of both processes over that window.
struct idle_row {
  bool tls;
  double seconds, server_pct, client_pct;
};

idle_row idle(bool tls, const fs::path& certs, const options& o) {
  pair_session s;
  open_session(s, tls, certs, false);
  prepare_size(s, control_bytes);
  run_caf(s, control_bytes, 10, false);  // the connection is up and used once
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto a0 = self_usage();
  const auto b0 = child_usage(s.server.pid);
  const auto t0 = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_s));
  const double t = seconds_since(t0);
  const auto a1 = self_usage();
  const auto b1 = child_usage(s.server.pid);
  run_caf(s, control_bytes, 1, false);  // still connected
  close_session(s);
  return {tls, t, 100 * (b1.cpu_s - b0.cpu_s) / t, 100 * (a1.cpu_s - a0.cpu_s) / t};
}

// Transport-only rounds: this process is the aggregator, N client processes.
struct round_row {
  std::size_t clients, size;
  bool tls;
  std::vector<double> seconds;
  std::vector<double> cpu_s;   // all processes, per round
  std::vector<double> agg_faults, client_faults;  // minor page faults per round: this process, all clients
  double flower_lo, flower_hi, target;
};

round_row rounds(std::size_t n_clients, std::size_t size, bool tls, const fs::path& certs, const options& o,
                 double flower_lo, double flower_hi, double target) {
  round_row row{n_clients, size, tls, {}, {}, {}, {}, flower_lo, flower_hi, target};
  const auto cfg = net_config(tls, certs, "server");
  caf::actor_system_config sys_cfg;
  configure(sys_cfg, cfg);
  std::vector<child_proc> clients;
  {
    caf::actor_system sys{sys_cfg};
    auto agg = sys.spawn(aggregator_actor, n_clients);
    auto port = elsa::actors::listen(sys, cfg, caf::actor_cast<caf::actor>(agg), "127.0.0.1", 0);
    if (!port)
      die("aggregator: cannot listen: " + sys.render(port.error()));
    const auto t_start = clock_type::now();
    // Started 4 at a time (each batch joined before the next starts): 32 processes loading at once on 2 cores
    // starve TLS handshakes past CAF's first heartbeat tick (see run_round_client).
    constexpr std::size_t batch = 4;
    for (std::size_t first = 0; first < n_clients; first += batch) {
      const auto last = std::min(n_clients, first + batch);
      for (std::size_t i = first; i < last; ++i)
        clients.push_back(spawn_child({"--role", "round-client", "--tls", tls ? "on" : "off", "--certs",
                                       certs.string(), "--port", std::to_string(*port), "--id", std::to_string(i)}));
      for (std::size_t i = first; i < last; ++i) {
        const auto line = read_line(clients[i], 120);
        if (line != "joined")
          die("a round client did not join (said: \"" + line + "\")");
      }
    }
    caf::scoped_actor self{sys};
    std::string err;
    self->request(agg, std::chrono::seconds(120), msg::ready_atom::value)
      .receive([](bool) {}, [&](caf::error& e) { err = sys.render(e); });
    if (!err.empty())
      die("aggregator: not every client joined: " + err);
    std::fprintf(stderr, "  %zu %s clients up in %.1f s\n", n_clients, sec_name(tls), seconds_since(t_start));
    const auto down = make_payload(size, 5 + size);
    const auto clients_usage = [&] {
      proc_usage u;
      for (auto& c : clients) {
        const auto uc = child_usage(c.pid);
        u.cpu_s += uc.cpu_s;
        u.minflt += uc.minflt;
      }
      return u;
    };
    for (int r = 0; r <= o.rounds; ++r) {  // round 0 warms up
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the last round's idle polling ends
      const auto a0 = self_usage();
      const auto c0 = clients_usage();
      double secs = 0;
      self->request(agg, std::chrono::seconds(600), msg::open_round_atom::value, down)
        .receive([&](double s) { secs = s; }, [&](caf::error& e) { err = sys.render(e); });
      if (!err.empty())
        die(fmt::format("round {} ({} clients x {}, {}): {}", r, n_clients, size_label(size), sec_name(tls), err));
      const auto a1 = self_usage();
      const auto c1 = clients_usage();
      if (r > 0) {
        row.seconds.push_back(secs);
        row.cpu_s.push_back((a1.cpu_s - a0.cpu_s) + (c1.cpu_s - c0.cpu_s));
        row.agg_faults.push_back(a1.minflt - a0.minflt);
        row.client_faults.push_back(c1.minflt - c0.minflt);
      }
      std::fprintf(stderr, "  %zu x %s %s round %d: %.3f s\n", n_clients, size_label(size).c_str(), sec_name(tls),
                   r, secs);
    }
    caf::anon_send_exit(agg, caf::exit_reason::user_shutdown);
    if (stop_children(clients) != 0)
      std::fprintf(stderr, "elsa_transport_benchmark: some round clients did not exit cleanly\n");
  }
  return row;
}

// The 1-minute load average: the machine is shared, so the output says how busy it was.
std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  f >> one;
  return one.empty() ? "?" : one;
}

void usage_and_exit() {
  std::fprintf(stderr,
               "usage: elsa_transport_benchmark [--quick] [--only throughput|latency|idle|rounds] "
               "[--tls on|off|both] [--data-plane on|off]\n");
  std::exit(2);
}

int driver_main(const options& o) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::atexit(kill_all_children);
  const bool any_tls = std::find(o.modes.begin(), o.modes.end(), true) != o.modes.end();
  char tmpl[] = "/tmp/elsa-transport-certs-XXXXXX";
  if (mkdtemp(tmpl) == nullptr)
    die("mkdtemp failed");
  const fs::path certs = tmpl;
  certs_dir = certs;
  if (any_tls) {
    const auto cmd = fmt::format("bash '{}/scripts/make_certs.sh' '{}' server client >/dev/null", ELSA_SOURCE_DIR,
                                 certs.string());
    if (std::system(cmd.c_str()) != 0) {
      fs::remove_all(certs);
      die("scripts/make_certs.sh failed (it needs the openssl command)");
    }
  }
  const auto t_all = clock_type::now();
  const auto load_at_start = load_average();
  fmt::print("transport: CAF 0.17.6 actor path (elsa::actors::listen/connect, BASP, 2 scheduler threads; data "
             "plane {}) vs blocking loopback\nsockets, between processes; {} cores; {} reps per comparison, {} "
             "rounds{}; MB = 1e6 bytes\n",
             data_plane_on ? "on: payloads >= 64 KiB beside BASP" : "off: everything through BASP",
             std::thread::hardware_concurrency(), o.reps, o.rounds, o.quick ? " (--quick)" : "");

  // -- throughput and latency: one server process per security mode -------------------------------------------
  std::vector<throughput_row> tput;
  std::vector<latency_row> lat;
  std::string raw_cipher;
  if (wants(o, "throughput") || wants(o, "latency")) {
    for (bool tls : o.modes) {
      pair_session s;
      open_session(s, tls, certs, true);
      if (tls && s.raw.ssl != nullptr)
        raw_cipher = fmt::format("{} {}", SSL_get_version(s.raw.ssl), SSL_get_cipher_name(s.raw.ssl));
      if (wants(o, "throughput"))
        for (auto n : {activation_bytes, big_bytes})
          tput.push_back(throughput(s, n, o));
      if (wants(o, "latency"))
        lat.push_back(latency(s, o));
      close_session(s);
    }
  }
  if (!tput.empty()) {
    fmt::print("\nthroughput: request + reply of the same size, K pairs back to back per rep, actors and raw "
               "interleaved;\nMB/s = 2 x size x K / seconds (median [min-max] over reps); ratio = actors/raw per "
               "rep (target >= 0.8)\ncpu s/GB: both processes' user+sys CPU per GB moved; faults: minor page "
               "faults per pair, both processes\n");
    fmt::print("(590,024 B: the quickstart's forward message, 8 x 96 x 192 f32 activations + envelope)\n");
    fmt::print("{:>11} {:>5} {:>7} {:>6} {:>22} {:>8} {:>7} {:>19}\n", "size", "sec", "path", "pairs",
               "MB/s median [min-max]", "cpu s/GB", "faults", "ratio med [min-max]");
    for (const auto& r : tput) {
      const auto raw_name = r.tls ? "raw tls" : "raw tcp";
      fmt::print("{:>11} {:>5} {:>7} {:>6} {:>8.0f} [{:>5.0f}-{:>5.0f}] {:>8.2f} {:>7.1f} {:>6.2f} [{:.2f}-{:.2f}]\n",
                 size_label(r.size), sec_name(r.tls), "actors", r.pairs, median(r.caf_mbs),
                 *std::min_element(r.caf_mbs.begin(), r.caf_mbs.end()),
                 *std::max_element(r.caf_mbs.begin(), r.caf_mbs.end()), median(r.caf_cpu_per_gb),
                 median(r.caf_faults), median(r.ratios), *std::min_element(r.ratios.begin(), r.ratios.end()),
                 *std::max_element(r.ratios.begin(), r.ratios.end()));
      fmt::print("{:>11} {:>5} {:>7} {:>6} {:>8.0f} [{:>5.0f}-{:>5.0f}] {:>8.2f} {:>7.1f}\n", "", "", raw_name,
                 r.pairs, median(r.raw_mbs), *std::min_element(r.raw_mbs.begin(), r.raw_mbs.end()),
                 *std::max_element(r.raw_mbs.begin(), r.raw_mbs.end()), median(r.raw_cpu_per_gb),
                 median(r.raw_faults));
    }
    for (const auto& r : tput)
      if (median(r.ratios) < 0.8)
        fmt::print("BELOW TARGET: actors/raw = {:.2f} at {} {} (target >= 0.8)\n", median(r.ratios),
                   size_label(r.size), sec_name(r.tls));
    if (!raw_cipher.empty())
      fmt::print("raw tls: {} (mutual, the same certificates as the actors' connection)\n", raw_cipher);
  }
  if (!lat.empty()) {
    fmt::print("\nround trip of a {}-byte payload (forward, payload -> payload), one at a time; microseconds over "
               "every trip of every rep\n",
               control_bytes);
    fmt::print("{:>5} {:>7} {:>7} {:>9} {:>8} {:>8} {:>19}\n", "sec", "path", "trips", "median us", "p10", "p90",
               "actors/raw med");
    for (const auto& r : lat) {
      fmt::print("{:>5} {:>7} {:>7} {:>9.1f} {:>8.1f} {:>8.1f} {:>8.2f} [{:.2f}-{:.2f}]\n", sec_name(r.tls), "actors",
                 r.caf_us.size(), median(r.caf_us), quantile(r.caf_us, 0.1), quantile(r.caf_us, 0.9),
                 median(r.ratios), *std::min_element(r.ratios.begin(), r.ratios.end()),
                 *std::max_element(r.ratios.begin(), r.ratios.end()));
      fmt::print("{:>5} {:>7} {:>7} {:>9.1f} {:>8.1f} {:>8.1f}\n", "", r.tls ? "raw tls" : "raw tcp", r.raw_us.size(),
                 median(r.raw_us), quantile(r.raw_us, 0.1), quantile(r.raw_us, 0.9));
    }
  }
  std::fflush(stdout);

  // -- idle ---------------------------------------------------------------------------------------------------
  if (wants(o, "idle")) {
    std::vector<idle_row> rows;
    for (bool tls : o.modes)
      rows.push_back(idle(tls, certs, o));
    fmt::print("\nidle: one server process with one connected client process, no messages but the middleman's "
               "heartbeats (1 s);\nuser+sys CPU over the window as % of one core\n");
    fmt::print("{:>5} {:>9} {:>10} {:>10}\n", "sec", "window s", "server %", "client %");
    for (const auto& r : rows)
      fmt::print("{:>5} {:>9.1f} {:>10.2f} {:>10.2f}\n", sec_name(r.tls), r.seconds, r.server_pct, r.client_pct);
    std::fflush(stdout);
  }

  // -- transport-only rounds ----------------------------------------------------------------------------------
  if (wants(o, "rounds")) {
    struct spec {
      std::size_t clients, size;
      double lo, hi, target;
    };
    const std::vector<spec> specs{{8, round_big_bytes, 1.0, 1.2, 3.0},
                                  {8, round_small_bytes, 0.07, 0.08, 2.0},
                                  {32, round_small_bytes, 0.25, 0.27, 2.0}};
    std::vector<round_row> rows;
    for (const auto& sp : specs)
      for (bool tls : o.modes)
        rows.push_back(rounds(sp.clients, sp.size, tls, certs, o, sp.lo, sp.hi, sp.target));
    fmt::print("\nrounds, transport only: 1 aggregator process + N client processes (one CAF process each); a round: "
               "the aggregator\nsends every client S bytes (deliver, request) and waits for all N replies of S bytes; "
               "median [min-max] of {} rounds\nafter 1 warm-up, each after a 0.1 s pause; cpu s: all processes' user+sys "
               "CPU per round; faults: minor page faults per\nround, aggregator + all clients; x Flower: Flower 1.5 gRPC's s/round (measured "
               "elsewhere, midpoint of the range) / ours\n",
               o.rounds);
    fmt::print("{:>7} {:>11} {:>5} {:>22} {:>6} {:>13} {:>11} {:>8} {:>7}\n", "clients", "S", "sec",
               "s/round [min-max]", "cpu s", "faults", "Flower s", "x Flower", "target");
    for (const auto& r : rows) {
      const double med = median(r.seconds);
      const double mid = 0.5 * (r.flower_lo + r.flower_hi);
      const auto faults = fmt::format("{:.0f}+{:.0f}", median(r.agg_faults), median(r.client_faults));
      fmt::print("{:>7} {:>11} {:>5} {:>7.3f} [{:.3f}-{:.3f}] {:>6.2f} {:>13} {:>4.2f}-{:<4.2f} {:>7.1f}x {:>6.0f}x{}\n",
                 r.clients, size_label(r.size), sec_name(r.tls), med,
                 *std::min_element(r.seconds.begin(), r.seconds.end()),
                 *std::max_element(r.seconds.begin(), r.seconds.end()), median(r.cpu_s), faults, r.flower_lo,
                 r.flower_hi, mid / med, r.target, mid / med >= r.target ? "" : "  BELOW TARGET");
      std::string series;
      for (double x : r.seconds)
        series += fmt::format(" {:.3f}", x);
      fmt::print("{:>25} rounds 1-{} (s):{}\n", "", r.seconds.size(), series);
    }
  }
  fmt::print("\nwall time {:.0f} s; 1-minute load average {} at the start (a shared machine)\n", seconds_since(t_all),
             load_at_start);
  std::fflush(stdout);
  fs::remove_all(certs);
  certs_dir.clear();
  kill_all_children();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "--role") {
    role_args a;
    for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
      const auto& k = args[i];
      const auto& v = args[i + 1];
      if (k == "--role")
        a.role = v;
      else if (k == "--tls")
        a.tls = v == "on";
      else if (k == "--raw")
        a.raw = v == "on";
      else if (k == "--certs")
        a.certs = v;
      else if (k == "--port")
        a.port = static_cast<uint16_t>(std::stoi(v));
      else if (k == "--id")
        a.id = static_cast<uint32_t>(std::stoul(v));
      else if (k == "--data-plane")
        data_plane_on = v == "on";
    }
    try {
      if (a.role == "echo")
        return run_echo_server(a);
      if (a.role == "round-client")
        return run_round_client(a);
    } catch (const std::exception& e) {
      die(a.role + ": " + e.what());
    }
    die("unknown role " + a.role);
  }
  options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--only" && i + 1 < args.size()) {
      o.only = args[++i];
      if (o.only != "throughput" && o.only != "latency" && o.only != "idle" && o.only != "rounds")
        usage_and_exit();
    } else if (a == "--data-plane" && i + 1 < args.size()) {
      const auto& v = args[++i];
      if (v != "on" && v != "off")
        usage_and_exit();
      data_plane_on = v == "on";
    } else if (a == "--tls" && i + 1 < args.size()) {
      const auto& v = args[++i];
      if (v == "on")
        o.modes = {true};
      else if (v == "off")
        o.modes = {false};
      else if (v == "both")
        o.modes = {false, true};
      else
        usage_and_exit();
    } else {
      usage_and_exit();
    }
  }
  if (o.quick) {
    o.reps = 3;
    o.rep_target_s = 0.15;
    o.idle_s = 3;
    o.rounds = 3;
  }
  try {
    return driver_main(o);
  } catch (const std::exception& e) {
    die(e.what());
  }
}
