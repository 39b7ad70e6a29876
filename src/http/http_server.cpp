#include "aiusage/http_server.hpp"

#include <civetweb.h>
#include <prometheus/collectable.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "aiusage/auth.hpp"
#include "aiusage/duration.hpp"
#include "aiusage/exposition.hpp"
#include "aiusage/log.hpp"
#include "aiusage/priority.hpp"
#include "aiusage/reload.hpp"
#include "aiusage/utf8.hpp"
#include "http_wire.hpp"
#include "json_out.hpp"
#include "memory_budget.hpp"
#include "status.hpp"

namespace aiusage {

namespace {

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, writes the body piece by piece instead of `body` (sent chunked); false if cut short.
  std::function<bool(const PageSink&)> stream;
};

Response json_response(int status, std::string body) {
  return {status, "application/json", std::move(body), {}, {}};
}
Response json_error(int status, const std::string& message) {
  return json_response(status, json::error(message));
}

// 503 with Retry-After: the storage cannot serve this now.
Response unavailable(const std::string& message) {
  Response r = json_error(503, message);
  r.headers.push_back({"Retry-After", "1"});
  return r;
}

// An error after which the rest of the request is not read: the connection must not be reused.
Response closing_error(int status, const std::string& message) {
  Response r = json_error(status, message);
  r.headers.push_back({"Connection", "close"});
  return r;
}

Response denied(const AuthDenial& d) {
  Response r = json_error(http_status(d.kind), d.message);
  for (const std::string& c : d.challenges) r.headers.push_back({"WWW-Authenticate", c});
  return r;
}

// Whether `fd` is the connection of `ri`: its peer is the client's address and port, and its
// local port the server's.
bool is_connection_of(int fd, const mg_request_info* ri) {
  sockaddr_storage peer{}, local{};
  socklen_t peer_len = sizeof peer, local_len = sizeof local;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0)
    return false;
  char addr[INET6_ADDRSTRLEN] = "";
  int peer_port = 0, local_port = 0;
  if (peer.ss_family == AF_INET) {
    auto* p = reinterpret_cast<sockaddr_in*>(&peer);
    inet_ntop(AF_INET, &p->sin_addr, addr, sizeof addr);
    peer_port = ntohs(p->sin_port);
    local_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  } else if (peer.ss_family == AF_INET6) {
    auto* p = reinterpret_cast<sockaddr_in6*>(&peer);
    inet_ntop(AF_INET6, &p->sin6_addr, addr, sizeof addr);
    peer_port = ntohs(p->sin6_port);
    local_port = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
  }
  return peer_port == ri->remote_port && local_port == ri->server_port &&
         ri->remote_addr == std::string(addr);
}

// A connection's user data: null before init_connection (and after connection_close), kOpen once
// established, the socket + kOpen + 1 once found.
constexpr std::intptr_t kOpen = 1;

// The accepted socket of a request's connection (CivetWeb does not expose it), or -1. Found once
// per connection and kept as its user data (reset for each new connection by init_connection).
int socket_of(const mg_connection* conn, const mg_request_info* ri) {
  const auto known = reinterpret_cast<std::intptr_t>(mg_get_user_connection_data(conn));
  if (known > kOpen) return static_cast<int>(known - kOpen - 1);
  int last = -1;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(dir)) continue;
    if (is_connection_of(fd, ri)) {
      last = fd;
      break;
    }
  }
  closedir(dir);
  if (last >= 0)
    mg_set_user_connection_data(conn, reinterpret_cast<void*>(std::intptr_t{last} + kOpen + 1));
  return last;
}

// A new connection starts without a known socket.
int init_connection(const mg_connection*, void** conn_data) {
  *conn_data = reinterpret_cast<void*>(kOpen);
  return 0;
}

constexpr int kScrapeNice = 10;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Shuts an armed socket for reading once its deadline passes, so that a blocking mg_read returns
// even while a client trickles bytes; reads can then ask for the whole body at once.
class BodyWatchdog {
 public:
  BodyWatchdog() : thread_([this] { run(); }) {}
  ~BodyWatchdog() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Disarms on destruction; `fd` must stay open while armed.
  class Armed {
   public:
    Armed(BodyWatchdog& w, int fd, std::int64_t deadline_ms)
        : w_(w), ticket_(w.arm(fd, deadline_ms)) {}
    ~Armed() { w_.disarm(ticket_); }
    Armed(const Armed&) = delete;
    Armed& operator=(const Armed&) = delete;

   private:
    BodyWatchdog& w_;
    std::uint64_t ticket_;
  };

 private:
  struct Entry {
    int fd;
    std::int64_t deadline_ms;
  };

  std::uint64_t arm(int fd, std::int64_t deadline_ms) {
    std::lock_guard lock(mutex_);
    armed_[++next_ticket_] = {fd, deadline_ms};
    // Woken only when this deadline comes before its next wake-up: deadlines are armed in
    // nearly increasing order, so most requests cost no context switch here.
    if (deadline_ms < wake_at_) cv_.notify_all();
    return next_ticket_;
  }

  void disarm(std::uint64_t ticket) {
    std::lock_guard lock(mutex_);
    armed_.erase(ticket);
  }

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      std::int64_t next = INT64_MAX;
      const std::int64_t now = steady_ms();
      for (auto it = armed_.begin(); it != armed_.end();) {
        if (it->second.deadline_ms <= now) {
          shutdown(it->second.fd, SHUT_RD);
          it = armed_.erase(it);
        } else {
          next = std::min(next, it->second.deadline_ms);
          ++it;
        }
      }
      wake_at_ = next;
      if (next == INT64_MAX)
        cv_.wait(lock);
      else
        cv_.wait_for(lock, std::chrono::milliseconds(next - now));
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Entry> armed_;
  std::uint64_t next_ticket_ = 0;
  // When the thread wakes by itself (INT64_MAX: never); it holds the lock whenever it is awake.
  std::int64_t wake_at_ = std::numeric_limits<std::int64_t>::min();
  bool stopping_ = false;
  std::thread thread_;
};

using Query = std::map<std::string, std::string>;

// Decodes the query string; refuses parameters not in `allowed` and repeated ones.
Result<Query> parse_query(const char* raw, const std::set<std::string>& allowed) {
  Query q;
  std::string_view s = raw ? raw : "";
  while (!s.empty()) {
    std::size_t amp = s.find('&');
    std::string_view part = s.substr(0, amp);
    s = amp == std::string_view::npos ? std::string_view{} : s.substr(amp + 1);
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    std::string_view rk = part.substr(0, eq);
    std::string_view rv = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    std::string k(rk.size() + 1, '\0'), v(rv.size() + 1, '\0');
    int kn = mg_url_decode(rk.data(), static_cast<int>(rk.size()), k.data(),
                           static_cast<int>(k.size()), 1);
    int vn = mg_url_decode(rv.data(), static_cast<int>(rv.size()), v.data(),
                           static_cast<int>(v.size()), 1);
    if (kn < 0 || vn < 0) return Error{"malformed query string"};
    k.resize(static_cast<std::size_t>(kn));
    v.resize(static_cast<std::size_t>(vn));
    if (!allowed.count(k)) return Error{"unknown query parameter \"" + k + "\""};
    if (v.empty()) return Error{"query parameter \"" + k + "\" must not be empty"};
    if (!valid_utf8(v)) return Error{"query parameter \"" + k + "\" must be valid UTF-8"};
    if (!q.emplace(k, v).second) return Error{"query parameter \"" + k + "\" is repeated"};
  }
  return q;
}

std::optional<std::string> get(const Query& q, const char* name) {
  auto it = q.find(name);
  if (it == q.end()) return std::nullopt;
  return it->second;
}

// A project-bound token reads its own project only: the filter is narrowed to it.
std::optional<std::string> bind_project(const Principal& who, std::optional<std::string>& project) {
  if (!who.project) return std::nullopt;
  if (project && *project != *who.project)
    return "token \"" + who.name + "\" may only read project \"" + *who.project + "\"";
  project = who.project;
  return std::nullopt;
}

const std::set<std::string> kFilterParams = {"userId", "projectId", "provider",
                                             "model",  "start",     "end"};
const std::set<std::string> kQuotaParams = {"userId", "projectId", "monthlyTokenLimit",
                                            "monthlyCostLimit"};

Result<UsageFilter> filter_from(const Query& q, const MonthCalendar& cal) {
  UsageFilter f;
  f.user = get(q, "userId");
  f.project = get(q, "projectId");
  f.provider = get(q, "provider");
  f.model = get(q, "model");
  for (const char* name : {"start", "end"}) {
    if (auto v = get(q, name)) {
      auto t = cal.parse_time(*v);
      if (!t) return Error{"query parameter \"" + std::string(name) + "\": " + t.error().message};
      (std::string(name) == "start" ? f.start_ms : f.end_ms) = *t;
    }
  }
  if (f.start_ms && f.end_ms && *f.start_ms > *f.end_ms)
    return Error{"query parameter \"end\" must not be before \"start\""};
  return f;
}

struct QuotaQuery {
  Scope scope = Scope::global;
  std::string subject;
  std::optional<QuotaLimits> overrides;
};

Result<QuotaQuery> quota_query_from(const Query& q) {
  QuotaQuery out;
  auto user = get(q, "userId");
  auto project = get(q, "projectId");
  if (user && project) return Error{"give query parameter \"userId\" or \"projectId\", not both"};
  if (user) out.scope = Scope::user, out.subject = *user;
  if (project) out.scope = Scope::project, out.subject = *project;
  QuotaLimits limits;
  if (auto v = get(q, "monthlyTokenLimit")) {
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || n <= 0)
      return Error{"query parameter \"monthlyTokenLimit\" must be a positive integer"};
    limits.tokens = n;
  }
  if (auto v = get(q, "monthlyCostLimit")) {
    auto n = parse_decimal_nanos(*v);
    if (!n || *n <= 0)
      return Error{"query parameter \"monthlyCostLimit\" must be a positive decimal number"};
    limits.cost = *n;
  }
  if (limits.tokens || limits.cost) out.overrides = limits;
  return out;
}

std::string lower_media_type(const char* header) {
  std::string s = header ? header : "";
  s = s.substr(0, s.find(';'));
  s.erase(s.find_last_not_of(" \t") + 1);
  s.erase(0, s.find_first_not_of(" \t"));
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const char* kLandingPage = R"HTML(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ai-usage-exporter</title></head>
<body><h1>ai-usage-exporter</h1>
<p>Prices, stores and exports the token usage and cost of LLM calls.</p>
<ul>
<li><a href="/metrics">/metrics</a> (Prometheus)</li>
<li>POST /api/v1/usage (ingest records)</li>
<li><a href="/api/v1/statistics">/api/v1/statistics</a></li>
<li><a href="/api/v1/quota">/api/v1/quota</a></li>
<li><a href="/api/v1/alerts">/api/v1/alerts</a></li>
<li><a href="/api/v1/cache-hit-rate">/api/v1/cache-hit-rate</a></li>
<li><a href="/-/healthy">/-/healthy</a>, <a href="/-/ready">/-/ready</a></li>
</ul></body></html>
)HTML";

}  // namespace

class Router {
 public:
  Router(UsageService& service, const HttpOptions& options)
      : service_(service), options_(options), budget_(options.body_memory_budget) {}

  Response handle(mg_connection* conn, ContinueGate& gate) {
    const mg_request_info* ri = mg_get_request_info(conn);
    const std::string method = ri->request_method;
    const std::string path = ri->local_uri ? ri->local_uri : "/";
    auto only = [&](const char* allowed) -> std::optional<Response> {
      if (method == allowed || (std::string(allowed) == "GET" && method == "HEAD"))
        return std::nullopt;
      Response r =
          json_error(405, "method " + method + " is not allowed on " + path + "; use " + allowed);
      r.headers.push_back({"Allow", allowed});
      return r;
    };
    const std::shared_ptr<const Config> live = service_.current();
    auto check = [&](Permission needed) {
      return authorize(live->auth, mg_get_header(conn, "Authorization"), needed);
    };
    if (path == "/api/v1/usage") {
      if (auto r = only("POST")) return *r;
      auto who = check(Permission::ingest);
      if (!who) return denied(who.error());
      return ingest(conn, ri, *who, gate);
    }
    if (path == "/-/reload" && options_.reloader != nullptr) {
      if (auto r = only("POST")) return *r;
      auto who = check(Permission::admin);
      if (!who) return denied(who.error());
      auto done = options_.reloader->reload("HTTP");
      if (!done) return json_error(400, "configuration reload failed: " + done.error().message);
      return json_response(200, R"({"status":"reloaded"})");
    }
    static const std::set<std::string> kGets = {"/",
                                                "/-/healthy",
                                                "/-/ready",
                                                "/metrics",
                                                "/api/v1/statistics",
                                                "/api/v1/quota",
                                                "/api/v1/alerts",
                                                "/api/v1/cache-hit-rate"};
    if (!kGets.count(path)) return json_error(404, "no such endpoint: " + path);
    if (auto r = only("GET")) return *r;
    if (path == "/") return {200, "text/html; charset=utf-8", kLandingPage, {}, {}};
    if (path == "/-/healthy") return {200, "text/plain; charset=utf-8", "Healthy.\n", {}, {}};
    if (path == "/-/ready") return ready();
    auto who = check(path == "/metrics" ? Permission::metrics : Permission::read);
    if (!who) return denied(who.error());
    if (path == "/metrics") return metrics();
    if (!service_.readable())
      return unavailable("storage unavailable: " + service_.degraded().value_or("retry"));
    if (path == "/api/v1/statistics" || path == "/api/v1/cache-hit-rate") {
      auto q = parse_query(ri->query_string, kFilterParams);
      if (!q) return json_error(400, q.error().message);
      auto f = filter_from(*q, service_.calendar());
      if (!f) return json_error(400, f.error().message);
      if (auto refused = bind_project(*who, f->project)) return json_error(403, *refused);
      if (path == "/api/v1/statistics")
        return json_response(200,
                             json::statistics(service_.statistics(*f), service_.config().currency));
      return json_response(200, json::cache_hit_rate(service_.cache_hit_rate(*f)));
    }
    auto q = parse_query(ri->query_string, kQuotaParams);
    if (!q) return json_error(400, q.error().message);
    auto qq = quota_query_from(*q);
    if (!qq) return json_error(400, qq.error().message);
    if (who->project && (qq->scope != Scope::project || qq->subject != *who->project))
      return json_error(403, "token \"" + who->name + "\" may only read project \"" +
                                 *who->project + "\"; give projectId=" + *who->project);
    if (path == "/api/v1/quota")
      return json_response(200, json::quota(service_.quota(qq->scope, qq->subject, qq->overrides),
                                            service_.calendar(), service_.config().currency));
    if (qq->scope == Scope::global && !qq->overrides && q->empty())
      return json_response(
          200, json::alerts(service_.alerts(), service_.calendar(), service_.config().currency));
    return json_response(200, json::alert(service_.alert(qq->scope, qq->subject, qq->overrides)));
  }

 private:
  // 503 while the store cannot be opened for writing: ingest is refused, reads are served when
  // it could be opened read-only ("read-only") and are 503 too when not ("unavailable").
  Response ready() {
    const std::optional<std::string> degraded = service_.degraded();
    if (!degraded) return {200, "text/plain; charset=utf-8", "Ready.\n", {}, {}};
    Response r =
        json_response(503, json::not_ready(service_.readable() ? "read-only" : "unavailable",
                                           "the store cannot be opened for writing: " + *degraded));
    r.headers.push_back({"Retry-After", "1"});
    return r;
  }

  // Rendered while it is sent, so the page is never held whole; the storage's and the reloader's
  // families last. Written and sent at nice 10, after the copy of what it shows (made at the
  // worker's priority, so no lock waits on a thread that yields): acknowledgements go first.
  Response metrics() {
    Response r{200, "text/plain; version=0.0.4; charset=utf-8", "", {}, {}};
    r.stream = [this](const PageSink& sink) {
      return write_metrics(
          service_, sink,
          {service_.storage_collector().get(),
           options_.reloader ? options_.reloader->collector().get() : nullptr},
          [](const std::function<bool()>& write) { return run_at_nice(kScrapeNice, write); });
    };
    return r;
  }

  // A request refused before its records could be read counts as one rejected record.
  Response refused(Response r) {
    service_.count_rejected(1);
    return r;
  }

  // 503 for a request past the memory budget; the connection closes unless its body was read.
  Response over_budget(bool body_read) const {
    const std::string message = "too many large request bodies at once (their memory budget is " +
                                std::to_string(budget_.limit()) +
                                " bytes); nothing was stored, retry later";
    Response r = body_read ? json_error(503, message) : closing_error(503, message);
    r.headers.push_back({"Retry-After", "1"});
    return r;
  }

  // Reads the whole body within the size limit, the body deadline and the memory budget (held by
  // `lease` until the request is answered), or says why not.
  std::optional<Response> read_body(mg_connection* conn, const mg_request_info* ri,
                                    std::string& body, ContinueGate& gate,
                                    std::optional<MemoryBudget::Lease>& lease) {
    const std::size_t limit = options_.max_body_bytes;
    auto too_large = [&] {
      return closing_error(413, "request body exceeds " + std::to_string(limit) + " bytes");
    };
    // Checked before reading: a declared length over the limit is refused without reading a byte.
    if (ri->content_length > 0 && static_cast<std::size_t>(ri->content_length) > limit)
      return too_large();
    // While it is read a body holds its buffer, reserved in steps ahead of what has arrived and
    // counted twice (a reallocation copies it): a slow client holds little of the budget.
    const std::size_t most =
        ri->content_length >= 0 ? static_cast<std::size_t>(ri->content_length) : limit;
    std::size_t covered = 0;
    auto cover = [&](std::size_t arrived) {
      covered = std::min(std::max<std::size_t>(2 * arrived, 16 * 1024), most);
      if (!lease->grow_to(ingest_memory_bound(0) + 2 * covered)) return false;
      body.reserve(covered);
      return true;
    };
    lease = budget_.reserve(ingest_memory_bound(0));
    if (!lease || !cover(0)) return over_budget(false);
    gate.open();
    const std::int64_t deadline = steady_ms() + options_.body_timeout_ms;
    char buf[16384];
    int n = 0;
    {
      const int fd = socket_of(conn, ri);
      std::optional<BodyWatchdog::Armed> armed;
      if (fd >= 0) armed.emplace(watchdog_, fd, deadline);
      for (;;) {
        n = mg_read(conn, buf, sizeof buf);
        if (n > 0) body.append(buf, static_cast<std::size_t>(n));
        // A chunked body has no declared length: it is cut as soon as it passes the limit.
        if (body.size() > limit) return too_large();
        if (body.size() > covered && !cover(body.size())) return over_budget(false);
        if (steady_ms() >= deadline)
          return closing_error(408, "request body not received within " +
                                        format_duration_ms(options_.body_timeout_ms));
        if (n <= 0) break;
      }
    }
    // A body cut short (client gone, read timeout, broken chunks) is never ingested, even if it
    // parses.
    if (ri->content_length >= 0 && body.size() != static_cast<std::size_t>(ri->content_length))
      return closing_error(400, "request body ended after " + std::to_string(body.size()) + " of " +
                                    std::to_string(ri->content_length) + " bytes");
    if (n < 0) return closing_error(400, "request body could not be read completely");
    return std::nullopt;
  }

  Response ingest(mg_connection* conn, const mg_request_info* ri, const Principal& who,
                  ContinueGate& gate) {
    std::string type = lower_media_type(mg_get_header(conn, "Content-Type"));
    BodyFormat format;
    if (type == "application/json")
      format = BodyFormat::json;
    else if (type == "application/x-ndjson" || type == "application/jsonl")
      format = BodyFormat::ndjson;
    else
      return refused(
          json_error(415, "Content-Type must be application/json or application/x-ndjson"));
    std::string body;
    std::optional<MemoryBudget::Lease> lease;
    if (auto r = read_body(conn, ri, body, gate, lease)) return refused(std::move(*r));
    // Parsing needs more than the body: all of it is held before parsing starts.
    if (!lease->grow_to(ingest_memory_bound(body.size()))) return refused(over_budget(true));
    auto result = service_.ingest(body, format, who.project);
    if (!result) {
      const IngestError& e = result.error();
      const int status = http_status(e.kind);
      if (status >= 500)
        log::error("ingest failed", {{"status", std::to_string(status)}, {"err", e.message}});
      Response r = json_response(status, json::ingest_error(e));
      if (e.kind == IngestErrorKind::unavailable) r.headers.push_back({"Retry-After", "1"});
      return r;
    }
    return json_response(200, json::ingest_outcome(*result, service_.config().currency));
  }

  UsageService& service_;
  const HttpOptions& options_;
  MemoryBudget budget_;
  BodyWatchdog watchdog_;
};

namespace {

// Sends a streamed body as HTTP/1.1 chunks (HTTP/1.0: raw, ended by the close). A body cut short
// gets no end and its socket is shut, so the client sees it incomplete and it is not reused.
void send_stream(mg_connection* conn, const Response& r, bool chunked) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const PageSink sink = [conn, chunked](std::string_view piece) {
    if (chunked) return mg_send_chunk(conn, piece.data(), static_cast<unsigned>(piece.size())) > 0;
    return mg_write(conn, piece.data(), piece.size()) == static_cast<int>(piece.size());
  };
  bool complete = false;
  try {
    complete = r.stream(sink);
  } catch (const std::exception& e) {
    log::error("response cut short",
               {{"path", ri->local_uri ? ri->local_uri : ""}, {"err", e.what()}});
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

// A whole response in one write: CivetWeb's header functions send every header line on its own
// (eight sends for a small JSON answer), which costs more than the rest of a one-record ingest.
void send_whole(mg_connection* conn, const Response& r, bool head, bool http10) {
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  std::string out;
  out.reserve(256 + (head ? 0 : r.body.size()));
  out += "HTTP/1.1 " + std::to_string(r.status) + " " + mg_get_response_code_text(conn, r.status) +
         "\r\nContent-Type: " + r.content_type +
         "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\nCache-Control: no-store\r\n";
  bool connection = false;  // a handler may close the connection itself
  for (const auto& [k, v] : r.headers) {
    out += k + ": " + v + "\r\n";
    connection = connection || strcasecmp(k.c_str(), "Connection") == 0;
  }
  out += std::string("Date: ") + date + "\r\n";
  if (!connection)
    out +=
        std::string("Connection: ") + (keeps_alive(conn, http10) ? "keep-alive" : "close") + "\r\n";
  out += "\r\n";
  if (!head) out += r.body;
  mg_write(conn, out.data(), out.size());
}

// CivetWeb's own refusals (a request it cannot read: malformed, or headers over the size limit)
// get the service's JSON error body; the connection closes after them.
int http_error(mg_connection* conn, int status, const char* message) try {
  const auto* options = static_cast<const HttpOptions*>(mg_get_user_data(mg_get_context(conn)));
  // CivetWeb 1.15 says 411 for a Content-Length it cannot read ("-1", ""): that is a 400.
  if (status == 411) {
    status = 400;
    message = "Content-Length is not a decimal number of bytes";
  }
  std::string text = "cannot read the request (";
  text +=
      message != nullptr && *message != '\0' ? message : mg_get_response_code_text(conn, status);
  text += "): the request line and headers must be valid HTTP/1.x within " +
          std::to_string(options->max_header_bytes) + " bytes";
  send_whole(conn, closing_error(status, text), false, false);
  return 0;
} catch (const std::bad_alloc&) {
  return 1;  // out of memory: CivetWeb's own plain answer
}

int send(mg_connection* conn, const Response& r, bool head) {
  const bool http10 = std::string(mg_get_request_info(conn)->http_version) == "1.0";
  if (!r.stream) {
    send_whole(conn, r, head, http10);
    return r.status;
  }
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
  return r.status;
}

struct Handler {
  HttpServer* server;
  Router* router;
};

bool closes(const Response& r) {
  return std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
    return strcasecmp(h.first.c_str(), "Connection") == 0 && h.second == "close";
  });
}

// Sends `r`; a closing answer, or one sent while the client holds its body back for a 100, ends
// the connection: nothing after it is read or run.
int answer(mg_connection* conn, Response r, bool head, const ContinueGate* gate) {
  const bool withheld = gate != nullptr && gate->withheld();
  if (withheld && !closes(r)) r.headers.push_back({"Connection", "close"});
  const int status = send(conn, r, head);
  if (withheld || closes(r))
    end_connection_after_answer(conn, socket_of(conn, mg_get_request_info(conn)));
  return status;
}

// Counts a request for drain() while it runs.
class InFlight {
 public:
  explicit InFlight(HttpServer& server) : server_(server), admitted_(server.begin_request()) {}
  ~InFlight() {
    if (admitted_) server_.end_request();
  }
  bool admitted() const { return admitted_; }

 private:
  HttpServer& server_;
  bool admitted_;
};

int serve(mg_connection* conn, Handler& h) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const bool head = std::string(ri->request_method) == "HEAD";
  if (auto bad = check_framing(*ri))
    return answer(conn, closing_error(bad->status, bad->message), head, nullptr);
  ContinueGate gate(conn);
  if (auto bad = gate.refusal())
    return answer(conn, closing_error(bad->status, bad->message), head, nullptr);
  InFlight in_flight(*h.server);
  if (!in_flight.admitted()) {
    Response r = closing_error(503, "shutting down");
    r.headers.push_back({"Retry-After", "1"});
    return answer(conn, std::move(r), head, &gate);
  }
  Response r;
  try {
    r = h.router->handle(conn, gate);
  } catch (const StorageUnavailable& e) {
    r = unavailable(e.what());
  } catch (const std::bad_alloc&) {
    // Out of memory (a limit on the process, or a machine short of it): the request is dropped
    // whole, and a retry with the same ids is counted once.
    log::error("request failed",
               {{"path", ri->local_uri ? ri->local_uri : ""}, {"err", "out of memory"}});
    r = closing_error(503, "not enough memory for this request; retry it with the same ids");
    r.headers.push_back({"Retry-After", "1"});
  } catch (const std::exception& e) {
    log::error("request failed", {{"path", ri->local_uri ? ri->local_uri : ""}, {"err", e.what()}});
    r = json_error(500, std::string("internal error: ") + e.what());
  }
  return answer(conn, std::move(r), head, &gate);
}

int handle_request(mg_connection* conn, void* data) {
  try {
    return serve(conn, *static_cast<Handler*>(data));
  } catch (const std::bad_alloc&) {
    // Not even the answer fitted in memory: the connection ends without one.
    end_connection_after_answer(conn, -1);
    return 503;
  }
}

// CivetWeb closes a request for "*" without calling any handler: it gets its answer here.
// Its request info is this connection's only once init_connection ran: a failed TLS handshake
// closes a connection whose request info still holds the worker's previous, dangling pointers.
void connection_close(const mg_connection* c) {
  auto* conn = const_cast<mg_connection*>(c);
  const bool established = mg_get_user_connection_data(conn) != nullptr;
  mg_set_user_connection_data(conn, nullptr);
  if (!established || !is_asterisk_request(*mg_get_request_info(conn))) return;
  try {
    send_whole(conn,
               closing_error(400, "request target \"*\" is not supported; use a path such as /"),
               false, false);
  } catch (const std::bad_alloc&) {  // out of memory: closed unanswered, as CivetWeb would
  }
}

int log_message(const mg_connection*, const char* message) {
  log::warn("http server", {{"err", message}});
  return 1;
}

std::once_flag g_init;

// Loads src/http/tls_compat.cpp's shim (next to the binary, or where it was built) before CivetWeb
// opens OpenSSL; unneeded when the system's libssl.so still exports SSL_get_peer_certificate.
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

// Opens and closes a loopback connection to `port` (IPv4, then IPv6).
void wake_listener(int port) {
  for (int family : {AF_INET, AF_INET6}) {
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<std::uint16_t>(port));
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<std::uint16_t>(port));
      a->sin6_addr = in6addr_loopback;
      len = sizeof *a;
    }
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
    ::close(fd);
    if (rc == 0 || errno == EINPROGRESS) return;
  }
}

}  // namespace

HttpOptions http_options(const Config& c, ConfigReloader* reloader) {
  return {c.listen,
          c.http_threads,
          c.max_body_bytes,
          c.body_timeout_ms,
          c.request_timeout_ms,
          c.max_header_bytes,
          c.tls_certificate,
          reloader,
          c.body_memory_budget};
}

struct HttpServer::Impl {
  Handler handler;
};

HttpServer::HttpServer(UsageService& service, HttpOptions options)
    : service_(service), options_(std::move(options)) {
  if (!options_.tls_certificate.empty()) load_tls_compat();
  std::call_once(g_init, [] {
    mg_init_library(0);
    // Buffers of large bodies (and their parsers) are mapped on their own and returned when freed:
    // with glibc's default, which rises to the largest block freed so far, each of its arenas
    // kept freed 10 MiB bodies resident, and the RSS grew far past the body memory budget.
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  });
  mg_callbacks callbacks{};
  callbacks.log_message = log_message;
  callbacks.init_connection = init_connection;
  callbacks.http_error = http_error;
  callbacks.connection_close = connection_close;
  const bool tls = !options_.tls_certificate.empty();
  // CivetWeb marks an HTTPS port with a trailing "s"; with a certificate every port is HTTPS.
  const std::string ports = tls ? options_.listen + "s" : options_.listen;
  const std::string threads = std::to_string(options_.threads);
  const std::string request_timeout = std::to_string(options_.request_timeout_ms);
  const std::string max_request = std::to_string(options_.max_header_bytes);
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
    for (const char* o :
         {"ssl_certificate", options_.tls_certificate.c_str(), "ssl_protocol_version", "4"})
      opts.push_back(o);
  }
  opts.push_back(nullptr);
  router_ = std::make_unique<Router>(service_, options_);
  impl_ = std::make_unique<Impl>(Impl{{this, router_.get()}});
  ctx_ = mg_start(&callbacks, &options_, opts.data());  // options_ for http_error
  if (ctx_ == nullptr)
    throw std::runtime_error("cannot listen on " + options_.listen +
                             (tls ? " with certificate " + options_.tls_certificate : ""));
  // CivetWeb's own authorization is off (the service authorizes): it looked for a .htpasswd on
  // every request, and one at the file system's root would have demanded digest logins.
  mg_set_auth_handler(
      ctx_, "/", [](mg_connection*, void*) { return 1; }, nullptr);
  mg_set_request_handler(ctx_, "/", handle_request, &impl_->handler);
  mg_server_port ports_out[4];
  int n = mg_get_server_ports(ctx_, 4, ports_out);
  port_ = n > 0 ? ports_out[0].port : 0;
}

HttpServer::~HttpServer() {
  // CivetWeb's listener polls in 2 s steps; connecting to it wakes it so mg_stop returns promptly.
  std::atomic<bool> stopped{false};
  std::thread waker([&] {
    while (!stopped) {
      wake_listener(port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  mg_stop(ctx_);
  stopped = true;
  waker.join();
}

bool HttpServer::begin_request() {
  std::lock_guard lock(drain_mutex_);
  if (draining_) return false;
  ++in_flight_;
  return true;
}

void HttpServer::end_request() {
  std::lock_guard lock(drain_mutex_);
  if (--in_flight_ == 0) drained_cv_.notify_all();
}

int HttpServer::in_flight() {
  std::lock_guard lock(drain_mutex_);
  return in_flight_;
}

bool HttpServer::drain(std::int64_t timeout_ms) {
  std::unique_lock lock(drain_mutex_);
  draining_ = true;
  return drained_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                              [&] { return in_flight_ == 0; });
}

}  // namespace aiusage
