#pragma once
// Durations in configuration and messages: "250ms", "30s", "5m", "12h", "35d".
#include <cstdint>
#include <string>
#include <string_view>

#include "aiusage/result.hpp"

namespace aiusage {

// A positive integer and one unit (ms, s, m, h, d); at most 100 years.
Result<std::int64_t> parse_duration_ms(std::string_view text);
// The largest unit that represents `ms` exactly, e.g. 300000 → "5m".
std::string format_duration_ms(std::int64_t ms);

}  // namespace aiusage
