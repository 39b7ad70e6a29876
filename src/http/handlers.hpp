#pragma once
// The handlers of the routing table (routes.cpp): each parses its request, calls the service and
// answers. Authorization happened before (the route's permission); `who` is the caller.
#include "aiusage/auth.hpp"
#include "aiusage/exchange.hpp"
#include "aiusage/http_server.hpp"
#include "body.hpp"

namespace aiusage {

// What the handlers share; lives as long as the server.
struct HandlerContext {
  UsageService& service;
  const HttpOptions& options;
  BodyReader& bodies;
};

using Handler = Response (*)(HandlerContext& c, Exchange& ex, const Principal& who);

// A request refused before its records could be read: counted as one rejected record.
inline Response refused_request(HandlerContext& c, Response r) {
  c.service.count_rejected(1);
  return r;
}

// A header's media type, lower-cased, without parameters and spaces ("" when absent).
std::string lower_media_type(const char* header);

// handlers_ingest.cpp
Response ingest_usage(HandlerContext& c, Exchange& ex, const Principal& who);
// handlers_otlp.cpp
Response otlp_traces(HandlerContext& c, Exchange& ex, const Principal& who);
// handlers_query.cpp
Response statistics(HandlerContext& c, Exchange& ex, const Principal& who);
Response cache_hit_rate(HandlerContext& c, Exchange& ex, const Principal& who);
Response quota(HandlerContext& c, Exchange& ex, const Principal& who);
Response alerts(HandlerContext& c, Exchange& ex, const Principal& who);
// handlers_ops.cpp
Response landing_page(HandlerContext& c, Exchange& ex, const Principal& who);
Response healthy(HandlerContext& c, Exchange& ex, const Principal& who);
Response ready(HandlerContext& c, Exchange& ex, const Principal& who);
Response metrics(HandlerContext& c, Exchange& ex, const Principal& who);
Response reload(HandlerContext& c, Exchange& ex, const Principal& who);

}  // namespace aiusage
