#pragma once
// The time the service runs on: injected (tests pass their own), the system's by default.
#include <cstdint>
#include <functional>

namespace aiusage {

using Clock = std::function<std::int64_t()>;  // Unix milliseconds
std::int64_t system_now_ms();

}  // namespace aiusage
