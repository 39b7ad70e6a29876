#pragma once
// OTLP trace exports as the tests and the bench send them: one description, encoded with the
// generated protobuf classes or as OTLP JSON text, optionally gzip-compressed.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace aiusage::testing {

struct OtlpAttr {
  std::string key;
  std::variant<std::string, std::int64_t, double, bool> value;
};

struct OtlpSpan {
  std::string trace_id;  // 32 hex digits
  std::string span_id;   // 16 hex digits
  std::uint64_t end_time_unix_nano = 0;
  std::vector<OtlpAttr> attributes;
};

struct OtlpExport {
  std::vector<OtlpAttr> resource;
  std::vector<OtlpSpan> spans;  // in one ResourceSpans and one ScopeSpans
};

std::string to_protobuf(const OtlpExport& e);
// int64 values as decimal strings when `int_as_string` (both are OTLP JSON).
std::string to_json(const OtlpExport& e, bool int_as_string = true);
std::string gzip(std::string_view data);

// A span id of 16 hex digits from a number, and a trace id of 32.
std::string span_hex(std::uint64_t n);
std::string trace_hex(std::uint64_t n);

}  // namespace aiusage::testing
