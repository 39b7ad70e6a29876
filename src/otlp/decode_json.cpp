// ExportTraceServiceRequest in the OTLP JSON encoding, read from simdjson's DOM; an error names
// the JSON path of the member at fault.
#include <simdjson.h>

#include <charconv>
#include <vector>

#include "decode.hpp"

namespace aiusage::otlp {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

struct Bad {
  std::string message;
};

// The member `key` of `obj`, if present and not null.
std::optional<element> member(object obj, std::string_view key) {
  element v;
  if (obj.at_key(key).get(v) != simdjson::SUCCESS || v.is_null()) return std::nullopt;
  return v;
}

object as_object(element e, const std::string& path) {
  object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) throw Bad{path + ": must be an object"};
  return o;
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// The array at `key`, if present and not null.
std::optional<array> array_at(object obj, std::string_view key, const std::string& path) {
  auto v = member(obj, key);
  if (!v) return std::nullopt;
  array a;
  if (v->get_array().get(a) != simdjson::SUCCESS) throw Bad{join(path, key) + ": must be an array"};
  return a;
}

// A 64-bit integer given as a JSON number or a decimal string (the OTLP JSON mapping).
template <class T>
T integer_of(element e, const std::string& path) {
  T out{};
  if (e.get<T>().get(out) == simdjson::SUCCESS) return out;
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return out;
  }
  throw Bad{path + ": must be an integer (a number or a decimal string) that fits in 64 bits"};
}

// `where()`: the value's JSON path, made only for an error.
template <class Where>
Value value_of(element e, const Where& where) {
  object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) throw Bad{where() + ": must be an object"};
  Value v;
  if (auto s = member(o, "stringValue")) {
    v.kind = Value::Kind::string;
    if (s->get_string().get(v.text) != simdjson::SUCCESS)
      throw Bad{where() + ".stringValue: must be a string"};
  } else if (auto b = member(o, "boolValue")) {
    v.kind = Value::Kind::boolean;
    if (b->get_bool().get(v.boolean) != simdjson::SUCCESS)
      throw Bad{where() + ".boolValue: must be a boolean"};
  } else if (auto i = member(o, "intValue")) {
    v.kind = Value::Kind::integer;
    if (i->get_int64().get(v.integer) != simdjson::SUCCESS)
      v.integer = integer_of<std::int64_t>(*i, where() + ".intValue");
  } else if (auto d = member(o, "doubleValue")) {
    v.kind = Value::Kind::real;
    if (d->get_double().get(v.real) != simdjson::SUCCESS) v.kind = Value::Kind::other;
  } else if (member(o, "arrayValue") || member(o, "kvlistValue") || member(o, "bytesValue")) {
    v.kind = Value::Kind::other;
  }
  return v;
}

void read_attributes(object owner, const std::string& path, std::vector<Attribute>& out) {
  out.clear();
  auto list = array_at(owner, "attributes", path);
  if (!list) return;
  std::size_t i = 0;
  for (element kv : *list) {
    auto at = [&] { return path + ".attributes[" + std::to_string(i) + "]"; };
    object o;
    if (kv.get_object().get(o) != simdjson::SUCCESS) throw Bad{at() + ": must be an object"};
    Attribute a;
    auto key = member(o, "key");
    if (!key || key->get_string().get(a.key) != simdjson::SUCCESS)
      throw Bad{at() + ".key: must be a string"};
    if (auto value = member(o, "value"))
      a.value = value_of(*value, [&] { return at() + ".value"; });
    out.push_back(a);
    ++i;
  }
}

std::string id_at(object span, std::string_view key, std::size_t size, const std::string& path) {
  auto v = member(span, key);
  if (!v) return "";
  std::string_view hex;
  if (v->get_string().get(hex) != simdjson::SUCCESS)
    throw Bad{path + "." + std::string(key) + ": must be a hex string"};
  return id_from_hex(hex, size);
}

void read_spans(object scope, const std::string& path, std::span<const Attribute> resource,
                const SpanSink& take, std::vector<Attribute>& attributes) {
  auto spans = array_at(scope, "spans", path);
  if (!spans) return;
  SpanView view;
  view.resource = resource;
  std::size_t i = 0;
  for (element e : *spans) {
    const std::string at = path + ".spans[" + std::to_string(i++) + "]";
    object span = as_object(e, at);
    view.trace_id = id_at(span, "traceId", 16, at);
    view.span_id = id_at(span, "spanId", 8, at);
    view.end_time_unix_nano = 0;
    if (auto end = member(span, "endTimeUnixNano"))
      view.end_time_unix_nano = integer_of<std::uint64_t>(*end, at + ".endTimeUnixNano");
    read_attributes(span, at, attributes);
    view.attributes = attributes;
    take(view);
  }
}

}  // namespace

std::optional<std::string> decode_json(std::string_view body, const SpanSink& take) {
  simdjson::dom::parser parser;
  element root;
  if (auto error = parser.parse(body.data(), body.size()).get(root))
    return std::string("malformed JSON: ") + simdjson::error_message(error);
  try {
    object request = as_object(root, "the body");
    auto resource_spans = array_at(request, "resourceSpans", "");
    if (!resource_spans) return std::nullopt;
    std::vector<Attribute> resource, attributes;
    std::size_t r = 0;
    for (element rs_element : *resource_spans) {
      const std::string rs_path = "resourceSpans[" + std::to_string(r++) + "]";
      object rs = as_object(rs_element, rs_path);
      resource.clear();
      if (auto res = member(rs, "resource"))
        read_attributes(as_object(*res, rs_path + ".resource"), rs_path + ".resource", resource);
      auto scopes = array_at(rs, "scopeSpans", rs_path);
      if (!scopes) continue;
      std::size_t s = 0;
      for (element scope : *scopes) {
        const std::string path = rs_path + ".scopeSpans[" + std::to_string(s++) + "]";
        read_spans(as_object(scope, path), path, resource, take, attributes);
      }
    }
  } catch (const Bad& bad) {
    return bad.message;
  }
  return std::nullopt;
}

}  // namespace aiusage::otlp
