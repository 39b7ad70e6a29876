#include "body.hpp"

#include <algorithm>
#include <chrono>

#include "aiusage/duration.hpp"
#include "aiusage/ingest.hpp"
#include "responses.hpp"

namespace aiusage {

Response BodyReader::over_budget(bool body_read) const {
  const std::string message = "too many large request bodies at once (their memory budget is " +
                              std::to_string(budget_.limit()) +
                              " bytes); nothing was stored, retry later";
  Response r = body_read ? json_error(503, message) : closing_error(503, message);
  r.headers.push_back({"Retry-After", "1"});
  return r;
}

std::optional<Response> BodyReader::read(Exchange& ex, std::string& body,
                                         std::optional<MemoryBudget::Lease>& lease) {
  const std::size_t limit = limits_.max_bytes;
  auto too_large = [&] {
    return closing_error(413, "request body exceeds " + std::to_string(limit) + " bytes");
  };
  const std::optional<std::size_t> declared = ex.content_length();
  // Checked before reading: a declared length over the limit is refused without reading a byte.
  if (declared && *declared > limit) return too_large();
  // While it is read a body holds its buffer, reserved in steps ahead of what has arrived and
  // counted twice (a reallocation copies it): a slow client holds little of the budget.
  const std::size_t most = declared.value_or(limit);
  std::size_t covered = 0;
  auto cover = [&](std::size_t arrived) {
    covered = std::min(std::max<std::size_t>(2 * arrived, 16 * 1024), most);
    if (!lease->grow_to(ingest_memory_bound(0) + 2 * covered)) return false;
    body.reserve(covered);
    return true;
  };
  lease = budget_.reserve(ingest_memory_bound(0));
  if (!lease || !cover(0)) return over_budget(false);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(limits_.timeout_ms);
  ex.begin_body(deadline);
  char buf[16384];
  long n = 0;
  for (;;) {
    n = ex.read_body(buf, sizeof buf);
    if (n > 0) body.append(buf, static_cast<std::size_t>(n));
    // A chunked body has no declared length: it is cut as soon as it passes the limit.
    if (body.size() > limit) return too_large();
    if (body.size() > covered && !cover(body.size())) return over_budget(false);
    if (std::chrono::steady_clock::now() >= deadline)
      return closing_error(
          408, "request body not received within " + format_duration_ms(limits_.timeout_ms));
    if (n <= 0) break;
  }
  // A body cut short (client gone, read timeout, broken chunks) is never used, even if it parses.
  if (declared && body.size() != *declared)
    return closing_error(400, "request body ended after " + std::to_string(body.size()) + " of " +
                                  std::to_string(*declared) + " bytes");
  if (n < 0) return closing_error(400, "request body could not be read completely");
  return std::nullopt;
}

}  // namespace aiusage
