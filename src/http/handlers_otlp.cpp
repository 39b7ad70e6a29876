// POST /v1/traces: OTLP/HTTP trace exports (protobuf or JSON, gzip or not); GenAI spans with
// token usage become records, stored like the JSON API's; the answer follows the OTLP/HTTP spec.
#include <algorithm>
#include <array>

#include "aiusage/log.hpp"
#include "aiusage/otlp_mapping.hpp"
#include "aiusage/otlp_wire.hpp"
#include "handlers.hpp"
#include "responses.hpp"

namespace aiusage {

namespace {

using otlp::Encoding;

// Reasons listed in partial_success.error_message; the count before them is exact.
constexpr std::size_t kMaxReasons = 10;
// google.rpc.Code
constexpr int kInvalidArgument = 3;
constexpr int kResourceExhausted = 8;
constexpr int kUnavailable = 14;

std::optional<Encoding> encoding_of(const char* content_type) {
  const std::string type = lower_media_type(content_type);
  if (type == "application/x-protobuf" || type == "application/protobuf") return Encoding::protobuf;
  if (type == "application/json") return Encoding::json;
  return std::nullopt;
}

Response status_response(Encoding e, int http, int code, const std::string& message) {
  return {http, otlp::content_type(e), otlp::status_body(e, code, message), {}, {}};
}

// The hex ids of a span that became a record (32 and 16 digits).
struct SpanIds {
  std::array<char, 48> hex;
  explicit SpanIds(const otlp::SpanView& s) {
    std::copy_n(s.trace_id.data(), 32, hex.data());
    std::copy_n(s.span_id.data(), 16, hex.data() + 32);
  }
  std::string name() const {
    return "span " + std::string(hex.data() + 32, 16) + " of trace " + std::string(hex.data(), 32);
  }
};

// The spans of one export: their records, and what became of the others.
struct Mapped {
  std::vector<UsageRecord> records;
  std::vector<SpanIds> spans;  // per record
  std::vector<std::string> reasons;
  OtlpSpanCounts counts;
};

std::string partial_message(const std::vector<std::string>& reasons, std::size_t spans) {
  std::string m = std::to_string(reasons.size()) + " of " + std::to_string(spans) +
                  " spans rejected, the others were stored or skipped";
  for (std::size_t i = 0; i < std::min(reasons.size(), kMaxReasons); ++i)
    m += (i == 0 ? ": " : "; ") + reasons[i];
  if (reasons.size() > kMaxReasons) m += "; ...";
  return m;
}

// Undoes the Content-Encoding of `body` in place; or the answer that refuses it.
std::optional<Response> decode_content(Exchange& ex, Encoding e, std::size_t max_bytes,
                                       std::string& body) {
  const std::string coding = lower_media_type(ex.header("Content-Encoding"));
  if (coding.empty() || coding == "identity") return std::nullopt;
  if (coding != "gzip")
    return status_response(e, 415, kInvalidArgument,
                           "Content-Encoding must be gzip or none, not \"" + coding + "\"");
  auto plain = otlp::gunzip(body, max_bytes);
  if (!plain)
    return status_response(e, plain.error().too_large ? 413 : 400,
                           plain.error().too_large ? kResourceExhausted : kInvalidArgument,
                           plain.error().message);
  body = std::move(*plain);
  return std::nullopt;
}

}  // namespace

Response otlp_traces(HandlerContext& c, Exchange& ex, const Principal& who) {
  auto refused = [&](Response r) { return refused_request(c, std::move(r)); };
  const std::optional<Encoding> e = encoding_of(ex.header("Content-Type"));
  if (!e)
    return refused(json_error(
        415, "Content-Type must be application/x-protobuf or application/json (OTLP/HTTP)"));
  std::string body;
  std::optional<MemoryBudget::Lease> lease;
  if (auto r = c.bodies.read(ex, body, lease)) return refused(std::move(*r));
  if (auto r = decode_content(ex, *e, c.options.max_body_bytes, body)) return refused(*r);
  if (!lease->grow_to(ingest_memory_bound(body.size()))) return refused(c.bodies.over_budget(true));

  const std::shared_ptr<const LiveConfig> live = c.service.current();
  const IngestPolicy policy{c.service.now_ms(), live->window, who.project};
  Mapped m;
  std::size_t spans = 0;
  auto bad = otlp::decode_request(body, *e, [&](const otlp::SpanView& span) {
    ++spans;
    otlp::SpanVerdict v = otlp::map_span(span, live->otlp, policy);
    if (v.kind == otlp::SpanVerdict::Kind::record) {
      m.records.push_back(std::move(v.record));
      m.spans.emplace_back(span);
    }
    if (v.kind == otlp::SpanVerdict::Kind::skipped) ++m.counts.skipped;
    if (v.kind == otlp::SpanVerdict::Kind::rejected) m.reasons.push_back(std::move(v.reason));
  });
  if (bad) return refused(status_response(*e, 400, kInvalidArgument, *bad));
  c.service.count_rejected(static_cast<std::int64_t>(m.reasons.size()));

  auto stored = c.service.ingest_records(std::move(m.records));
  if (!stored) {
    log::error("OTLP ingest failed", {{"status", "503"}, {"err", stored.error().message}});
    Response r = status_response(*e, 503, kUnavailable, stored.error().message);
    r.headers.push_back({"Retry-After", "1"});
    return r;
  }
  for (std::size_t i = 0; i < stored->records.size(); ++i)
    if (!stored->refused[i].empty())
      m.reasons.push_back(m.spans[i].name() + ": " + stored->refused[i]);
  m.counts.stored = static_cast<std::int64_t>(stored->accepted);
  m.counts.duplicate = static_cast<std::int64_t>(stored->duplicates);
  m.counts.rejected = static_cast<std::int64_t>(m.reasons.size());
  c.service.count_otlp_spans(m.counts);
  const std::string message = m.reasons.empty() ? "" : partial_message(m.reasons, spans);
  return {200,
          otlp::content_type(*e),
          otlp::export_response(*e, static_cast<std::int64_t>(m.reasons.size()), message),
          {},
          {}};
}

}  // namespace aiusage
