#pragma once
// Exact money: integer nano-units (1e-9) of a currency; no floating point in sums.
#include <cstdint>
#include <string>
#include <string_view>

#include "aiusage/result.hpp"

namespace aiusage {

using Nanos = std::int64_t;
__extension__ using Int128 = __int128;  // intermediate products of money arithmetic
inline constexpr Nanos kNanosPerUnit = 1'000'000'000;

// Parses a plain decimal ("3", "0.075", "-1.5") with at most 9 fraction digits, exactly.
Result<Nanos> parse_decimal_nanos(std::string_view text);
// Converts a configuration float to nanos, rounding to the nearest nano.
Result<Nanos> nanos_from_double(double units);
// Exact decimal text with at least `min_decimals` and at most 9 fraction digits ("105.00").
std::string format_nanos(Nanos nanos, int min_decimals = 2);
// For display only (JSON numbers, Prometheus samples).
double nanos_to_units(Nanos nanos);
// Rounds num/den to the nearest integer, ties to even; den > 0.
Int128 div_round_half_even(Int128 num, Int128 den);

}  // namespace aiusage
