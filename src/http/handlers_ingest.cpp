#include <algorithm>
#include <cctype>

#include "aiusage/log.hpp"
#include "handlers.hpp"
#include "responses.hpp"
#include "router.hpp"

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

// Bodies up to this size (a few records; answers of a few KiB) may be answered later.
constexpr std::size_t kAnswerLaterMaxBytes = 4096;

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
  // A small body is answered from the writer's sync thread once durable, so no worker waits for
  // the disk (docs/design.md): its answer is built here for the likely outcome (every record new),
  // and its memory stays leased until it is sent.
  if (body.size() <= kAnswerLaterMaxBytes)
    if (Exchange::Responder later = ex.answer_later()) {
      auto held = std::make_shared<MemoryBudget::Lease>(std::move(*lease));
      auto expected = std::make_shared<Response>();
      const std::string& currency = c.service.config().currency;
      std::optional<IngestError> early;
      try {
        early = c.service.ingest_then(
            body, *format, who.project,
            [&](const IngestOutcome& o) {
              *expected = json_response(200, json::ingest_outcome(o, currency));
            },
            [&currency, later, held, expected](Result<IngestOutcome, IngestError> result) {
              if (result && result->duplicates == 0) return later(std::move(*expected));
              later(result ? json_response(200, json::ingest_outcome(*result, currency))
                           : ingest_failed(result.error()));
            });
      } catch (...) {  // nothing was queued: answered as the router answers what a handler throws
        later(exception_answer(ex.path()));
        return {};
      }
      if (early) later(ingest_failed(*early));
      return {};  // ignored: `later` answers
    }
  auto result = c.service.ingest(body, *format, who.project);
  if (!result) return ingest_failed(result.error());
  return json_response(200, json::ingest_outcome(*result, c.service.config().currency));
}

}  // namespace aiusage
