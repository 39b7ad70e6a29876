#include "aiusage/utf8.hpp"

#include <simdjson.h>

#include <cstdio>

namespace aiusage {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed character at `s[i]` (0 when none starts there) and, when 0, the
// length of the maximal ill-formed subsequence there (at least 1), per Unicode table 3-7.
struct Step {
  std::size_t valid, invalid;
};

Step step(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {1, 0};
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong 3-byte forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // no overlong 4-byte forms
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {0, 1};
  }
  std::size_t j = 1;
  for (; j < len && i + j < s.size(); ++j) {
    const auto d = static_cast<unsigned char>(s[i + j]);
    if (d < (j == 1 ? lo : 0x80) || d > (j == 1 ? hi : 0xBF)) break;
  }
  return j == len ? Step{len, 0} : Step{0, j};
}

}  // namespace

bool detail::valid_utf8_from(std::string_view s) {
  return simdjson::validate_utf8(s.data(), s.size());
}

std::string utf8_problem(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const Step st = step(s, i);
    if (st.valid != 0) {
      i += st.valid;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    char buf[96];
    if (c == 0xED && i + 2 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xC0) == 0x80) {
      const unsigned cp = 0xD000u | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                          (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
      std::snprintf(buf, sizeof buf, "\\u%04x is a lone surrogate", cp);
    } else {
      std::snprintf(buf, sizeof buf, "byte %zu (0x%02x) begins an invalid UTF-8 sequence", i, c);
    }
    return buf;
  }
  return {};
}

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    const Step st = step(s, i);
    if (st.valid != 0) {
      out.append(s.substr(i, st.valid));
      i += st.valid;
    } else {
      out += kReplacement;
      i += st.invalid;
    }
  }
  return out;
}

}  // namespace aiusage
