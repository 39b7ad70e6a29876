#pragma once
// Strict UTF-8 (RFC 3629: no surrogate code points, no overlong forms, nothing above U+10FFFF),
// the form of every string the service accepts and every byte it writes on a page.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace aiusage {

namespace detail {
bool valid_utf8_from(std::string_view s);  // s[0] is not ASCII
}  // namespace detail

// Inline for the common case, a string all ASCII (8 bytes at a time).
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  for (std::uint64_t w; i + 8 <= s.size(); i += 8) {
    std::memcpy(&w, s.data() + i, 8);
    if ((w & 0x8080808080808080u) != 0) break;
  }
  for (; i < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) >= 0x80) return detail::valid_utf8_from(s.substr(i));
  return true;
}
// What makes `s` invalid, for an error message: "\udc00 is a lone surrogate" or "byte 3 (0xc0)
// begins an invalid UTF-8 sequence"; empty when `s` is valid.
std::string utf8_problem(std::string_view s);
// `s` with each maximal ill-formed subsequence replaced by U+FFFD (Unicode 15 §3.9, as WHATWG
// decoders do): ED B0 80 becomes three U+FFFD. `s` itself when it is valid.
std::string to_valid_utf8(std::string_view s);

}  // namespace aiusage
