#pragma once
// OTLP/HTTP trace exports on the wire (untrusted input): ExportTraceServiceRequest in protobuf or
// in the OTLP JSON encoding, gzip, and the answers (ExportTraceServiceResponse, google.rpc.Status)
// in the request's encoding. Field numbers: src/otlp/otlp_trace.proto.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "aiusage/result.hpp"

namespace aiusage::otlp {

enum class Encoding { protobuf, json };

// An attribute's AnyValue as the mapping reads it; arrays, key-value lists and bytes are `other`.
struct Value {
  enum class Kind { none, string, integer, real, boolean, other };
  Kind kind = Kind::none;
  std::string_view text;
  std::int64_t integer = 0;
  double real = 0;
  bool boolean = false;
};

struct Attribute {
  std::string_view key;
  Value value;
};

// One span of a request; its views are valid while the callback that receives it runs.
struct SpanView {
  std::string trace_id;  // lower-case hex of the 16 bytes; "" when not 16 bytes
  std::string span_id;   // lower-case hex of the 8 bytes; "" when not 8 bytes
  std::uint64_t end_time_unix_nano = 0;
  std::span<const Attribute> attributes;
  std::span<const Attribute> resource;  // the attributes of its ResourceSpans' resource
};

using SpanSink = std::function<void(const SpanView&)>;

// Calls `take` with every span of an ExportTraceServiceRequest, in order; or says why the payload
// cannot be read (spans already passed to `take` must then be dropped). JSON: lowerCamelCase
// names, hex ids, 64-bit integers as strings or numbers, unknown members ignored.
std::optional<std::string> decode_request(std::string_view body, Encoding encoding,
                                          const SpanSink& take);

struct GunzipError {
  bool too_large = false;  // the output would pass the limit (else the input is not gzip)
  std::string message;
};
// The decompressed gzip `body` (one or more members), refused once it passes `max_bytes`.
Result<std::string, GunzipError> gunzip(std::string_view body, std::size_t max_bytes);

// An ExportTraceServiceResponse: empty (full success) or with partial_success set.
std::string export_response(Encoding encoding, std::int64_t rejected_spans,
                            std::string_view error_message);
// A google.rpc.Status with `code` (a google.rpc.Code: 3 INVALID_ARGUMENT, 14 UNAVAILABLE...).
std::string status_body(Encoding encoding, int code, std::string_view message);

inline const char* content_type(Encoding e) {
  return e == Encoding::protobuf ? "application/x-protobuf" : "application/json";
}

}  // namespace aiusage::otlp
