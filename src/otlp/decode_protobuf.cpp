// ExportTraceServiceRequest in protobuf, read with protobuf's CodedInputStream into views of the
// body (no message objects): the fields of otlp_trace.proto by number and wire type, any other
// field skipped as unknown, strings checked as UTF-8, as the generated parser does.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>

#include <bit>
#include <climits>
#include <vector>

#include "decode.hpp"
#include "otlp_trace.pb.h"

namespace aiusage::otlp {

namespace {

using google::protobuf::io::CodedInputStream;
using Wire = google::protobuf::internal::WireFormatLite;

struct Malformed {};  // the bytes are not a valid message

// The fields of one message, in order.
class Fields {
 public:
  explicit Fields(std::string_view bytes)
      : base_(bytes.data()),
        in_(reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size())) {}

  // Reads the next tag: false at the end of the message.
  bool next() {
    tag_ = in_.ReadTag();
    if (tag_ == 0 && !in_.ConsumedEntireMessage()) throw Malformed{};
    if (tag_ != 0 && Wire::GetTagFieldNumber(tag_) == 0) throw Malformed{};
    return tag_ != 0;
  }
  bool is(int number, Wire::WireType type) const { return tag_ == Wire::MakeTag(number, type); }

  std::string_view bytes() {
    int size = 0;
    if (!in_.ReadVarintSizeAsInt(&size)) throw Malformed{};
    const char* at = base_ + in_.CurrentPosition();
    if (!in_.Skip(size)) throw Malformed{};
    return {at, static_cast<std::size_t>(size)};
  }
  std::string_view text() {  // a proto3 string
    const std::string_view s = bytes();
    if (!google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size())))
      throw Malformed{};
    return s;
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    if (!in_.ReadVarint64(&v)) throw Malformed{};
    return v;
  }
  std::uint64_t fixed64() {
    std::uint64_t v = 0;
    if (!in_.ReadLittleEndian64(&v)) throw Malformed{};
    return v;
  }
  void skip() {
    if (!Wire::SkipField(&in_, tag_)) throw Malformed{};
  }

 private:
  const char* base_;
  CodedInputStream in_;
  std::uint32_t tag_ = 0;
};

constexpr auto kBytes = Wire::WIRETYPE_LENGTH_DELIMITED;

// One AnyValue occurrence merged into `v`: the last member of the oneof read wins.
void read_value(std::string_view bytes, Value& v) {
  using A = pb::AnyValue;
  Fields f(bytes);
  while (f.next()) {
    if (f.is(A::kStringValueFieldNumber, kBytes)) {
      v = {Value::Kind::string, f.text()};
    } else if (f.is(A::kBoolValueFieldNumber, Wire::WIRETYPE_VARINT)) {
      v = {Value::Kind::boolean, {}, 0, 0, f.varint() != 0};
    } else if (f.is(A::kIntValueFieldNumber, Wire::WIRETYPE_VARINT)) {
      v = {Value::Kind::integer, {}, static_cast<std::int64_t>(f.varint())};
    } else if (f.is(A::kDoubleValueFieldNumber, Wire::WIRETYPE_FIXED64)) {
      v = {Value::Kind::real, {}, 0, std::bit_cast<double>(f.fixed64())};
    } else if (f.is(A::kArrayValueFieldNumber, kBytes) ||
               f.is(A::kKvlistValueFieldNumber, kBytes) ||
               f.is(A::kBytesValueFieldNumber, kBytes)) {
      f.bytes();
      v = {Value::Kind::other, {}};
    } else {
      f.skip();
    }
  }
}

Attribute read_key_value(std::string_view bytes) {
  Attribute a;
  Fields f(bytes);
  while (f.next()) {
    if (f.is(pb::KeyValue::kKeyFieldNumber, kBytes))
      a.key = f.text();
    else if (f.is(pb::KeyValue::kValueFieldNumber, kBytes))
      read_value(f.bytes(), a.value);
    else
      f.skip();
  }
  return a;
}

// Appends the attributes of one Resource occurrence to `out`.
void read_resource(std::string_view bytes, std::vector<Attribute>& out) {
  Fields f(bytes);
  while (f.next()) {
    if (f.is(pb::Resource::kAttributesFieldNumber, kBytes))
      out.push_back(read_key_value(f.bytes()));
    else
      f.skip();
  }
}

// What the spans of a request are read into; reused from span to span.
struct Reader {
  const SpanSink& take;
  std::vector<Attribute> resource, attributes;
  SpanView view;

  void span(std::string_view bytes) {
    using S = pb::Span;
    std::string_view trace, span;
    std::uint64_t end = 0;
    attributes.clear();
    Fields f(bytes);
    while (f.next()) {
      if (f.is(S::kTraceIdFieldNumber, kBytes))
        trace = f.bytes();
      else if (f.is(S::kSpanIdFieldNumber, kBytes))
        span = f.bytes();
      else if (f.is(S::kNameFieldNumber, kBytes))
        f.text();  // not read, but checked as a string
      else if (f.is(S::kEndTimeUnixNanoFieldNumber, Wire::WIRETYPE_FIXED64))
        end = f.fixed64();
      else if (f.is(S::kAttributesFieldNumber, kBytes))
        attributes.push_back(read_key_value(f.bytes()));
      else
        f.skip();
    }
    set_id_hex(view.trace_id, trace, 16);
    set_id_hex(view.span_id, span, 8);
    view.end_time_unix_nano = end;
    view.attributes = attributes;
    view.resource = resource;
    take(view);
  }

  void scope_spans(std::string_view bytes) {
    Fields f(bytes);
    while (f.next()) {
      if (f.is(pb::ScopeSpans::kSpansFieldNumber, kBytes))
        span(f.bytes());
      else
        f.skip();
    }
  }

  // Its resource's attributes first, wherever the resource is in the message, then its spans.
  void resource_spans(std::string_view bytes) {
    using R = pb::ResourceSpans;
    resource.clear();
    for (Fields f(bytes); f.next();) {
      if (f.is(R::kResourceFieldNumber, kBytes))
        read_resource(f.bytes(), resource);
      else
        f.skip();
    }
    for (Fields f(bytes); f.next();) {
      if (f.is(R::kScopeSpansFieldNumber, kBytes))
        scope_spans(f.bytes());
      else
        f.skip();
    }
  }
};

}  // namespace

std::optional<std::string> decode_protobuf(std::string_view body, const SpanSink& take) {
  if (body.size() > static_cast<std::size_t>(INT_MAX))
    return "the protobuf payload is larger than 2 GiB";
  Reader reader{take, {}, {}, {}};
  try {
    for (Fields f(body); f.next();) {
      if (f.is(pb::ExportTraceServiceRequest::kResourceSpansFieldNumber, kBytes))
        reader.resource_spans(f.bytes());
      else
        f.skip();
    }
  } catch (const Malformed&) {
    return "the body is not a valid protobuf ExportTraceServiceRequest";
  }
  return std::nullopt;
}

}  // namespace aiusage::otlp
