#pragma once
// A record given field by field, seen through the value interface read_record reads JSON with
// (record_reader.hpp), so check_record applies the JSON API's own checks.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace aiusage {

class FieldsValue {
 public:
  struct Member;
  static FieldsValue null() { return FieldsValue(); }
  static FieldsValue text(std::string_view s) {
    FieldsValue v;
    v.kind_ = Kind::string;
    v.text_ = s;
    return v;
  }
  static FieldsValue integer(std::int64_t i) {
    FieldsValue v;
    v.kind_ = Kind::integer;
    v.integer_ = i;
    return v;
  }
  static FieldsValue object(const Member* members, std::size_t count) {
    FieldsValue v;
    v.kind_ = Kind::object;
    v.members_ = members;
    v.count_ = count;
    return v;
  }

  std::optional<FieldsValue> find(const char* key) const;
  bool is_null() const { return kind_ == Kind::null; }
  bool is_object() const { return kind_ == Kind::object; }
  std::optional<std::string_view> string() const {
    if (kind_ != Kind::string) return std::nullopt;
    return text_;
  }
  std::optional<bool> boolean() const { return std::nullopt; }
  std::optional<std::int64_t> int64() const {
    if (kind_ != Kind::integer) return std::nullopt;
    return integer_;
  }
  bool is_uint64() const { return false; }
  std::optional<std::size_t> array_size() const { return std::nullopt; }
  template <class Fn>
  void for_each_element(Fn&&) const {}
  template <class Fn>
  void for_each_member(Fn&& fn) const;  // of an object: fn(name, value)

 private:
  enum class Kind { null, string, integer, object };
  Kind kind_ = Kind::null;
  std::string_view text_;
  std::int64_t integer_ = 0;
  const Member* members_ = nullptr;
  std::size_t count_ = 0;
};

struct FieldsValue::Member {
  const char* key;
  FieldsValue value;  // null: as if the member were absent
};

inline std::optional<FieldsValue> FieldsValue::find(const char* key) const {
  for (std::size_t i = 0; i < count_; ++i)
    if (std::strcmp(members_[i].key, key) == 0 && !members_[i].value.is_null())
      return members_[i].value;
  return std::nullopt;
}

template <class Fn>
void FieldsValue::for_each_member(Fn&& fn) const {
  for (std::size_t i = 0; i < count_; ++i)
    if (!members_[i].value.is_null()) fn(std::string_view(members_[i].key), members_[i].value);
}

}  // namespace aiusage
