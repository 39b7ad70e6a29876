// ExportTraceServiceRequest in protobuf, parsed on an arena with the generated lite classes.
#include <google/protobuf/arena.h>

#include <climits>
#include <vector>

#include "decode.hpp"
#include "otlp_trace.pb.h"

namespace aiusage::otlp {

namespace {

using KeyValues = google::protobuf::RepeatedPtrField<pb::KeyValue>;

Value value_of(const pb::AnyValue& v) {
  Value out;
  switch (v.value_case()) {
    case pb::AnyValue::kStringValue:
      out.kind = Value::Kind::string;
      out.text = v.string_value();
      break;
    case pb::AnyValue::kBoolValue:
      out.kind = Value::Kind::boolean;
      out.boolean = v.bool_value();
      break;
    case pb::AnyValue::kIntValue:
      out.kind = Value::Kind::integer;
      out.integer = v.int_value();
      break;
    case pb::AnyValue::kDoubleValue:
      out.kind = Value::Kind::real;
      out.real = v.double_value();
      break;
    case pb::AnyValue::VALUE_NOT_SET:
      break;
    default:
      out.kind = Value::Kind::other;
  }
  return out;
}

void read_attributes(const KeyValues& kvs, std::vector<Attribute>& out) {
  out.clear();
  for (const pb::KeyValue& kv : kvs) out.push_back({kv.key(), value_of(kv.value())});
}

}  // namespace

std::optional<std::string> decode_protobuf(std::string_view body, const SpanSink& take) {
  if (body.size() > static_cast<std::size_t>(INT_MAX))
    return "the protobuf payload is larger than 2 GiB";
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<pb::ExportTraceServiceRequest>(&arena);
  if (!request->ParseFromArray(body.data(), static_cast<int>(body.size())))
    return "the body is not a valid protobuf ExportTraceServiceRequest";
  std::vector<Attribute> resource, attributes;
  SpanView view;
  for (const pb::ResourceSpans& rs : request->resource_spans()) {
    read_attributes(rs.resource().attributes(), resource);
    view.resource = resource;
    for (const pb::ScopeSpans& ss : rs.scope_spans()) {
      for (const pb::Span& span : ss.spans()) {
        read_attributes(span.attributes(), attributes);
        view.trace_id = id_hex(span.trace_id(), 16);
        view.span_id = id_hex(span.span_id(), 8);
        view.end_time_unix_nano = span.end_time_unix_nano();
        view.attributes = attributes;
        take(view);
      }
    }
  }
  return std::nullopt;
}

}  // namespace aiusage::otlp
