#pragma once
// Helpers that service.cpp and budgets.cpp share.
#include "aiusage/aggregate.hpp"
#include "aiusage/calendar.hpp"
#include "aiusage/storage.hpp"

namespace aiusage::service_detail {

// The records of period `p`.
UsageFilter month_filter(Period p);
// The store for a read: readable() said there is one, unless it was reopened meanwhile.
Storage::Reading reading(const Storage& storage);

}  // namespace aiusage::service_detail
