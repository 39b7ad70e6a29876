#pragma once
// Facts fixed at build time.

namespace aiusage {

extern const char* const kVersion;
extern const char* const kRevision;
extern const char* const kDefaultConfigToml;   // config/example.toml as shipped
extern const char* const kDefaultPricingToml;  // config/pricing.toml as shipped

}  // namespace aiusage
