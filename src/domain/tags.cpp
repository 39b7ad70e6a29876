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

}  // namespace aiusage
