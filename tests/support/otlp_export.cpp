#include "support/otlp_export.hpp"

#include <zlib.h>

#include <cstdio>
#include <stdexcept>

#include "otlp_trace.pb.h"

namespace aiusage::testing {

namespace {

namespace pb = aiusage::otlp::pb;

std::string bytes_of(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

void put(pb::KeyValue* kv, const OtlpAttr& a) {
  kv->set_key(a.key);
  pb::AnyValue* v = kv->mutable_value();
  if (auto s = std::get_if<std::string>(&a.value)) v->set_string_value(*s);
  if (auto i = std::get_if<std::int64_t>(&a.value)) v->set_int_value(*i);
  if (auto d = std::get_if<double>(&a.value)) v->set_double_value(*d);
  if (auto b = std::get_if<bool>(&a.value)) v->set_bool_value(*b);
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string json_attrs(const std::vector<OtlpAttr>& attrs, bool int_as_string) {
  std::string out = "[";
  for (const OtlpAttr& a : attrs) {
    if (out.size() > 1) out += ",";
    out += R"({"key":)" + quoted(a.key) + R"(,"value":{)";
    if (auto s = std::get_if<std::string>(&a.value)) out += R"("stringValue":)" + quoted(*s);
    if (auto i = std::get_if<std::int64_t>(&a.value))
      out += R"("intValue":)" + (int_as_string ? quoted(std::to_string(*i)) : std::to_string(*i));
    if (auto d = std::get_if<double>(&a.value)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", *d);
      out += R"("doubleValue":)" + std::string(buf);
    }
    if (auto b = std::get_if<bool>(&a.value))
      out += R"("boolValue":)" + std::string(*b ? "true" : "false");
    out += "}}";
  }
  return out + "]";
}

}  // namespace

std::string to_protobuf(const OtlpExport& e) {
  pb::ExportTraceServiceRequest req;
  pb::ResourceSpans* rs = req.add_resource_spans();
  for (const OtlpAttr& a : e.resource) put(rs->mutable_resource()->add_attributes(), a);
  pb::ScopeSpans* ss = rs->add_scope_spans();
  for (const OtlpSpan& s : e.spans) {
    pb::Span* span = ss->add_spans();
    span->set_trace_id(bytes_of(s.trace_id));
    span->set_span_id(bytes_of(s.span_id));
    span->set_name("chat");
    span->set_end_time_unix_nano(s.end_time_unix_nano);
    for (const OtlpAttr& a : s.attributes) put(span->add_attributes(), a);
  }
  return req.SerializeAsString();
}

std::string to_json(const OtlpExport& e, bool int_as_string) {
  std::string out = R"({"resourceSpans":[{"resource":{"attributes":)" +
                    json_attrs(e.resource, int_as_string) +
                    R"(},"scopeSpans":[{"scope":{"name":"test"},"spans":[)";
  for (std::size_t i = 0; i < e.spans.size(); ++i) {
    const OtlpSpan& s = e.spans[i];
    const std::string end = std::to_string(s.end_time_unix_nano);
    out += (i ? "," : "") + std::string(R"({"traceId":)") + quoted(s.trace_id) + R"(,"spanId":)" +
           quoted(s.span_id) + R"(,"name":"chat","kind":3,"endTimeUnixNano":)" +
           (int_as_string ? quoted(end) : end) + R"(,"attributes":)" +
           json_attrs(s.attributes, int_as_string) + "}";
  }
  return out + "]}]}]}";
}

std::string gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  return out;
}

std::string span_hex(std::uint64_t n) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(n));
  return buf;
}

std::string trace_hex(std::uint64_t n) { return "4bf92f3577b34da6" + span_hex(n); }

}  // namespace aiusage::testing
