#include "aiusage/civet_transport.hpp"

#include <civetweb.h>

#include <dlfcn.h>
#include <linux/sockios.h>
#include <malloc.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "aiusage/log.hpp"
#include "civet_socket.hpp"
#include "civet_wire.hpp"

namespace aiusage {

struct CivetTransport::Impl {
  TransportOptions options;
  Serve serve;
  Refusal refusal;
  BodyWatchdog watchdog;
  mg_context* ctx = nullptr;
  int port = 0;
};

namespace {

using Impl = CivetTransport::Impl;

bool closes(const Response& r) {
  return std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
    return strcasecmp(h.first.c_str(), "Connection") == 0 && h.second == "close";
  });
}

// A refusal after which the rest of the request is not read: the connection must not be reused.
Response closing(const Impl& t, int status, const std::string& message) {
  Response r = t.refusal(status, message);
  if (!closes(r)) r.headers.push_back({"Connection", "close"});
  return r;
}

const char* path_of(const mg_request_info* ri) { return ri->local_uri ? ri->local_uri : ""; }

// Sends a streamed body as HTTP/1.1 chunks (HTTP/1.0: raw, ended by the close). A body cut short
// gets no end and its socket is shut, so the client sees it incomplete and it is not reused.
void send_stream(mg_connection* conn, const Response& r, bool chunked) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const BodySink sink = [conn, chunked](std::string_view piece) {
    if (chunked) return mg_send_chunk(conn, piece.data(), static_cast<unsigned>(piece.size())) > 0;
    return mg_write(conn, piece.data(), piece.size()) == static_cast<int>(piece.size());
  };
  bool complete = false;
  try {
    complete = r.stream(sink);
  } catch (const std::exception& e) {
    log::error("response cut short", {{"path", path_of(ri)}, {"err", e.what()}});
  }
  if (complete && chunked) complete = mg_send_chunk(conn, "", 0) > 0;
  if (!complete || !chunked) {
    const int fd = socket_of(conn, ri);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
  }
}

// Whether the connection stays open after this response (CivetWeb runs with keep-alive on).
bool keeps_alive(mg_connection* conn, bool http10) {
  const char* c = mg_get_header(conn, "Connection");
  const std::string v = c ? c : "";
  auto has = [&](const char* token) {
    return std::search(v.begin(), v.end(), token, token + std::strlen(token), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           }) != v.end();
  };
  return http10 ? has("keep-alive") : !has("close");
}

// A whole response as one string: status line, the transport's headers, `r`'s, the body.
std::string wire(const Response& r, bool head, bool keep_alive) {
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  std::string out;
  out.reserve(256 + (head ? 0 : r.body.size()));
  // CivetWeb reads the connection only to log a code it does not know.
  out += "HTTP/1.1 " + std::to_string(r.status) + " " +
         mg_get_response_code_text(nullptr, r.status) + "\r\nContent-Type: " + r.content_type +
         "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\nCache-Control: no-store\r\n";
  bool connection = false;  // a handler may close the connection itself
  for (const auto& [k, v] : r.headers) {
    out += k + ": " + v + "\r\n";
    connection = connection || strcasecmp(k.c_str(), "Connection") == 0;
  }
  out += std::string("Date: ") + date + "\r\n";
  if (!connection)
    out += std::string("Connection: ") + (keep_alive ? "keep-alive" : "close") + "\r\n";
  out += "\r\n";
  if (!head) out += r.body;
  return out;
}

// A whole response in one write: CivetWeb's header functions send every header line on its own
// (eight sends for a small JSON answer), which costs more than the rest of a one-record ingest.
void send_whole(mg_connection* conn, const Response& r, bool head, bool http10) {
  const std::string out = wire(r, head, keeps_alive(conn, http10));
  mg_write(conn, out.data(), out.size());
}

// An answer promised by answer_later(), from any thread: one non-blocking send (the socket's
// queue was empty when it was promised). An answer it cannot send whole, or a closing one, ends
// the connection: the client sees it cut short, and a retry with the same ids is counted once.
void send_later(Connection& c, const Response& r) noexcept {
  bool whole = false, closing = true;
  try {
    const std::string out = wire(r, false, true);
    std::size_t sent = 0;
    while (sent < out.size()) {
      const ssize_t n =
          ::send(c.fd, out.data() + sent, out.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0)
        sent += static_cast<std::size_t>(n);
      else if (n >= 0 || errno != EINTR)
        break;
    }
    whole = sent == out.size();
    closing = closes(r);
    if (!whole)
      log::warn("answer cut short; connection closed", {{"status", std::to_string(r.status)}});
  } catch (...) {  // out of memory: closed unanswered
  }
  if (!whole || closing) ::shutdown(c.fd, SHUT_RDWR);
  c.end_answer();
}

// The promise behind a responder: dropped unanswered (its holder failed), the connection is
// closed, so neither the client nor the worker waits for an answer that will not come.
struct Promised {
  explicit Promised(Connection& c) : connection(c) {}
  Promised(const Promised&) = delete;
  Promised& operator=(const Promised&) = delete;
  Connection& connection;
  bool answered = false;
  ~Promised() {
    if (answered) return;
    ::shutdown(connection.fd, SHUT_RDWR);
    connection.end_answer();
  }
};

void send(mg_connection* conn, const Response& r, bool head) {
  const bool http10 = std::string(mg_get_request_info(conn)->http_version) == "1.0";
  if (!r.stream) return send_whole(conn, r, head, http10);
  mg_response_header_start(conn, r.status);
  mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
  // Not mg_send_http_ok(conn, type, -1): it would add its own Cache-Control, Expires and Pragma.
  if (!http10)
    mg_response_header_add(conn, "Transfer-Encoding", "chunked", -1);
  else
    mg_response_header_add(conn, "Connection", "close", -1);  // HTTP/1.0 has no chunks
  mg_response_header_add(conn, "Cache-Control", "no-store", -1);
  for (const auto& [k, v] : r.headers) mg_response_header_add(conn, k.c_str(), v.c_str(), -1);
  mg_response_header_send(conn);
  if (!head) send_stream(conn, r, !http10);
}

// Sends `r`; a closing answer, or one sent while the client holds its body back for a 100, ends
// the connection: nothing after it is read or run. Returns its status.
int answer(mg_connection* conn, Response r, bool head, const ContinueGate* gate) {
  const bool withheld = gate != nullptr && gate->withheld();
  if (withheld && !closes(r)) r.headers.push_back({"Connection", "close"});
  send(conn, r, head);
  if (withheld || closes(r))
    end_connection_after_answer(conn, socket_of(conn, mg_get_request_info(conn)));
  return r.status;
}

class CivetExchange final : public Exchange {
 public:
  CivetExchange(mg_connection* conn, const mg_request_info* ri, ContinueGate& gate, Impl& t)
      : Exchange(ri->request_method, ri->local_uri ? ri->local_uri : "/",
                 ri->query_string ? ri->query_string : "", ri->remote_addr),
        conn_(conn),
        ri_(ri),
        gate_(gate),
        transport_(t) {}

  const char* header(const char* name) const override { return mg_get_header(conn_, name); }
  std::optional<std::size_t> content_length() const override {
    if (ri_->content_length < 0) return std::nullopt;
    return static_cast<std::size_t>(ri_->content_length);
  }
  void begin_body(std::chrono::steady_clock::time_point deadline) override {
    gate_.open();
    const int fd = socket_of(conn_, ri_);
    if (fd >= 0) armed_.emplace(transport_.watchdog, fd, deadline);
  }
  long read_body(char* buffer, std::size_t size) override {
    const int n = mg_read(conn_, buffer, size);
    if (n <= 0) armed_.reset();
    return n;
  }
  Responder answer_later() override {
    Connection* c = connection_of(conn_);
    if (answered_ || c == nullptr || ri_->is_ssl || gate_.withheld() || method() == "HEAD" ||
        std::strcmp(ri_->http_version, "1.1") != 0 || !keeps_alive(conn_, false))
      return {};
    const int fd = socket_of(conn_, ri_);
    int unsent = -1;  // bytes of earlier answers still queued: then a send might not fit
    if (fd < 0 || ioctl(fd, SIOCOUTQ, &unsent) != 0 || unsent != 0) return {};
    armed_.reset();
    answered_ = true;
    status_ = 200;  // for CivetWeb only: the answer is sent by the responder
    c->begin_answer();
    auto promised = std::make_shared<Promised>(*c);
    return [promised](Response r) {
      if (std::exchange(promised->answered, true)) return;  // once
      send_later(promised->connection, r);
    };
  }
  void respond(Response r) override {
    armed_.reset();
    if (answered_) return;
    answered_ = true;
    status_ = answer(conn_, std::move(r), method() == "HEAD", &gate_);
  }
  // 0 until answered.
  int status() const { return status_; }

 private:
  mg_connection* conn_;
  const mg_request_info* ri_;
  ContinueGate& gate_;
  Impl& transport_;
  std::optional<BodyWatchdog::Armed> armed_;
  bool answered_ = false;
  int status_ = 0;
};

Impl& transport_of(const mg_connection* conn) {
  return *static_cast<Impl*>(mg_get_user_data(mg_get_context(conn)));
}

// The answer's status (CivetWeb ends a connection after a 401 by it).
int serve(mg_connection* conn, Impl& t) {
  // Answers go in request order: a pipelined request waits for the one promised before it.
  if (Connection* c = connection_of(conn)) c->wait_answered();
  const mg_request_info* ri = mg_get_request_info(conn);
  const bool head = std::string(ri->request_method) == "HEAD";
  if (auto bad = check_framing(*ri))
    return answer(conn, closing(t, bad->status, bad->message), head, nullptr);
  ContinueGate gate(conn);
  if (auto bad = gate.refusal())
    return answer(conn, closing(t, bad->status, bad->message), head, nullptr);
  CivetExchange exchange(conn, ri, gate, t);
  t.serve(exchange);
  if (exchange.status() == 0) exchange.respond(t.refusal(500, "the request was not answered"));
  return exchange.status();
}

int handle_request(mg_connection* conn, void* data) {
  try {
    return serve(conn, *static_cast<Impl*>(data));
  } catch (const std::bad_alloc&) {
    // Not even the answer fitted in memory: the connection ends without one.
    end_connection_after_answer(conn, -1);
    return 503;
  }
}

// CivetWeb's own refusals (a request it cannot read: malformed, or headers over the size limit)
// get the service's error body; the connection closes after them.
int http_error(mg_connection* conn, int status, const char* message) try {
  const Impl& t = transport_of(conn);
  if (Connection* c = connection_of(conn)) c->wait_answered();
  // CivetWeb 1.15 says 411 for a Content-Length it cannot read ("-1", ""): that is a 400.
  if (status == 411) {
    status = 400;
    message = "Content-Length is not a decimal number of bytes";
  }
  std::string text = "cannot read the request (";
  text +=
      message != nullptr && *message != '\0' ? message : mg_get_response_code_text(conn, status);
  text += "): the request line and headers must be valid HTTP/1.x within " +
          std::to_string(t.options.max_header_bytes) + " bytes";
  send_whole(conn, closing(t, status, text), false, false);
  return 0;
} catch (const std::bad_alloc&) {
  return 1;  // out of memory: CivetWeb's own plain answer
}

// CivetWeb closes a request for "*" without calling any handler: it gets its answer here.
// Its request info is this connection's only once init_connection ran: a failed TLS handshake
// closes a connection whose request info still holds the worker's previous, dangling pointers.
void connection_close(const mg_connection* c) {
  auto* conn = const_cast<mg_connection*>(c);
  if (!close_connection(conn) || !is_asterisk_request(*mg_get_request_info(conn))) return;
  try {
    send_whole(conn,
               closing(transport_of(conn), 400,
                       "request target \"*\" is not supported; use a path such as /"),
               false, false);
  } catch (const std::bad_alloc&) {  // out of memory: closed unanswered, as CivetWeb would
  }
}

int log_message(const mg_connection*, const char* message) {
  log::warn("http server", {{"err", message}});
  return 1;
}

// Loads src/http/civet/tls_compat.cpp's shim (next to the binary, or where it was built) before
// CivetWeb opens OpenSSL; unneeded when the system's libssl.so still exports
// SSL_get_peer_certificate.
void load_tls_compat() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    std::string beside = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : "";
    beside = beside.substr(0, beside.rfind('/') + 1) + "libaiusage-tls-compat.so";
    for (const std::string& path : {beside, std::string(AIUSAGE_TLS_COMPAT_PATH)})
      if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) != nullptr) return;
    void* ssl = dlopen("libssl.so", RTLD_NOW);
    if (ssl != nullptr && dlsym(ssl, "SSL_get_peer_certificate") != nullptr) return;
    error = "TLS needs libaiusage-tls-compat.so beside the binary (CivetWeb 1.15 with OpenSSL 3)";
  });
  if (!error.empty()) throw std::runtime_error(error);
}

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    mg_init_library(0);
    // Buffers of large bodies (and their parsers) are mapped on their own and returned when freed:
    // with glibc's default, which rises to the largest block freed so far, each of its arenas
    // kept freed 10 MiB bodies resident, and the RSS grew far past the body memory budget.
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  });
}

// CivetWeb's idle workers all wait on one condition variable, so one futex hash slot holds them
// all and a wake-up of any other futex in that slot walks past each (Linux >= 6.17 gives a process
// 16 slots on 2 cores). ~8 slots per worker make such collisions rare; older kernels refuse.
void spread_futex_hash(int threads) {
  constexpr int kFutexHash = 78, kSetSlots = 1;  // PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS
  unsigned long slots = 1024;
  while (slots < 8UL * static_cast<unsigned long>(std::max(threads, 1)) && slots < (1UL << 16))
    slots *= 2;
  (void)prctl(kFutexHash, kSetSlots, slots, 0UL);
}

}  // namespace

CivetTransport::CivetTransport(TransportOptions options, Serve serve, Refusal refusal)
    : impl_(std::make_unique<Impl>()) {
  Impl& t = *impl_;
  t.options = std::move(options);
  t.serve = std::move(serve);
  t.refusal = std::move(refusal);
  const TransportOptions& o = t.options;
  const bool tls = !o.tls_certificate.empty();
  if (tls) load_tls_compat();
  init_library();
  spread_futex_hash(o.threads);
  mg_callbacks callbacks{};
  callbacks.log_message = log_message;
  callbacks.init_connection = init_connection;
  callbacks.http_error = http_error;
  callbacks.connection_close = connection_close;
  // CivetWeb marks an HTTPS port with a trailing "s"; with a certificate every port is HTTPS.
  const std::string ports = tls ? o.listen + "s" : o.listen;
  const std::string threads = std::to_string(o.threads);
  const std::string request_timeout = std::to_string(o.request_timeout_ms);
  const std::string max_request = std::to_string(o.max_header_bytes);
  std::vector<const char*> opts = {"listening_ports",       ports.c_str(),
                                   "num_threads",           threads.c_str(),
                                   "listen_backlog",        "4096",  // bursts wait, not dropped
                                   "enable_keep_alive",     "yes",
                                   "tcp_nodelay",           "1",  // headers and body are 2 writes
                                   "keep_alive_timeout_ms", "5000",
                                   "request_timeout_ms",    request_timeout.c_str(),
                                   "max_request_size",      max_request.c_str()};
  if (tls) {
    // ssl_protocol_version 4: TLS 1.2 and later only.
    for (const char* v :
         {"ssl_certificate", o.tls_certificate.c_str(), "ssl_protocol_version", "4"})
      opts.push_back(v);
  }
  opts.push_back(nullptr);
  t.ctx = mg_start(&callbacks, &t, opts.data());  // &t for http_error and connection_close
  if (t.ctx == nullptr)
    throw std::runtime_error("cannot listen on " + o.listen +
                             (tls ? " with certificate " + o.tls_certificate : ""));
  // CivetWeb's own authorization is off (the service authorizes): it looked for a .htpasswd on
  // every request, and one at the file system's root would have demanded digest logins.
  mg_set_auth_handler(
      t.ctx, "/", [](mg_connection*, void*) { return 1; }, nullptr);
  mg_set_request_handler(t.ctx, "/", handle_request, &t);
  mg_server_port ports_out[4];
  int n = mg_get_server_ports(t.ctx, 4, ports_out);
  t.port = n > 0 ? ports_out[0].port : 0;
}

CivetTransport::~CivetTransport() {
  std::atomic<bool> stopped{false};
  std::thread waker([&] {
    while (!stopped) {
      wake_listener(impl_->port);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  mg_stop(impl_->ctx);
  stopped = true;
  waker.join();
}

int CivetTransport::port() const { return impl_->port; }

}  // namespace aiusage
