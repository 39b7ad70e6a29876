// decode_request's protobuf reader against the parser protoc generates from the same
// otlp_trace.proto: on each payload both accept or both refuse, and they see the same spans —
// unknown fields and groups, fields with another wire type, repeated and merged messages, UTF-8.
#include <google/protobuf/stubs/logging.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aiusage/otlp_wire.hpp"
#include "otlp_trace.pb.h"
#include "support/otlp_export.hpp"

using namespace aiusage;
using namespace aiusage::testing;
namespace pb = aiusage::otlp::pb;

namespace {

std::string varint(std::uint64_t v) {
  std::string out;
  for (; v >= 0x80; v >>= 7) out += static_cast<char>((v & 0x7F) | 0x80);
  return out + static_cast<char>(v);
}
std::string tag(int number, int wire) {
  return varint(static_cast<std::uint64_t>(number) << 3 | wire);
}
std::string len(int number, const std::string& bytes) {
  return tag(number, 2) + varint(bytes.size()) + bytes;
}
std::string fixed64(int number, std::uint64_t v) {
  std::string out = tag(number, 1);
  for (int i = 0; i < 8; ++i) out += static_cast<char>(v >> (8 * i) & 0xFF);
  return out;
}
std::string vint(int number, std::uint64_t v) { return tag(number, 0) + varint(v); }

// KeyValue, AnyValue, Span and the messages around them, field by field.
std::string kv(const std::string& key, const std::string& any_value) {
  return len(1, key) + len(2, any_value);
}
std::string str(const std::string& s) { return len(1, s); }
std::string num(std::int64_t i) { return vint(3, static_cast<std::uint64_t>(i)); }
std::string span(const std::string& fields) { return len(2, fields); }  // in ScopeSpans
std::string request(const std::string& resource_spans) { return len(1, resource_spans); }
const std::string kTrace = len(1, std::string(16, '\x4b')), kSpan = len(2, std::string(8, '\x07'));

struct Seen {
  std::string trace, span;
  std::uint64_t end = 0;
  std::vector<std::string> attributes, resource;  // key=kind:value
  bool operator==(const Seen&) const = default;
};

std::string describe(std::string_view key, otlp::Value::Kind kind, const std::string& value) {
  return std::string(key) + "=" + std::to_string(static_cast<int>(kind)) + ":" + value;
}

std::string describe(const otlp::Attribute& a) {
  using K = otlp::Value::Kind;
  const otlp::Value& v = a.value;
  const std::string value = v.kind == K::string    ? std::string(v.text)
                            : v.kind == K::integer ? std::to_string(v.integer)
                            : v.kind == K::real    ? std::to_string(v.real)
                            : v.kind == K::boolean ? std::to_string(v.boolean)
                                                   : "";
  return describe(a.key, v.kind, value);
}

std::string describe(const pb::KeyValue& kv) {
  using K = otlp::Value::Kind;
  const pb::AnyValue& v = kv.value();
  switch (v.value_case()) {
    case pb::AnyValue::kStringValue:
      return describe(kv.key(), K::string, v.string_value());
    case pb::AnyValue::kIntValue:
      return describe(kv.key(), K::integer, std::to_string(v.int_value()));
    case pb::AnyValue::kDoubleValue:
      return describe(kv.key(), K::real, std::to_string(v.double_value()));
    case pb::AnyValue::kBoolValue:
      return describe(kv.key(), K::boolean, std::to_string(v.bool_value()));
    case pb::AnyValue::VALUE_NOT_SET:
      return describe(kv.key(), K::none, "");
    default:
      return describe(kv.key(), K::other, "");
  }
}

std::string hex(const std::string& bytes, std::size_t size) {
  if (bytes.size() != size) return "";
  std::string out;
  for (unsigned char c : bytes)
    out += "0123456789abcdef"[c >> 4], out += "0123456789abcdef"[c & 15];
  return out;
}

// The spans the generated classes read, or nullopt when they refuse the payload.
std::optional<std::vector<Seen>> generated(const std::string& body) {
  pb::ExportTraceServiceRequest r;
  const google::protobuf::LogSilencer quiet;  // its complaint about invalid UTF-8
  if (!r.ParseFromString(body)) return std::nullopt;
  std::vector<Seen> out;
  for (const pb::ResourceSpans& rs : r.resource_spans())
    for (const pb::ScopeSpans& ss : rs.scope_spans())
      for (const pb::Span& s : ss.spans()) {
        Seen seen{hex(s.trace_id(), 16), hex(s.span_id(), 8), s.end_time_unix_nano(), {}, {}};
        for (const pb::KeyValue& kv : s.attributes()) seen.attributes.push_back(describe(kv));
        for (const pb::KeyValue& kv : rs.resource().attributes())
          seen.resource.push_back(describe(kv));
        out.push_back(seen);
      }
  return out;
}

// The spans decode_request reads, or nullopt when it refuses the payload.
std::optional<std::vector<Seen>> ours(const std::string& body) {
  std::vector<Seen> out;
  auto bad = otlp::decode_request(body, otlp::Encoding::protobuf, [&](const otlp::SpanView& s) {
    Seen seen{s.trace_id, s.span_id, s.end_time_unix_nano, {}, {}};
    for (const otlp::Attribute& a : s.attributes) seen.attributes.push_back(describe(a));
    for (const otlp::Attribute& a : s.resource) seen.resource.push_back(describe(a));
    out.push_back(seen);
  });
  if (bad) return std::nullopt;
  return out;
}

}  // namespace

TEST_CASE("otlp protobuf - the reader agrees with the generated parser") {
  const std::string usage = kv("gen_ai.usage.input_tokens", num(12));
  const std::string one_span = span(kTrace + kSpan + fixed64(8, 99) + len(9, usage));
  const std::string resource = len(1, len(1, kv("service.name", str("svc"))));
  const std::string group = tag(20, 3) + vint(1, 5) + tag(21, 3) + tag(21, 4) + tag(20, 4);
  OtlpExport e;
  e.resource = {{"service.name", "svc"}, {"ratio", 0.25}, {"flag", true}};
  e.spans = {{trace_hex(1), span_hex(1), 123, {{"gen_ai.usage.input_tokens", std::int64_t{5}}}},
             {trace_hex(2), span_hex(2), 456, {{"user.id", "u"}, {"neg", std::int64_t{-3}}}}};
  struct Case {
    const char* name;
    std::string body;
    bool valid;
  };
  const Case cases[] = {
      {"an export of the test support", to_protobuf(e), true},
      {"empty", "", true},
      {"the resource after the spans", request(len(2, one_span) + resource), true},
      {"two resources: their attributes merged",
       request(resource + len(2, one_span) + len(1, len(1, kv("host", str("h"))))), true},
      {"two resource spans, two scopes",
       request(resource + len(2, one_span)) + request(len(2, one_span) + len(2, one_span)), true},
      {"unknown fields of every wire type, a nested group",
       request(vint(9, 1) + resource + len(2, len(1, "scope") + one_span + fixed64(7, 1)) + group +
               tag(3, 5) + "abcd") +
           vint(99, 7),
       true},
      {"unknown fields inside a span and a value",
       request(len(2, span(vint(6, 3) + kTrace + kSpan + fixed64(7, 5) + len(15, "st") + group +
                           len(9, kv("k", num(1) + vint(8, 2) + group))))),
       true},
      {"known field numbers with another wire type are unknown fields",
       request(len(2, span(vint(1, 5) + kSpan + vint(8, 77) + tag(9, 5) + "wxyz"))), true},
      {"a value given twice: the last member wins",
       request(len(2, span(len(9, len(1, "a") + len(2, str("x")) + len(2, num(3))) +
                           len(9, len(1, "b") + len(2, num(3)) + len(2, "")) +
                           len(9, len(1, "c") + len(2, str("x") + vint(2, 1)))))),
       true},
      {"ids of the wrong size, a key given twice",
       request(len(2, span(len(1, "short") + len(2, std::string(9, 'x')) +
                           len(9, len(1, "a") + len(1, "b") + len(2, fixed64(4, 0)))))),
       true},
      {"arrays, key-value lists and bytes are other values",
       request(len(2, span(len(9, kv("a", len(5, "\xff"))) + len(9, kv("l", len(6, "zz"))) +
                           len(9, kv("b", len(7, "\xfe\xff")))))),
       true},
      {"a key-value without a value", request(len(2, span(len(9, len(1, "k"))))), true},
      {"a ten-byte varint",
       request(len(2, span(len(9, kv("n", tag(3, 0) + std::string(9, '\xff') + '\x01'))))), true},
      {"a span name that is not UTF-8", request(len(2, span(len(5, "\xc3\x28")))), false},
      {"a key that is not UTF-8", request(len(2, span(len(9, kv("\xed\xa0\x80", num(1)))))), false},
      {"a string value that is not UTF-8",
       request(len(2, span(len(9, kv("k", str("\xf8\x88\x80\x80\x80")))))), false},
      {"a resource key that is not UTF-8", request(len(1, len(1, kv("\xff", num(1))))), false},
      {"garbage", "\xff\xff\xff", false},
      {"a length past the end", request(len(2, span(kTrace))).substr(0, 10), false},
      {"a varint cut short", request(len(2, span(vint(6, 300).substr(0, 2)))), false},
      {"a fixed64 cut short", request(len(2, span(fixed64(8, 1).substr(0, 5)))), false},
      {"a zero tag", request(len(2, span(std::string(1, '\0')))), false},
      {"field number 0", tag(0, 2) + varint(0), false},
      {"an end group without its start", request(len(2, span(tag(5, 4)))), false},
      {"a group ended by another number", request(tag(20, 3) + tag(21, 4)), false},
      {"a group never ended", request(len(2, span(tag(20, 3) + vint(1, 1)))), false},
      {"wire type 6", request(tag(4, 6) + "x"), false},
      {"wire type 7", tag(4, 7), false},
      {"an eleven-byte varint", vint(9, 0).substr(0, 1) + std::string(10, '\xff') + '\x01', false},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const auto expected = generated(c.body);
      REQUIRE(expected.has_value() == c.valid);  // the case is what it says
      const auto seen = ours(c.body);
      REQUIRE(seen.has_value() == c.valid);
      if (c.valid) CHECK(*seen == *expected);
    }
  }
}
