#pragma once
// The routing table: which method and path run which handler, with which permission.
#include <optional>
#include <string_view>
#include <vector>

#include "aiusage/auth.hpp"
#include "handlers.hpp"

namespace aiusage {

struct Route {
  std::string_view method;               // "GET" routes answer HEAD too
  std::string_view path;                 // exact
  std::optional<Permission> permission;  // nullopt: open to anyone (health, landing page)
  Handler handler;
};

// The answer to the exception being handled (call it in a catch block): 503 when the storage or
// the memory cannot serve the request (a retry with the same ids is counted once), 500 otherwise.
Response exception_answer(std::string_view path);

// Every route of the API; POST /-/reload only when the server has a reloader.
std::vector<Route> api_routes(const HttpOptions& options);

class Router {
 public:
  Router(std::vector<Route> routes, HandlerContext& context)
      : routes_(std::move(routes)), context_(context) {}

  // 404 for an unknown path, 405 with Allow for a known one with another method, the denial
  // (401/403) of a caller without the route's permission, 503 for a read while the store cannot
  // be read; otherwise the handler's answer.
  Response handle(Exchange& ex) const;

 private:
  std::vector<Route> routes_;
  HandlerContext& context_;
};

}  // namespace aiusage
