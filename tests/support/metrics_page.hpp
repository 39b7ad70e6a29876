#pragma once
// Parts of a served /metrics page: the usage families (what render_metrics() writes) and the
// storage pipeline's families after them, whose values depend on timing.
#include <string>

namespace aiusage::testing {

// The page with the storage pipeline's sample values replaced by "V".
std::string without_timings(const std::string& page);
// The page up to the storage pipeline's families.
std::string usage_part(const std::string& page);
// The storage pipeline's families, from their first line to the end of the page.
std::string storage_part(const std::string& page);

}  // namespace aiusage::testing
