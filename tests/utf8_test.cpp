// Strict UTF-8: what the service accepts, and what it writes whatever its store holds.
#include <catch2/catch.hpp>

#include <string>

#include "aiusage/utf8.hpp"

using namespace aiusage;

TEST_CASE("utf8 - validity, the reason, and U+FFFD for each maximal ill-formed subsequence") {
  const std::string R = "\xEF\xBF\xBD";  // U+FFFD
  struct Case {
    std::string in;
    std::string fixed;    // to_valid_utf8(in); `in` when valid
    std::string problem;  // utf8_problem(in); empty when valid
  };
  const Case cases[] = {
      {"", "", ""},
      {"plain ascii \x7F", "plain ascii \x7F", ""},
      {std::string("a\0b", 3), std::string("a\0b", 3), ""},  // NUL is a character
      {"\xC2\x80 \xDF\xBF", "\xC2\x80 \xDF\xBF", ""},
      {"\xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF",
       "\xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF", ""},
      {"\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF", "\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF", ""},
      {"x" + R, "x" + R, ""},  // U+FFFD itself is valid
      // surrogates, as RapidJSON decodes \udc00 and \ud800
      {"x\xED\xB0\x80", "x" + R + R + R, "\\udc00 is a lone surrogate"},
      {"\xED\xA0\x80y", R + R + R + "y", "\\ud800 is a lone surrogate"},
      {"\xED\xBF\xBF", R + R + R, "\\udfff is a lone surrogate"},
      // overlong forms
      {"\xC0\x80", R + R, "byte 0 (0xc0) begins an invalid UTF-8 sequence"},
      {"ab\xC1\xBF", "ab" + R + R, "byte 2 (0xc1) begins an invalid UTF-8 sequence"},
      {"\xE0\x80\x80", R + R + R, "byte 0 (0xe0) begins an invalid UTF-8 sequence"},
      {"\xF0\x80\x80\x80", R + R + R + R, "byte 0 (0xf0) begins an invalid UTF-8 sequence"},
      // beyond U+10FFFF
      {"\xF4\x90\x80\x80", R + R + R + R, "byte 0 (0xf4) begins an invalid UTF-8 sequence"},
      {"\xF5\x80", R + R, "byte 0 (0xf5) begins an invalid UTF-8 sequence"},
      {"\xFF", R, "byte 0 (0xff) begins an invalid UTF-8 sequence"},
      // truncated sequences are one subsequence each; a lone continuation byte is one
      {"\xE2\x82", R, "byte 0 (0xe2) begins an invalid UTF-8 sequence"},
      {"\xE2\x82z", R + "z", "byte 0 (0xe2) begins an invalid UTF-8 sequence"},
      {"\xF0\x9F\x98", R, "byte 0 (0xf0) begins an invalid UTF-8 sequence"},
      {"\xF0\x9F\x98\xE2\x82\xAC", R + "\xE2\x82\xAC",
       "byte 0 (0xf0) begins an invalid UTF-8 sequence"},
      {"a\x80"
       "b",
       "a" + R + "b", "byte 1 (0x80) begins an invalid UTF-8 sequence"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    CHECK(valid_utf8(c.in) == c.problem.empty());
    CHECK(utf8_problem(c.in) == c.problem);
    const std::string fixed = to_valid_utf8(c.in);
    CHECK(fixed == c.fixed);
    CHECK(valid_utf8(fixed));
  }
}
