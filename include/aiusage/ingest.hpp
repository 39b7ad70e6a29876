#pragma once
// Parsing and validation of POST /api/v1/usage bodies (untrusted input).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aiusage/record.hpp"
#include "aiusage/result.hpp"

namespace aiusage {

struct FieldError {
  std::size_t index = 0;  // position of the record in the body
  std::string field;      // JSON path, e.g. "usage.promptTokens"
  std::string message;
  bool operator==(const FieldError&) const = default;
};

struct IngestError {
  int status = 400;
  std::string message;
  std::vector<FieldError> details;
  std::optional<std::size_t> offset;  // byte offset of malformed JSON
  std::size_t records = 0;            // records refused with it (1 when the body could not be read)
};

enum class BodyFormat { json, ndjson };

inline constexpr std::size_t kMaxIdLength = 128;
inline constexpr std::size_t kMaxLabelLength = 256;

// Parses one object, an array of objects, or NDJSON into unpriced records; every invalid record
// is reported. Records without "timestamp" get `now_ms`; ids are left empty when absent.
Result<std::vector<UsageRecord>, IngestError> parse_usage_body(std::string_view body,
                                                               BodyFormat format,
                                                               std::int64_t now_ms);

// Digest of the content a client submitted (not the id, not a defaulted timestamp).
std::string content_fingerprint(const UsageRecord& record, bool timestamp_given);
// Random RFC 4122 version-4 UUID.
std::string make_uuid();

}  // namespace aiusage
