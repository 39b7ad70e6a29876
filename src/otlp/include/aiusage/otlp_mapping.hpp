#pragma once
// A span of an OTLP export as a usage record: which attributes give its tokens, provider, model,
// user and project (README "OTLP/HTTP traces", the mapping table), and its deterministic id.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aiusage/ingest.hpp"
#include "aiusage/otlp_wire.hpp"
#include "aiusage/record.hpp"

namespace aiusage {

// [otlp]: the first attribute present wins, span attributes before resource attributes.
struct OtlpOptions {
  std::vector<std::string> user_attributes = {"user.id", "enduser.id", "langfuse.user.id",
                                              "traceloop.association.properties.user_id"};
  std::vector<std::string> project_attributes = {"project.id", "service.name"};
  std::string default_user = "unknown";  // when no user attribute is present
  // A record's tags: for each tag key (ascending), the attributes that may give its value.
  std::vector<std::pair<std::string, std::vector<std::string>>> tag_attributes;
  bool operator==(const OtlpOptions&) const = default;
};

namespace otlp {

struct SpanVerdict {
  enum class Kind { record, skipped, rejected };
  Kind kind = Kind::skipped;  // skipped: the span carries no token usage
  UsageRecord record;         // record: checked like a JSON record, with id and fingerprint
  std::string reason;         // rejected: why, naming the span and the attribute
};

// The record of `span`, or why there is none. `policy` is the JSON API's: its time window and
// the token's project binding.
SpanVerdict map_span(const SpanView& span, const OtlpOptions& options, const IngestPolicy& policy);

// The record id of a span: the first 16 bytes of SHA-256("otlp:" trace ":" span) as a version-8
// UUID, so a re-sent span has the id it had.
std::string record_id(std::string_view trace_hex, std::string_view span_hex);

}  // namespace otlp
}  // namespace aiusage
