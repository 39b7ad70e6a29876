#include "router.hpp"

#include "aiusage/log.hpp"
#include "responses.hpp"

namespace aiusage {

std::vector<Route> api_routes(const HttpOptions& options) {
  std::vector<Route> routes = {
      {"POST", "/api/v1/usage", Permission::ingest, ingest_usage},
      {"POST", "/v1/traces", Permission::ingest, otlp_traces},
      {"GET", "/api/v1/statistics", Permission::read, statistics},
      {"GET", "/api/v1/cache-hit-rate", Permission::read, cache_hit_rate},
      {"GET", "/api/v1/quota", Permission::read, quota},
      {"GET", "/api/v1/alerts", Permission::read, alerts},
      {"GET", "/metrics", Permission::metrics, metrics},
      {"GET", "/", std::nullopt, landing_page},
      {"GET", "/-/healthy", std::nullopt, healthy},
      {"GET", "/-/ready", std::nullopt, ready},
  };
  if (options.reloader != nullptr)
    routes.push_back({"POST", "/-/reload", Permission::admin, reload});
  return routes;
}

Response exception_answer(std::string_view path) {
  try {
    throw;
  } catch (const StorageUnavailable& e) {
    return unavailable(e.what());
  } catch (const std::bad_alloc&) {
    log::error("request failed", {{"path", std::string(path)}, {"err", "out of memory"}});
    Response r =
        closing_error(503, "not enough memory for this request; retry it with the same ids");
    r.headers.push_back({"Retry-After", "1"});
    return r;
  } catch (const std::exception& e) {
    log::error("request failed", {{"path", std::string(path)}, {"err", e.what()}});
    return json_error(500, std::string("internal error: ") + e.what());
  }
}

namespace {

bool answers(const Route& r, std::string_view method) {
  return r.method == method || (r.method == "GET" && method == "HEAD");
}

// 405 naming the methods the path answers.
Response wrong_method(const std::vector<const Route*>& known, Exchange& ex) {
  std::string allow, use;
  for (const Route* r : known) {
    allow += (allow.empty() ? "" : ", ") + std::string(r->method);
    use += (use.empty() ? "" : " or ") + std::string(r->method);
  }
  Response r = json_error(405, "method " + std::string(ex.method()) + " is not allowed on " +
                                   std::string(ex.path()) + "; use " + use);
  r.headers.push_back({"Allow", allow});
  return r;
}

}  // namespace

Response Router::handle(Exchange& ex) const {
  const Route* route = nullptr;
  for (const Route& r : routes_)
    if (r.path == ex.path() && answers(r, ex.method())) route = &r;
  if (route == nullptr) {
    std::vector<const Route*> known;
    for (const Route& r : routes_)
      if (r.path == ex.path()) known.push_back(&r);
    if (known.empty()) return json_error(404, "no such endpoint: " + std::string(ex.path()));
    return wrong_method(known, ex);
  }
  UsageService& service = context_.service;
  Principal who;
  if (route->permission) {
    auto authorized =
        authorize(service.current()->auth, ex.header("Authorization"), *route->permission);
    if (!authorized) return denied(authorized.error());
    who = std::move(*authorized);
  }
  // The read API answers from the store.
  if (route->permission == Permission::read && !service.readable())
    return unavailable("storage unavailable: " + service.degraded().value_or("retry"));
  return route->handler(context_, ex, who);
}

}  // namespace aiusage
