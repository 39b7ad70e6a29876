#pragma once
// A catalog file as a list of keys and their flat members, read in one SAX pass.
#include <string>
#include <string_view>
#include <vector>

#include "aiusage/result.hpp"

namespace aiusage::catalog {

enum class ValueKind { number, string, other };  // other: null, true, false, an array or object

// One scalar member of a key's object; a member of an object inside it is named "outer.inner".
struct Member {
  std::string name;
  ValueKind kind = ValueKind::other;
  std::string text;  // a number's JSON text, a string's value
};

struct Entry {
  std::string key;
  bool is_object = false;
  std::vector<Member> members;  // in file order; an array or object member as kind other
  const Member* find(std::string_view name) const;
};

// The members of each key of the top-level object; an error naming line:column when the text is
// not one valid JSON object (UTF-8 checked).
Result<std::vector<Entry>> read_entries(std::string_view json_text);

}  // namespace aiusage::catalog
