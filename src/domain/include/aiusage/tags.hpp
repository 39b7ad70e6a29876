#pragma once
// A record's tags: custom dimensions such as {"feature": "chat", "env": "prod"}, kept in key order.
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aiusage {

// The label value that stands for every value not shown on its own (statistics, metrics); no
// record may carry it.
inline constexpr std::string_view kOtherLabel = "__other__";

struct Tag {
  std::string key;
  std::string value;
  bool operator==(const Tag&) const = default;
};
using Tags = std::vector<Tag>;  // ascending keys, each once

inline constexpr std::size_t kMaxTags = 16;  // keys of one record
inline constexpr std::size_t kMaxTagKeyBytes = 64;
inline constexpr std::size_t kMaxTagValueBytes = 256;
inline constexpr std::size_t kMaxTagLabels = 8;  // keys of [metrics] tag_labels

// A Prometheus label name of 1 to kMaxTagKeyBytes bytes ([A-Za-z_][A-Za-z0-9_]*) not starting with
// "__" (reserved), so a key can become a label of /metrics and a statistics parameter tag.KEY.
bool valid_tag_key(std::string_view key);

// The tags a usage series is kept by ([metrics] tag_labels): a "key=value" line for each of `keys`
// (ascending), the value "" when `tags` has none, '\\' and '\n' of values escaped; "" for no keys.
std::string series_tags(const Tags& tags, std::span<const std::string> keys);
// Whether `encoded` (series_tags()) has a line for each of `keys` (ascending) and no other.
bool has_just(std::string_view encoded, std::span<const std::string> keys);
// `encoded` as series_tags() for `keys` would make it: a line for each key, its value as in
// `encoded` or "" when it has none; so two series shown with the same tag labels read the same.
std::string for_keys(std::string_view encoded, std::span<const std::string> keys);
// Calls `fn(key, escaped value)` for each pair of `encoded` (escaping is one-to-one: an escaped
// value names its value).
void for_each_tag(std::string_view encoded,
                  const std::function<void(std::string_view, std::string_view)>& fn);
// `encoded` with the value of each pair that `keep(key, escaped value)` refuses made kOtherLabel.
std::string fold_tag_values(std::string_view encoded,
                            const std::function<bool(std::string_view, std::string_view)>& keep);
// The value of `key` in `encoded` ("" when absent).
std::string series_tag(std::string_view encoded, std::string_view key);
// The same, nullopt when `encoded` has no line for `key` (its series was not kept by it).
std::optional<std::string> find_series_tag(std::string_view encoded, std::string_view key);

}  // namespace aiusage
