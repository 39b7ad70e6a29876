#pragma once
// Parsing and validation of POST /api/v1/usage bodies (untrusted input).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// Why a body was refused; the HTTP layer maps each kind to a status (src/http/status.cpp).
enum class IngestErrorKind {
  invalid,        // unreadable or invalid records
  wrong_project,  // a record of a project other than the token's
  id_conflict,    // an id already stored with different content
  over_capacity,  // storing it would take an all-time total of the store past its bound
  unavailable,    // storage failed; the client may retry
};

struct IngestError {
  IngestErrorKind kind = IngestErrorKind::invalid;
  std::string message;
  std::vector<FieldError> details;
  std::optional<std::size_t> offset;  // byte offset of malformed JSON
  std::size_t records = 0;            // records refused with it (1 when the body could not be read)
};

enum class BodyFormat { json, ndjson };

inline constexpr std::size_t kMaxIdLength = 128;
inline constexpr std::size_t kMaxLabelLength = 256;
// An error response lists at most this many field errors (the count in its message is exact).
inline constexpr std::size_t kMaxErrorDetails = 100;

// How far a record's timestamp may lie from the time it is received; nullopt = no bound.
struct TimeWindow {
  std::optional<std::int64_t> max_future_ms = 5 * 60 * 1000;
  std::optional<std::int64_t> max_age_ms = std::int64_t{35} * 24 * 3600 * 1000;
  bool operator==(const TimeWindow&) const = default;
};

// JSON texts (a body, an NDJSON line) up to this size are parsed with simdjson, whose DOM takes
// ~14 bytes per input byte; larger ones with RapidJSON, record by record (about the text's size
// whatever its shape). Both give the same records and errors,
// except that RapidJSON refuses zeros with an exponent beyond 308 ("0e400", valid JSON).
inline constexpr std::size_t kFastParseMaxBytes = std::size_t{1} << 20;

// An upper bound of the memory one ingest request holds until it is answered, its body of
// `body_bytes` included: simdjson's DOM (~14 bytes per byte of a text it reads), RapidJSON's
// string buffer (at most the text) and the records with their answer (measured at ~10 bytes per
// byte of a body of small valid records). See docs/reliability.md.
std::size_t ingest_memory_bound(std::size_t body_bytes,
                                std::size_t fast_parse_max_bytes = kFastParseMaxBytes);

struct IngestPolicy {
  std::int64_t now_ms = 0;
  TimeWindow window;
  std::optional<std::string> project;  // set: every record must belong to it (403 otherwise)
  std::size_t fast_parse_max_bytes = kFastParseMaxBytes;  // 0: RapidJSON only
};

// Parses one object, an array of objects, or NDJSON into unpriced records; every invalid record
// is reported (400), then records of a project other than `policy.project` (403). Records without
// "timestamp" get `now_ms`; ids are left empty when absent.
Result<std::vector<UsageRecord>, IngestError> parse_usage_body(std::string_view body,
                                                               BodyFormat format,
                                                               const IngestPolicy& policy);
// Same with no time window (only the year-9999 limit) and no project binding.
Result<std::vector<UsageRecord>, IngestError> parse_usage_body(std::string_view body,
                                                               BodyFormat format,
                                                               std::int64_t now_ms);

// A record given field by field instead of as JSON (the OTLP receiver), checked by the same rules
// as a JSON record with these members: our usage keys, the timestamp in epoch milliseconds.
struct RecordFields {
  std::string_view id, user, project, provider, model;  // project "": none
  std::int64_t prompt_tokens = 0, completion_tokens = 0, cache_read_tokens = 0,
               cache_write_tokens = 0;
  TokenDetails details{};
  std::optional<std::int64_t> timestamp_ms;                    // nullopt: the time of receipt
  std::vector<std::pair<const char*, std::string_view>> tags;  // key (NUL-terminated), value
};

// The unpriced record with its fingerprint, or its field errors (named as in the JSON API, index
// 0), the project binding of `policy` included.
Result<UsageRecord, std::vector<FieldError>> check_record(const RecordFields& fields,
                                                          const IngestPolicy& policy);

// Digest of the content a client submitted (not the id, not a defaulted timestamp).
std::string content_fingerprint(const UsageRecord& record, bool timestamp_given);

}  // namespace aiusage
