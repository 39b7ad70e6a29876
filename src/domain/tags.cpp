#include "aiusage/tags.hpp"

#include <algorithm>

namespace aiusage {

bool valid_tag_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxTagKeyBytes || key.starts_with("__")) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!letter(key[0])) return false;
  return std::all_of(key.begin(), key.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

const std::string* tag_value(const Tags& tags, std::string_view key) {
  auto it = std::lower_bound(tags.begin(), tags.end(), key,
                             [](const Tag& t, std::string_view k) { return t.key < k; });
  return it != tags.end() && it->key == key ? &it->value : nullptr;
}

}  // namespace aiusage
