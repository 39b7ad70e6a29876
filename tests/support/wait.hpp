#pragma once
// Waiting for an event in tests: the timeout only ends a hung test, it is never the assertion.
#include <chrono>
#include <thread>

namespace aiusage::testing {

// A wait that only a hung component reaches: tests wait for an event, never for a duration.
inline constexpr int kHangMs = 30'000;

// True as soon as `condition()` holds (polled every 10 ms); false after `timeout_ms`.
template <class Condition>
bool eventually(Condition condition, int timeout_ms = kHangMs) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace aiusage::testing
