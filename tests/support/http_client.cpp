#include "support/http_client.hpp"

#include <civetweb.h>

#include <algorithm>
#include <stdexcept>

namespace aiusage::testing {

HttpResponse http_request(int port, const std::string& method, const std::string& target,
                          const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  char err[256] = {0};
  mg_connection* conn = mg_connect_client("127.0.0.1", port, 0, err, sizeof err);
  if (conn == nullptr) throw std::runtime_error(std::string("connect failed: ") + err);
  std::string head =
      method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  mg_write(conn, head.data(), head.size());
  if (!body.empty()) mg_write(conn, body.data(), body.size());
  if (mg_get_response(conn, err, sizeof err, 10000) < 0) {
    mg_close_connection(conn);
    throw std::runtime_error(std::string("no response: ") + err);
  }
  HttpResponse r;
  const mg_response_info* ri = mg_get_response_info(conn);
  r.status = ri->status_code;
  for (int i = 0; i < ri->num_headers; ++i) {
    std::string name = ri->http_headers[i].name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    r.headers[name] = ri->http_headers[i].value;
  }
  char buf[16384];
  for (int n; (n = mg_read(conn, buf, sizeof buf)) > 0;)
    r.body.append(buf, static_cast<std::size_t>(n));
  mg_close_connection(conn);
  return r;
}

HttpResponse http_get(int port, const std::string& target) {
  return http_request(port, "GET", target);
}

HttpResponse http_post_json(int port, const std::string& target, const std::string& body) {
  return http_request(port, "POST", target, body, {{"Content-Type", "application/json"}});
}

}  // namespace aiusage::testing
