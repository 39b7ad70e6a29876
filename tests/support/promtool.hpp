#pragma once
// The real `promtool check metrics` (Debian package prometheus) over a page.
#include <string>

namespace aiusage::testing {

// Empty when promtool accepts `page` without a word; otherwise its exit status and output.
std::string promtool_check_metrics(const std::string& page);

}  // namespace aiusage::testing
