// decode_request's dispatch, the ids' hex forms, and the answers in either encoding.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "aiusage/otlp_wire.hpp"
#include "decode.hpp"
#include "otlp_trace.pb.h"

namespace aiusage::otlp {

namespace {

constexpr char kHex[] = "0123456789abcdef";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void set_id_hex(std::string& out, std::string_view bytes, std::size_t size) {
  out.clear();
  if (bytes.size() != size) return;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
}

std::string id_from_hex(std::string_view hex, std::size_t size) {
  if (hex.size() != 2 * size) return "";
  std::string out(hex);
  for (char& c : out) {
    const int d = hex_digit(c);
    if (d < 0) return "";
    c = kHex[d];
  }
  return out;
}

std::optional<std::string> decode_request(std::string_view body, Encoding encoding,
                                          const SpanSink& take) {
  return encoding == Encoding::protobuf ? decode_protobuf(body, take) : decode_json(body, take);
}

std::string export_response(Encoding encoding, std::int64_t rejected_spans,
                            std::string_view error_message) {
  const bool partial = rejected_spans != 0 || !error_message.empty();
  if (encoding == Encoding::protobuf) {
    pb::ExportTraceServiceResponse r;
    if (partial) {
      r.mutable_partial_success()->set_rejected_spans(rejected_spans);
      r.mutable_partial_success()->set_error_message(std::string(error_message));
    }
    return r.SerializeAsString();
  }
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  if (partial) {
    w.Key("partialSuccess");
    w.StartObject();
    w.Key("rejectedSpans");  // int64: a decimal string in the JSON mapping
    const std::string n = std::to_string(rejected_spans);
    w.String(n.data(), static_cast<rapidjson::SizeType>(n.size()));
    w.Key("errorMessage");
    w.String(error_message.data(), static_cast<rapidjson::SizeType>(error_message.size()));
    w.EndObject();
  }
  w.EndObject();
  return std::string(out.GetString(), out.GetSize());
}

std::string status_body(Encoding encoding, int code, std::string_view message) {
  if (encoding == Encoding::protobuf) {
    pb::Status s;
    s.set_code(code);
    s.set_message(std::string(message));
    return s.SerializeAsString();
  }
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("code");
  w.Int(code);
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  return std::string(out.GetString(), out.GetSize());
}

}  // namespace aiusage::otlp
