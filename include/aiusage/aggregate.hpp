#pragma once
// Sums of usage records, keyed by who/what made the calls.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "aiusage/money.hpp"
#include "aiusage/record.hpp"

namespace aiusage {

struct SeriesKey {
  std::string provider;
  std::string model;
  std::string project;
  std::string user;
  auto operator<=>(const SeriesKey&) const = default;
};

struct UsageSums {
  std::int64_t calls = 0;
  std::int64_t cache_hits = 0;
  std::int64_t unpriced = 0;
  std::int64_t prompt_tokens = 0;  // billed (non-cached) records only, cache classes included
  std::int64_t completion_tokens = 0;
  std::int64_t cache_read_tokens = 0;
  std::int64_t cache_write_tokens = 0;
  std::int64_t cached_tokens = 0;  // tokens of records answered from the response cache
  Nanos cost = 0;

  void add(const UsageRecord& r) {
    ++calls;
    if (r.cached) {
      ++cache_hits;
      cached_tokens += r.total_tokens();
    } else {
      prompt_tokens += r.prompt_tokens;
      completion_tokens += r.completion_tokens;
      cache_read_tokens += r.cache_read_tokens;
      cache_write_tokens += r.cache_write_tokens;
    }
    if (!r.priced) ++unpriced;
    cost += r.cost;
  }
  UsageSums& operator+=(const UsageSums& o) {
    calls += o.calls;
    cache_hits += o.cache_hits;
    unpriced += o.unpriced;
    prompt_tokens += o.prompt_tokens;
    completion_tokens += o.completion_tokens;
    cache_read_tokens += o.cache_read_tokens;
    cache_write_tokens += o.cache_write_tokens;
    cached_tokens += o.cached_tokens;
    cost += o.cost;
    return *this;
  }
  bool operator==(const UsageSums&) const = default;
  std::int64_t tokens() const { return prompt_tokens + completion_tokens; }
  std::int64_t input_tokens() const {
    return prompt_tokens - cache_read_tokens - cache_write_tokens;
  }
};

struct SeriesSums {
  SeriesKey key;
  UsageSums sums;
};

// Selects records; unset fields match everything, [start_ms, end_ms) by record timestamp.
struct UsageFilter {
  std::optional<std::string> user;
  std::optional<std::string> project;
  std::optional<std::string> provider;
  std::optional<std::string> model;
  std::optional<std::int64_t> start_ms;
  std::optional<std::int64_t> end_ms;
};

}  // namespace aiusage
