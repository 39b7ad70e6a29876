#include <algorithm>
#include <cctype>

#include "aiusage/log.hpp"
#include "handlers.hpp"
#include "responses.hpp"

namespace aiusage {

std::string lower_media_type(const char* header) {
  std::string s = header ? header : "";
  s = s.substr(0, s.find(';'));
  s.erase(s.find_last_not_of(" \t") + 1);
  s.erase(0, s.find_first_not_of(" \t"));
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

namespace {

std::optional<BodyFormat> format_of(const char* content_type) {
  const std::string type = lower_media_type(content_type);
  if (type == "application/json") return BodyFormat::json;
  if (type == "application/x-ndjson" || type == "application/jsonl") return BodyFormat::ndjson;
  return std::nullopt;
}

Response ingest_failed(const IngestError& e) {
  const int status = http_status(e.kind);
  if (status >= 500)
    log::error("ingest failed", {{"status", std::to_string(status)}, {"err", e.message}});
  Response r = json_response(status, json::ingest_error(e));
  if (e.kind == IngestErrorKind::unavailable) r.headers.push_back({"Retry-After", "1"});
  return r;
}

}  // namespace

Response ingest_usage(HandlerContext& c, Exchange& ex, const Principal& who) {
  auto refused = [&](Response r) { return refused_request(c, std::move(r)); };
  const std::optional<BodyFormat> format = format_of(ex.header("Content-Type"));
  if (!format)
    return refused(
        json_error(415, "Content-Type must be application/json or application/x-ndjson"));
  std::string body;
  std::optional<MemoryBudget::Lease> lease;
  if (auto r = c.bodies.read(ex, body, lease)) return refused(std::move(*r));
  // Parsing needs more than the body: all of it is held before parsing starts.
  if (!lease->grow_to(ingest_memory_bound(body.size()))) return refused(c.bodies.over_budget(true));
  auto result = c.service.ingest(body, *format, who.project);
  if (!result) return ingest_failed(result.error());
  return json_response(200, json::ingest_outcome(*result, c.service.config().currency));
}

}  // namespace aiusage
