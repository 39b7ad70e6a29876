#pragma once
// The answers every handler shares: JSON bodies, refusals and their headers.
#include <string>
#include <utility>

#include "aiusage/auth.hpp"
#include "aiusage/exchange.hpp"
#include "json_out.hpp"
#include "status.hpp"

namespace aiusage {

inline Response json_response(int status, std::string body) {
  return {status, "application/json", std::move(body), {}, {}};
}
inline Response json_error(int status, const std::string& message) {
  return json_response(status, json::error(message));
}

// 503 with Retry-After: the storage cannot serve this now.
inline Response unavailable(const std::string& message) {
  Response r = json_error(503, message);
  r.headers.push_back({"Retry-After", "1"});
  return r;
}

// An error after which the rest of the request is not read: the connection must not be reused.
inline Response closing_error(int status, const std::string& message) {
  Response r = json_error(status, message);
  r.headers.push_back({"Connection", "close"});
  return r;
}

inline Response denied(const AuthDenial& d) {
  Response r = json_error(http_status(d.kind), d.message);
  for (const std::string& c : d.challenges) r.headers.push_back({"WWW-Authenticate", c});
  return r;
}

}  // namespace aiusage
