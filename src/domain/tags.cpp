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

namespace {

bool has_key(std::span<const std::string> keys, std::string_view key) {
  return std::binary_search(keys.begin(), keys.end(), key);
}

// Calls `fn(key, escaped value, whole line)` for each line of `encoded`.
template <typename Fn>
void each_pair(std::string_view encoded, Fn&& fn) {
  while (!encoded.empty()) {
    const std::size_t end = std::min(encoded.find('\n'), encoded.size());
    const std::string_view line = encoded.substr(0, end);
    const std::size_t eq = line.find('=');
    if (eq != std::string_view::npos) fn(line.substr(0, eq), line.substr(eq + 1), line);
    encoded.remove_prefix(std::min(end + 1, encoded.size()));
  }
}

}  // namespace

std::string series_tags(const Tags& tags, std::span<const std::string> keys) {
  std::string out;
  auto tag = tags.begin();
  for (const std::string& key : keys) {
    while (tag != tags.end() && tag->key < key) ++tag;
    if (!out.empty()) out += '\n';
    out += key;
    out += '=';
    if (tag == tags.end() || tag->key != key) continue;
    for (char c : tag->value) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
  }
  return out;
}

bool has_just(std::string_view encoded, std::span<const std::string> keys) {
  std::size_t n = 0;
  bool same = true;
  each_pair(encoded, [&](std::string_view key, std::string_view, std::string_view) {
    same = same && n < keys.size() && keys[n] == key;
    ++n;
  });
  return same && n == keys.size();
}

std::string for_keys(std::string_view encoded, std::span<const std::string> keys) {
  std::string out;
  for (const std::string& key : keys) {
    if (!out.empty()) out += '\n';
    out += key;
    out += '=';
    each_pair(encoded, [&](std::string_view k, std::string_view escaped, std::string_view) {
      if (k == key) out += escaped;
    });
  }
  return out;
}

void for_each_tag(std::string_view encoded,
                  const std::function<void(std::string_view, std::string_view)>& fn) {
  each_pair(encoded, [&](std::string_view key, std::string_view value, std::string_view) {
    fn(key, value);
  });
}

std::string fold_tag_values(std::string_view encoded,
                            const std::function<bool(std::string_view, std::string_view)>& keep) {
  std::string out;
  each_pair(encoded, [&](std::string_view key, std::string_view value, std::string_view line) {
    if (!out.empty()) out += '\n';
    if (keep(key, value)) {
      out += line;
    } else {
      out += key;
      out += '=';
      out += kOtherLabel;
    }
  });
  return out;
}

std::string series_tag(std::string_view encoded, std::string_view key) {
  return find_series_tag(encoded, key).value_or(std::string());
}

std::optional<std::string> find_series_tag(std::string_view encoded, std::string_view key) {
  std::optional<std::string> found;
  each_pair(encoded, [&](std::string_view k, std::string_view escaped, std::string_view) {
    if (k != key) return;
    std::string& out = found.emplace();
    for (std::size_t i = 0; i < escaped.size(); ++i) {
      if (escaped[i] == '\\' && i + 1 < escaped.size()) {
        out += escaped[++i] == 'n' ? '\n' : escaped[i];
      } else {
        out += escaped[i];
      }
    }
  });
  return found;
}

}  // namespace aiusage
