// libFuzzer target over the ingest parser and validator (parse_usage_body), the code that reads
// untrusted request bodies. The first byte picks the body format and policy; the rest is the body.
// Besides crashes and sanitizer reports it traps on a broken contract of the result, among them:
// every string accepted is valid UTF-8, and the /metrics sample line of every accepted record's
// series (written by exposition.cpp, as metrics.cpp writes it) is valid UTF-8 and reads back as
// the record's labels. tests/utf8_test.cpp runs promtool over whole pages of such records.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "aiusage/exposition.hpp"
#include "aiusage/ingest.hpp"
#include "aiusage/pricing.hpp"
#include "aiusage/utf8.hpp"

namespace {

constexpr std::int64_t kNow = 1'794'744'000'000;  // 2026-11-15T12:00:00Z

void require(bool ok) {
  if (!ok) __builtin_trap();
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Whether `line` is `name{l1="v1",...} 1\n` in the text format 0.0.4 with the label values
// `values` once unescaped (only \\, \" and \n escaped, no raw newline).
bool reads_back(std::string_view line, std::string_view name,
                std::initializer_list<std::string_view> values) {
  if (!line.starts_with(name) || line.substr(name.size(), 1) != "{") return false;
  std::size_t i = name.size() + 1;
  bool first = true;
  for (std::string_view want : values) {
    if (!first && (i >= line.size() || line[i++] != ',')) return false;
    first = false;
    const std::size_t eq = line.find("=\"", i);
    if (eq == std::string_view::npos) return false;
    i = eq + 2;
    std::string got;
    for (;; ++i) {
      if (i >= line.size() || line[i] == '\n') return false;
      if (line[i] == '"') break;
      if (line[i] == '\\') {
        if (++i >= line.size()) return false;
        if (line[i] == 'n')
          got += '\n';
        else if (line[i] == '\\' || line[i] == '"')
          got += line[i];
        else
          return false;
      } else {
        got += line[i];
      }
    }
    ++i;
    if (got != want) return false;
  }
  return line.substr(i) == "} 1\n";
}

// The record's strings are valid UTF-8, and so is its series' line on the /metrics page.
void check_strings(const aiusage::UsageRecord& rec) {
  using namespace aiusage;
  for (const std::string* s : {&rec.id, &rec.user, &rec.project, &rec.provider, &rec.model})
    require(valid_utf8(*s));
  std::string block, line;
  exposition::label(block, "provider", rec.provider, true);
  exposition::label(block, "model", rec.model);
  exposition::label(block, "project", rec.project);
  exposition::label(block, "user", rec.user);
  exposition::sample(line, "ai_usage_requests_total", block, "cached", "false", 1.0);
  require(simdjson::validate_utf8(line.data(), line.size()));
  require(reads_back(line, "ai_usage_requests_total",
                     {rec.provider, rec.model, rec.project, rec.user, "false"}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using namespace aiusage;
  const std::uint8_t mode = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  IngestPolicy policy{kNow, TimeWindow{}, std::nullopt};
  if (mode & 2) policy.project = "web";
  if (mode & 4) policy.window = TimeWindow{std::nullopt, std::nullopt};
  const BodyFormat format = mode & 1 ? BodyFormat::ndjson : BodyFormat::json;
  auto r = parse_usage_body(body, format, policy);
  // RapidJSON alone reads every body as simdjson (with RapidJSON where it refuses) does, but for
  // zeros with an exponent beyond 308 (0e400), valid JSON that RapidJSON alone refuses.
  IngestPolicy rapid = policy;
  rapid.fast_parse_max_bytes = 0;
  auto same = parse_usage_body(body, format, rapid);
  if (!same.ok() && same.error().message.ends_with("Number too big to be stored in double.") &&
      (r.ok() || r.error().message != same.error().message))
    return 0;
  require(same.ok() == r.ok());
  if (r.ok()) {
    require(*same == *r);
  } else {
    const IngestError &a = r.error(), &b = same.error();
    require(a.kind == b.kind && a.message == b.message && a.details == b.details &&
            a.offset == b.offset && a.records == b.records);
  }
  if (!r) {
    const IngestError& e = r.error();
    require(e.kind == IngestErrorKind::invalid || e.kind == IngestErrorKind::wrong_project);
    require(!e.message.empty());
    require(e.details.size() <= kMaxErrorDetails);
    require(e.records >= 1);
    require(e.kind == IngestErrorKind::wrong_project ? policy.project.has_value() : true);
    require(valid_utf8(e.message));
    for (const FieldError& d : e.details) require(valid_utf8(d.field) && valid_utf8(d.message));
    return 0;
  }
  require(!r->empty());
  require(body.find('\0') == std::string_view::npos);  // JSON has no raw NUL: none went unread
  for (const UsageRecord& rec : *r) {
    require(!rec.user.empty() && !rec.provider.empty() && !rec.model.empty());
    require(utf8_length(rec.id) <= kMaxIdLength && utf8_length(rec.user) <= kMaxLabelLength);
    require(rec.prompt_tokens >= 0 && rec.prompt_tokens <= kMaxTokens);
    require(rec.completion_tokens >= 0 && rec.completion_tokens <= kMaxTokens);
    require(rec.cache_read_tokens >= 0 && rec.cache_write_tokens >= 0);
    require(rec.cache_read_tokens + rec.cache_write_tokens <= rec.prompt_tokens);
    require(rec.fingerprint.size() == 32);
    require(rec.timestamp_ms <= 253'402'300'799'999);
    if (!(mode & 4))
      require(rec.timestamp_ms <= kNow + 5 * 60'000 &&
              rec.timestamp_ms >= kNow - 35LL * 86'400'000);
    if (policy.project) require(rec.project == *policy.project);
    require(rec.received_ms == kNow);
    check_strings(rec);
  }
  return 0;
}
