#include "aiusage/money.hpp"

#include <cmath>
#include <cstdlib>

namespace aiusage {

Result<Nanos> parse_decimal_nanos(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return Error{"expected a decimal number, got \"" + std::string(text) + "\""};
  Int128 whole = 0;
  Int128 fraction = 0;
  int fraction_digits = 0;
  bool seen_dot = false;
  bool seen_digit = false;
  for (char c : s) {
    if (c == '.' && !seen_dot) {
      seen_dot = true;
      continue;
    }
    if (c < '0' || c > '9')
      return Error{"expected a decimal number, got \"" + std::string(text) + "\""};
    seen_digit = true;
    if (seen_dot) {
      if (++fraction_digits > 9)
        return Error{"more than 9 decimal places in \"" + std::string(text) + "\""};
      fraction = fraction * 10 + (c - '0');
    } else {
      whole = whole * 10 + (c - '0');
      if (whole > INT64_MAX / kNanosPerUnit)
        return Error{"number too large: \"" + std::string(text) + "\""};
    }
  }
  if (!seen_digit) return Error{"expected a decimal number, got \"" + std::string(text) + "\""};
  for (int i = fraction_digits; i < 9; ++i) fraction *= 10;
  Int128 value = whole * kNanosPerUnit + fraction;
  if (value > INT64_MAX) return Error{"number too large: \"" + std::string(text) + "\""};
  return static_cast<Nanos>(negative ? -value : value);
}

Result<Nanos> nanos_from_double(double units) {
  if (!std::isfinite(units)) return Error{"number is not finite"};
  double scaled = units * static_cast<double>(kNanosPerUnit);
  if (std::fabs(scaled) >= 9.2e18) return Error{"number too large"};
  return static_cast<Nanos>(std::llround(scaled));
}

std::string format_nanos(Nanos nanos, int min_decimals) {
  Int128 v = nanos;
  bool negative = v < 0;
  if (negative) v = -v;
  std::string whole = std::to_string(static_cast<unsigned long long>(v / kNanosPerUnit));
  std::string frac = std::to_string(static_cast<unsigned long long>(v % kNanosPerUnit));
  frac.insert(0, 9 - frac.size(), '0');
  while (static_cast<int>(frac.size()) > min_decimals && frac.back() == '0') frac.pop_back();
  std::string out = negative ? "-" + whole : whole;
  if (!frac.empty()) out += "." + frac;
  return out;
}

double nanos_to_units(Nanos nanos) {
  // Split so that values beyond 2^53 nanos keep their whole-unit part exact.
  return static_cast<double>(nanos / kNanosPerUnit) +
         static_cast<double>(nanos % kNanosPerUnit) / static_cast<double>(kNanosPerUnit);
}

Int128 div_round_half_even(Int128 num, Int128 den) {
  Int128 q = num / den;
  Int128 r = num % den;
  if (r == 0) return q;
  bool negative = (num < 0);
  Int128 twice = (r < 0 ? -r : r) * 2;
  if (twice > den || (twice == den && (q % 2 != 0))) q += negative ? -1 : 1;
  return q;
}

}  // namespace aiusage
