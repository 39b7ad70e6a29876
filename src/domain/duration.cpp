#include "aiusage/duration.hpp"

#include <charconv>

namespace aiusage {

namespace {

struct Unit {
  const char* name;
  std::int64_t ms;
};
// Longest first: format picks the largest exact unit, parse matches "ms" before "m".
constexpr Unit kUnits[] = {
    {"d", 86'400'000}, {"h", 3'600'000}, {"ms", 1}, {"m", 60'000}, {"s", 1000}};
constexpr std::int64_t kMaxMs = std::int64_t{100} * 366 * 86'400'000;

}  // namespace

Result<std::int64_t> parse_duration_ms(std::string_view text) {
  const Error bad{"expected a duration such as \"30s\", \"5m\" or \"35d\" (units ms, s, m, h, d)"};
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data() || n <= 0) return bad;
  std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  for (const Unit& u : kUnits) {
    if (unit != u.name) continue;
    if (n > kMaxMs / u.ms) return Error{"duration must be at most 100 years"};
    return n * u.ms;
  }
  return bad;
}

std::string format_duration_ms(std::int64_t ms) {
  for (std::int64_t unit : {86'400'000LL, 3'600'000LL, 60'000LL, 1000LL}) {
    if (ms != 0 && ms % unit == 0) {
      const char* name = unit == 86'400'000  ? "d"
                         : unit == 3'600'000 ? "h"
                         : unit == 60'000    ? "m"
                                             : "s";
      return std::to_string(ms / unit) + name;
    }
  }
  return std::to_string(ms) + "ms";
}

}  // namespace aiusage
