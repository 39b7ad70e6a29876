#pragma once
// The price classes an entry or a tier names, and the prices of those it omits: one rule for the
// [[pricing]] tables and the catalogs.
#include <array>
#include <optional>

#include "aiusage/pricing.hpp"

namespace aiusage {

// What one entry or tier names: input and output always, every other class optionally.
struct GivenClasses {
  Nanos input = 0;
  Nanos output = 0;
  std::optional<Nanos> cache_read;
  std::optional<Nanos> cache_write;
  std::array<std::optional<Nanos>, kTokenDetails> details{};
};

// cache_read and cache_write default to input; each detail class to its priced_as class as
// resolved (cache_write_1h to cache_write, reasoning to output, ...).
ClassPrices resolve_classes(const GivenClasses& given);

}  // namespace aiusage
