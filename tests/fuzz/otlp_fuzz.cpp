// libFuzzer target over the OTLP receiver's decoders (protobuf and JSON ExportTraceServiceRequest,
// gzip) and the span mapping, the code POST /v1/traces runs on untrusted bodies. The first byte
// picks the encoding, whether the rest is gunzipped first and whether a project-bound token's
// policy applies; the rest is the body. Besides crashes and sanitizer reports it traps on a
// broken contract: gunzip never returns more than its limit; every record's labels are valid
// UTF-8 within the JSON API's bounds and never "__other__"; its cache tokens are part of its
// prompt tokens; its id is the span's derived UUID; a bound policy yields only its project.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "aiusage/otlp_mapping.hpp"
#include "aiusage/otlp_wire.hpp"
#include "aiusage/utf8.hpp"

namespace {

constexpr std::int64_t kNow = 1'794'744'000'000;  // 2026-11-15T12:00:00Z
constexpr std::size_t kMaxPlain = 1 << 16;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void check_label(const std::string& s, bool may_be_empty) {
  require(aiusage::valid_utf8(s));
  require(may_be_empty || !s.empty());
  require(s.size() <= 4 * aiusage::kMaxLabelLength);
  require(s != aiusage::kOtherLabel);
}

void check_record(const aiusage::UsageRecord& r, const aiusage::otlp::SpanView& span,
                  const aiusage::IngestPolicy& policy) {
  check_label(r.user, false);
  check_label(r.project, true);
  check_label(r.provider, false);
  check_label(r.model, false);
  require(r.prompt_tokens >= 0 && r.completion_tokens >= 0);
  require(r.cache_read_tokens >= 0 && r.cache_write_tokens >= 0);
  require(r.cache_read_tokens + r.cache_write_tokens <= r.prompt_tokens);
  require(r.prompt_tokens <= aiusage::kMaxTokens && r.completion_tokens <= aiusage::kMaxTokens);
  require(span.trace_id.size() == 32 && span.span_id.size() == 16);
  require(r.id == aiusage::otlp::record_id(span.trace_id, span.span_id));
  require(!r.fingerprint.empty());
  require(!policy.project || r.project == *policy.project);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode & 2) {
    auto plain = aiusage::otlp::gunzip(body, kMaxPlain);
    if (!plain) {
      require(!plain.error().message.empty());
      return 0;
    }
    require(plain->size() <= kMaxPlain);
    body = std::move(*plain);
  }
  const auto encoding =
      (mode & 1) ? aiusage::otlp::Encoding::json : aiusage::otlp::Encoding::protobuf;
  aiusage::IngestPolicy policy{kNow, {}, std::nullopt};
  if (mode & 4) policy.project = "svc";
  const aiusage::OtlpOptions options;
  std::int64_t rejected = 0;
  auto bad = aiusage::otlp::decode_request(body, encoding, [&](const aiusage::otlp::SpanView& s) {
    aiusage::otlp::SpanVerdict v = aiusage::otlp::map_span(s, options, policy);
    if (v.kind == aiusage::otlp::SpanVerdict::Kind::record) check_record(v.record, s, policy);
    if (v.kind == aiusage::otlp::SpanVerdict::Kind::rejected) {
      require(!v.reason.empty());
      ++rejected;
    }
  });
  if (bad) {
    require(!bad->empty());
    require(!aiusage::otlp::status_body(encoding, 3, *bad).empty());
    return 0;
  }
  const std::string answer = aiusage::otlp::export_response(encoding, rejected, "");
  require(rejected == 0 ? answer.size() <= 2 : !answer.empty());
  return 0;
}
