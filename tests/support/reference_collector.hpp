#pragma once
// The service's /metrics families built with prometheus-cpp: the oracle that render_metrics()
// must match byte for byte (exposition and UTF-8 tests). Test support only; never served.
#include <prometheus/collectable.h>

#include <memory>
#include <string>

#include "aiusage/service.hpp"

namespace aiusage::testing {

std::shared_ptr<prometheus::Collectable> make_usage_collector(UsageService& service);
// TextSerializer's page of make_usage_collector(service).
std::string reference_page(UsageService& service);
// "" when `mine` and `reference` are the same page: the same lines, except that a sample's value
// may be written otherwise (the exact decimal of a cost) if it reads as the same double, or one
// ulp from it (the reference's nanos_to_units rounds twice). Else the first differing lines.
std::string exposition_difference(const std::string& mine, const std::string& reference);

}  // namespace aiusage::testing
