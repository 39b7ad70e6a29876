#include "aiusage/exposition.hpp"
#include "aiusage/priority.hpp"
#include "aiusage/reload.hpp"
#include "handlers.hpp"
#include "responses.hpp"

namespace aiusage {

namespace {

constexpr int kScrapeNice = 10;

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

Response landing_page(HandlerContext&, Exchange&, const Principal&) {
  return {200, "text/html; charset=utf-8", kLandingPage, {}, {}};
}

Response healthy(HandlerContext&, Exchange&, const Principal&) {
  return {200, "text/plain; charset=utf-8", "Healthy.\n", {}, {}};
}

// 503 while the store cannot be opened for writing: ingest is refused, reads are served when
// it could be opened read-only ("read-only") and are 503 too when not ("unavailable").
Response ready(HandlerContext& c, Exchange&, const Principal&) {
  const std::optional<std::string> degraded = c.service.degraded();
  if (!degraded) return {200, "text/plain; charset=utf-8", "Ready.\n", {}, {}};
  Response r =
      json_response(503, json::not_ready(c.service.readable() ? "read-only" : "unavailable",
                                         "the store cannot be opened for writing: " + *degraded));
  r.headers.push_back({"Retry-After", "1"});
  return r;
}

// Rendered while it is sent, so the page is never held whole; the storage's and the reloader's
// families last. Written and sent at nice 10, after the copy of what it shows (made at the
// worker's priority, so no lock waits on a thread that yields): acknowledgements go first.
Response metrics(HandlerContext& c, Exchange&, const Principal&) {
  Response r{200, "text/plain; version=0.0.4; charset=utf-8", "", {}, {}};
  r.stream = [&c](const BodySink& sink) {
    ConfigReloader* reloader = c.options.reloader;
    return write_metrics(
        c.service, sink,
        {c.service.storage_collector().get(), reloader ? reloader->collector().get() : nullptr},
        [](const std::function<bool()>& write) { return run_at_nice(kScrapeNice, write); });
  };
  return r;
}

// Routed only when the server has a reloader.
Response reload(HandlerContext& c, Exchange&, const Principal&) {
  auto done = c.options.reloader->reload("HTTP");
  if (!done) return json_error(400, "configuration reload failed: " + done.error().message);
  return json_response(200, R"({"status":"reloaded"})");
}

}  // namespace aiusage
