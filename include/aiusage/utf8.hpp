#pragma once
// Strict UTF-8 (RFC 3629: no surrogate code points, no overlong forms, nothing above U+10FFFF),
// the form of every string the service accepts and every byte it writes on a page.
#include <string>
#include <string_view>

namespace aiusage {

bool valid_utf8(std::string_view s);
// What makes `s` invalid, for an error message: "\udc00 is a lone surrogate" or "byte 3 (0xc0)
// begins an invalid UTF-8 sequence"; empty when `s` is valid.
std::string utf8_problem(std::string_view s);
// `s` with each maximal ill-formed subsequence replaced by U+FFFD (Unicode 15 §3.9, as WHATWG
// decoders do): ED B0 80 becomes three U+FFFD. `s` itself when it is valid.
std::string to_valid_utf8(std::string_view s);

}  // namespace aiusage
