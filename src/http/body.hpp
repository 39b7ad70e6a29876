#pragma once
// Reading a request body whole: within the size limit, the body deadline and the process-wide
// body memory budget. Any handler that takes a body (JSON, NDJSON, protobuf, gzip) reads it here.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "aiusage/exchange.hpp"
#include "memory_budget.hpp"

namespace aiusage {

struct BodyLimits {
  std::size_t max_bytes = 0;
  std::int64_t timeout_ms = 0;  // the whole body must arrive within this (408)
};

class BodyReader {
 public:
  BodyReader(BodyLimits limits, std::size_t budget) : limits_(limits), budget_(budget) {}

  // Reads the whole body into `body` (as sent: a Content-Encoding is not undone), holding its
  // memory in `lease` until the request is answered; or the answer that refuses it (413, 408,
  // 400 for a body cut short, 503 past the budget), which closes the connection.
  std::optional<Response> read(Exchange& ex, std::string& body,
                               std::optional<MemoryBudget::Lease>& lease);
  // 503 for a request past the memory budget; the connection closes unless its body was read.
  Response over_budget(bool body_read) const;

 private:
  BodyLimits limits_;
  MemoryBudget budget_;
};

}  // namespace aiusage
