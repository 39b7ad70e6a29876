#include "aiusage/price_classes.hpp"

namespace aiusage {

ClassPrices resolve_classes(const GivenClasses& given) {
  ClassPrices c;
  c.input = given.input;
  c.output = given.output;
  c.cache_read = given.cache_read.value_or(given.input);
  c.cache_write = given.cache_write.value_or(given.input);
  std::array<bool, kTokenDetails> named{};
  for (std::size_t d = 0; d < kTokenDetails; ++d) {
    if (!given.details[d]) continue;
    c.details[d] = *given.details[d];
    named[d] = true;
  }
  with_detail_defaults(c, named);
  return c;
}

}  // namespace aiusage
