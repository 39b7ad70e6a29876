#pragma once
// Minimal blocking HTTP/1.1 client over loopback, built on CivetWeb's client API.
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace aiusage::testing {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

HttpResponse http_request(int port, const std::string& method, const std::string& target,
                          const std::string& body = "",
                          const std::vector<std::pair<std::string, std::string>>& headers = {});
HttpResponse http_get(int port, const std::string& target);
HttpResponse http_post_json(int port, const std::string& target, const std::string& body);

}  // namespace aiusage::testing
