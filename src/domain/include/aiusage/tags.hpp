#pragma once
// A record's tags: custom dimensions such as {"feature": "chat", "env": "prod"}, kept in key order.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace aiusage {

struct Tag {
  std::string key;
  std::string value;
  bool operator==(const Tag&) const = default;
};
using Tags = std::vector<Tag>;  // ascending keys, each once

inline constexpr std::size_t kMaxTags = 16;  // keys of one record
inline constexpr std::size_t kMaxTagKeyBytes = 64;
inline constexpr std::size_t kMaxTagValueBytes = 256;

// A Prometheus label name of 1 to kMaxTagKeyBytes bytes ([A-Za-z_][A-Za-z0-9_]*) not starting with
// "__" (reserved), so a key can become a label of /metrics and a statistics parameter tag.KEY.
bool valid_tag_key(std::string_view key);

}  // namespace aiusage
