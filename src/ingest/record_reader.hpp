#pragma once
// How read_record reads one record: the same code over RapidJSON's and simdjson's values, and
// the field errors it collects.
#include <rapidjson/document.h>
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aiusage/ingest.hpp"
#include "aiusage/utf8.hpp"
#include "json_stream.hpp"

namespace aiusage {

// Field errors of a body: counts every invalid record, keeps the first kMaxErrorDetails details.
struct ErrorSink {
  std::vector<FieldError> details;
  std::size_t bad_records = 0;
  std::size_t total = 0;
  std::optional<std::size_t> last_index;

  void add(std::size_t index, std::string field, std::string message) {
    ++total;
    if (last_index != index) ++bad_records;
    last_index = index;
    if (details.size() < kMaxErrorDetails)
      details.push_back({index, std::move(field), std::move(message)});
  }
  bool empty() const { return total == 0; }
};

inline std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// One JSON value of a RapidJSON record, as read_record reads it (SimdValue: the same over
// simdjson's DOM).
class RapidValue {
 public:
  explicit RapidValue(const JsonValue& v) : v_(&v) {}
  std::optional<RapidValue> find(const char* key) const {
    auto it = v_->FindMember(key);
    if (it == v_->MemberEnd()) return std::nullopt;
    return RapidValue(it->value);
  }
  bool is_null() const { return v_->IsNull(); }
  bool is_object() const { return v_->IsObject(); }
  std::optional<std::string_view> string() const {
    if (!v_->IsString()) return std::nullopt;
    return std::string_view(v_->GetString(), v_->GetStringLength());
  }
  std::optional<bool> boolean() const {
    if (!v_->IsBool()) return std::nullopt;
    return v_->GetBool();
  }
  std::optional<std::int64_t> int64() const {
    if (!v_->IsInt64()) return std::nullopt;
    return v_->GetInt64();
  }
  bool is_uint64() const { return v_->IsUint64(); }
  std::optional<std::size_t> array_size() const {
    if (!v_->IsArray()) return std::nullopt;
    return v_->Size();
  }
  template <class Fn>
  void for_each_element(Fn&& fn) const {  // of an array
    for (const JsonValue& e : v_->GetArray()) fn(RapidValue(e));
  }
  template <class Fn>
  void for_each_member(Fn&& fn) const {  // of an object: fn(name, value), repeats included
    for (const auto& m : v_->GetObject())
      fn(std::string_view(m.name.GetString(), m.name.GetStringLength()), RapidValue(m.value));
  }

 private:
  const JsonValue* v_;
};

class SimdValue {
 public:
  explicit SimdValue(simdjson::dom::element e) : e_(e) {}
  std::optional<SimdValue> find(const char* key) const {
    simdjson::dom::element v;
    if (e_.at_key(key).get(v) != simdjson::SUCCESS) return std::nullopt;
    return SimdValue(v);
  }
  bool is_null() const { return e_.is_null(); }
  bool is_object() const { return e_.is_object(); }
  std::optional<std::string_view> string() const {
    std::string_view s;
    if (e_.get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
    return s;
  }
  std::optional<bool> boolean() const {
    bool b = false;
    if (e_.get_bool().get(b) != simdjson::SUCCESS) return std::nullopt;
    return b;
  }
  // As RapidJSON: integers that fit in 64 bits signed; not doubles, not 2^63 and above.
  std::optional<std::int64_t> int64() const {
    std::int64_t i = 0;
    if (e_.get_int64().get(i) != simdjson::SUCCESS) return std::nullopt;
    return i;
  }
  bool is_uint64() const { return e_.is_uint64(); }
  std::optional<std::size_t> array_size() const {
    simdjson::dom::array a;
    if (e_.get_array().get(a) != simdjson::SUCCESS) return std::nullopt;
    return a.size();
  }
  template <class Fn>
  void for_each_element(Fn&& fn) const {  // of an array
    simdjson::dom::array a;
    if (e_.get_array().get(a) != simdjson::SUCCESS) return;
    for (simdjson::dom::element e : a) fn(SimdValue(e));
  }
  template <class Fn>
  void for_each_member(Fn&& fn) const {  // of an object: fn(name, value), repeats included
    simdjson::dom::object o;
    if (e_.get_object().get(o) != simdjson::SUCCESS) return;
    for (auto field : o) fn(field.key, SimdValue(field.value));
  }

 private:
  simdjson::dom::element e_;
};

// A field's name as errors name it (`head` then `tail`), put together only when an error is
// recorded; the views must outlive the call it is passed to.
class FieldName {
 public:
  FieldName(const char* name) : head_(name) {}         // NOLINT: implicit, as a string is
  FieldName(const std::string& name) : head_(name) {}  // NOLINT
  FieldName(std::string_view head, std::string_view tail) : head_(head), tail_(tail) {}
  std::string str() const {
    std::string s(head_);
    s += tail_;
    return s;
  }

 private:
  std::string_view head_, tail_;
};

// Reads the members of one record (number `index` of its body), sending every problem to `errors`.
class RecordReader {
 public:
  RecordReader(std::size_t index, ErrorSink& errors) : index_(index), errors_(errors) {}

  void error(const FieldName& field, std::string message) {
    errors_.add(index_, field.str(), std::move(message));
  }

  // Returns the string at `key` (a view into `obj`'s document); records an error when required
  // and missing, or malformed.
  template <class V>
  std::optional<std::string_view> text(const V& obj, const char* key, const FieldName& field,
                                       bool required, std::size_t max_len) {
    auto v = obj.find(key);
    if (!v || (!required && v->is_null())) {
      if (required) error(field, "is required");
      return std::nullopt;
    }
    auto s = v->string();
    if (!s) {
      error(field, "must be a string");
      return std::nullopt;
    }
    if (s->empty()) {
      error(field, "must not be empty");
      return std::nullopt;
    }
    if (!utf8(field, *s)) return std::nullopt;
    if (utf8_length(*s) > max_len) {
      error(field, "must be at most " + std::to_string(max_len) + " characters");
      return std::nullopt;
    }
    return *s;
  }

  // Whether `s` is valid UTF-8; records an error when not (RapidJSON decodes a lone surrogate
  // escape such as \udc00 to bytes that are not).
  bool utf8(const FieldName& field, std::string_view s) {
    if (valid_utf8(s)) return true;
    error(field, "must be valid UTF-8 (" + utf8_problem(s) + ")");
    return false;
  }

  template <class V>
  std::optional<std::int64_t> tokens(const V& obj, const char* key, const FieldName& field,
                                     bool required, std::int64_t max = kMaxTokens) {
    auto v = obj.find(key);
    if (!v) {
      if (required) error(field, "is required");
      return std::nullopt;
    }
    auto n = v->int64();
    if (!n || *n < 0) {
      if (!n && v->is_uint64())
        error(field, "must be at most " + std::to_string(max));
      else
        error(field, "must be a non-negative integer");
      return std::nullopt;
    }
    if (*n > max) {
      error(field, "must be at most " + std::to_string(max));
      return std::nullopt;
    }
    return *n;
  }

 private:
  std::size_t index_;
  ErrorSink& errors_;
};

}  // namespace aiusage
