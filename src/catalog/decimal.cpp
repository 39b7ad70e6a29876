#include <string>

#include "aiusage/catalog.hpp"

namespace aiusage {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<Nanos> scaled_decimal_nanos(std::string_view number, int shift) {
  const std::string quoted =
      "\"" + std::string(number) + "\"" + (shift != 0 ? " x 1e" + std::to_string(shift) : "");
  std::string_view s = number;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  // JSON's grammar: digits, optionally '.' and digits, optionally e/E, a sign and digits.
  std::string digits;
  std::size_t i = 0;
  while (i < s.size() && is_digit(s[i])) digits += s[i++];
  long point = static_cast<long>(digits.size());  // where the decimal point stands in `digits`
  if (digits.empty()) return Error{quoted + " is not a number"};
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && is_digit(s[i])) digits += s[i++];
    if (i == start) return Error{quoted + " is not a number"};
  }
  long exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    const bool down = i < s.size() && s[i] == '-';
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const std::size_t start = i;
    for (; i < s.size() && is_digit(s[i]); ++i)
      if (exponent < 100'000) exponent = exponent * 10 + (s[i] - '0');
    if (i == start) return Error{quoted + " is not a number"};
    if (down) exponent = -exponent;
  }
  if (i != s.size()) return Error{quoted + " is not a number"};
  point += exponent + shift;
  std::size_t lead = 0;
  while (lead < digits.size() && digits[lead] == '0') ++lead;
  digits.erase(0, lead);
  point -= static_cast<long>(lead);
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  if (digits.empty()) return Nanos{0};
  if (negative) return Error{quoted + " is negative"};
  const long fraction = static_cast<long>(digits.size()) - point;
  if (fraction > 9) return Error{quoted + " is finer than one nano (not rounded)"};
  const std::string max = " is above " + format_nanos(kMaxPriceNanos, 0);
  if (point > 18) return Error{quoted + max};
  std::string text;
  if (point <= 0)
    text = "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
  else if (point >= static_cast<long>(digits.size()))
    text = digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0');
  else
    text = digits.substr(0, static_cast<std::size_t>(point)) + "." +
           digits.substr(static_cast<std::size_t>(point));
  Result<Nanos> nanos = parse_decimal_nanos(text);
  if (!nanos) return Error{quoted + ": " + nanos.error().message};
  if (*nanos > kMaxPriceNanos) return Error{quoted + max};
  return *nanos;
}

}  // namespace aiusage
