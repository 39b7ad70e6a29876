#include "aiusage/http_server.hpp"

#include <civetweb.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "exposition.hpp"
#include "json_out.hpp"
#include "log.hpp"

namespace aiusage {

namespace {

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Response json_response(int status, std::string body) { return {status, "application/json", std::move(body), {}}; }
Response json_error(int status, const std::string& message) { return json_response(status, json::error(message)); }

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
    int kn = mg_url_decode(rk.data(), static_cast<int>(rk.size()), k.data(), static_cast<int>(k.size()), 1);
    int vn = mg_url_decode(rv.data(), static_cast<int>(rv.size()), v.data(), static_cast<int>(v.size()), 1);
    if (kn < 0 || vn < 0) return Error{"malformed query string"};
    k.resize(static_cast<std::size_t>(kn));
    v.resize(static_cast<std::size_t>(vn));
    if (!allowed.count(k)) return Error{"unknown query parameter \"" + k + "\""};
    if (v.empty()) return Error{"query parameter \"" + k + "\" must not be empty"};
    if (!q.emplace(k, v).second) return Error{"query parameter \"" + k + "\" is repeated"};
  }
  return q;
}

std::optional<std::string> get(const Query& q, const char* name) {
  auto it = q.find(name);
  if (it == q.end()) return std::nullopt;
  return it->second;
}

const std::set<std::string> kFilterParams = {"userId", "projectId", "provider", "model", "start", "end"};
const std::set<std::string> kQuotaParams = {"userId", "projectId", "monthlyTokenLimit", "monthlyCostLimit"};

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
    if (!n || *n <= 0) return Error{"query parameter \"monthlyCostLimit\" must be a positive decimal number"};
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
  Router(UsageService& service, const HttpOptions& options) : service_(service), options_(options) {}

  Response handle(mg_connection* conn) {
    const mg_request_info* ri = mg_get_request_info(conn);
    const std::string method = ri->request_method;
    const std::string path = ri->local_uri ? ri->local_uri : "/";
    auto only = [&](const char* allowed) -> std::optional<Response> {
      if (method == allowed || (std::string(allowed) == "GET" && method == "HEAD")) return std::nullopt;
      Response r = json_error(405, "method " + method + " is not allowed on " + path + "; use " + allowed);
      r.headers.push_back({"Allow", allowed});
      return r;
    };
    if (path == "/api/v1/usage") {
      if (auto r = only("POST")) return *r;
      return ingest(conn, ri);
    }
    static const std::set<std::string> kGets = {"/", "/-/healthy", "/-/ready", "/metrics", "/api/v1/statistics",
                                                "/api/v1/quota", "/api/v1/alerts", "/api/v1/cache-hit-rate"};
    if (!kGets.count(path)) return json_error(404, "no such endpoint: " + path);
    if (auto r = only("GET")) return *r;
    if (path == "/") return {200, "text/html; charset=utf-8", kLandingPage, {}};
    if (path == "/-/healthy") return {200, "text/plain; charset=utf-8", "Healthy.\n", {}};
    if (path == "/-/ready") return {200, "text/plain; charset=utf-8", "Ready.\n", {}};
    if (path == "/metrics") return metrics();
    if (path == "/api/v1/statistics" || path == "/api/v1/cache-hit-rate") {
      auto q = parse_query(ri->query_string, kFilterParams);
      if (!q) return json_error(400, q.error().message);
      auto f = filter_from(*q, service_.calendar());
      if (!f) return json_error(400, f.error().message);
      if (path == "/api/v1/statistics")
        return json_response(200, json::statistics(service_.statistics(*f), service_.config().currency));
      return json_response(200, json::cache_hit_rate(service_.cache_hit_rate(*f)));
    }
    auto q = parse_query(ri->query_string, kQuotaParams);
    if (!q) return json_error(400, q.error().message);
    auto qq = quota_query_from(*q);
    if (!qq) return json_error(400, qq.error().message);
    if (path == "/api/v1/quota")
      return json_response(200, json::quota(service_.quota(qq->scope, qq->subject, qq->overrides), service_.calendar(),
                                            service_.config().currency));
    if (qq->scope == Scope::global && !qq->overrides && q->empty())
      return json_response(200, json::alerts(service_.alerts(), service_.calendar(), service_.config().currency));
    return json_response(200, json::alert(service_.alert(qq->scope, qq->subject, qq->overrides)));
  }

 private:
  Response metrics() {
    return {200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(service_), {}};
  }

  Response ingest(mg_connection* conn, const mg_request_info* ri) {
    std::string type = lower_media_type(mg_get_header(conn, "Content-Type"));
    BodyFormat format;
    if (type == "application/json") format = BodyFormat::json;
    else if (type == "application/x-ndjson" || type == "application/jsonl") format = BodyFormat::ndjson;
    else return json_error(415, "Content-Type must be application/json or application/x-ndjson");
    const std::size_t limit = options_.max_body_bytes;
    auto too_large = [&] {
      Response r = json_error(413, "request body exceeds " + std::to_string(limit) + " bytes");
      r.headers.push_back({"Connection", "close"});
      return r;
    };
    if (ri->content_length > 0 && static_cast<std::size_t>(ri->content_length) > limit) return too_large();
    std::string body;
    if (ri->content_length > 0) body.reserve(static_cast<std::size_t>(ri->content_length));
    char buf[16384];
    for (;;) {
      int n = mg_read(conn, buf, sizeof buf);
      if (n <= 0) break;
      body.append(buf, static_cast<std::size_t>(n));
      if (body.size() > limit) return too_large();
    }
    auto result = service_.ingest(body, format);
    if (!result) {
      const IngestError& e = result.error();
      if (e.status >= 500) log::error("ingest failed", {{"status", std::to_string(e.status)}, {"err", e.message}});
      Response r = json_response(e.status, json::ingest_error(e));
      if (e.status == 503) r.headers.push_back({"Retry-After", "1"});
      return r;
    }
    return json_response(200, json::ingest_outcome(*result, service_.config().currency));
  }

  UsageService& service_;
  const HttpOptions& options_;
};

namespace {

int send(mg_connection* conn, const Response& r, bool head) {
  mg_response_header_start(conn, r.status);
  mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
  mg_response_header_add(conn, "Content-Length", std::to_string(r.body.size()).c_str(), -1);
  mg_response_header_add(conn, "Cache-Control", "no-store", -1);
  for (const auto& [k, v] : r.headers) mg_response_header_add(conn, k.c_str(), v.c_str(), -1);
  mg_response_header_send(conn);
  if (!head) mg_write(conn, r.body.data(), r.body.size());
  return r.status;
}

int handle_request(mg_connection* conn, void* data) {
  auto* router = static_cast<Router*>(data);
  const mg_request_info* ri = mg_get_request_info(conn);
  Response r;
  try {
    r = router->handle(conn);
  } catch (const std::exception& e) {
    log::error("request failed", {{"path", ri->local_uri ? ri->local_uri : ""}, {"err", e.what()}});
    r = json_error(500, std::string("internal error: ") + e.what());
  }
  return send(conn, r, std::string(ri->request_method) == "HEAD");
}

int log_message(const mg_connection*, const char* message) {
  log::warn("http server", {{"err", message}});
  return 1;
}

std::once_flag g_init;

}  // namespace

HttpServer::HttpServer(UsageService& service, HttpOptions options)
    : service_(service), options_(std::move(options)) {
  std::call_once(g_init, [] { mg_init_library(0); });
  mg_callbacks callbacks{};
  callbacks.log_message = log_message;
  const std::string threads = std::to_string(options_.threads);
  const char* opts[] = {"listening_ports", options_.listen.c_str(), "num_threads", threads.c_str(),
                        "enable_keep_alive", "yes", "keep_alive_timeout_ms", "5000",
                        "request_timeout_ms", "30000", nullptr};
  router_ = std::make_unique<Router>(service_, options_);
  ctx_ = mg_start(&callbacks, nullptr, opts);
  if (ctx_ == nullptr) throw std::runtime_error("cannot listen on " + options_.listen);
  mg_set_request_handler(ctx_, "/", handle_request, router_.get());
  mg_server_port ports[4];
  int n = mg_get_server_ports(ctx_, 4, ports);
  port_ = n > 0 ? ports[0].port : 0;
}

HttpServer::~HttpServer() { mg_stop(ctx_); }

}  // namespace aiusage
