#include "aiusage/ingest.hpp"

#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstdio>
#include <stdexcept>

#include "aiusage/calendar.hpp"
#include "aiusage/digest.hpp"
#include "aiusage/duration.hpp"

namespace aiusage {

namespace {

using rapidjson::Value;

constexpr unsigned kParseFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
// 9999-12-31T23:59:59.999Z: the largest epoch-milliseconds timestamp accepted.
constexpr std::int64_t kMaxTimestampMs = 253'402'300'799'999;

// Field errors of a body: counts every invalid record, keeps the first kMaxErrorDetails details.
struct ErrorSink {
  std::vector<FieldError> details;
  std::size_t bad_records = 0;
  std::size_t total = 0;
  std::optional<std::size_t> last_index;

  void add(std::size_t index, std::string field, std::string message) {
    ++total;
    if (last_index != index) ++bad_records;
    last_index = index;
    if (details.size() < kMaxErrorDetails)
      details.push_back({index, std::move(field), std::move(message)});
  }
  bool empty() const { return total == 0; }
};

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

class RecordReader {
 public:
  RecordReader(std::size_t index, ErrorSink& errors) : index_(index), errors_(errors) {}

  void error(std::string field, std::string message) {
    errors_.add(index_, std::move(field), std::move(message));
  }

  // Returns the string at `key`; records an error when required and missing, or malformed.
  std::optional<std::string> text(const Value& obj, const char* key, const std::string& field,
                                  bool required, std::size_t max_len) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || (!required && it->value.IsNull())) {
      if (required) error(field, "is required");
      return std::nullopt;
    }
    if (!it->value.IsString()) {
      error(field, "must be a string");
      return std::nullopt;
    }
    std::string_view s(it->value.GetString(), it->value.GetStringLength());
    if (s.empty()) {
      error(field, "must not be empty");
      return std::nullopt;
    }
    if (utf8_length(s) > max_len) {
      error(field, "must be at most " + std::to_string(max_len) + " characters");
      return std::nullopt;
    }
    return std::string(s);
  }

  std::optional<std::int64_t> tokens(const Value& obj, const char* key, const std::string& field,
                                     bool required, std::int64_t max = kMaxTokens) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd()) {
      if (required) error(field, "is required");
      return std::nullopt;
    }
    const Value& v = it->value;
    if (!v.IsInt64() || v.GetInt64() < 0) {
      if (v.IsUint64())
        error(field, "must be at most " + std::to_string(max));
      else
        error(field, "must be a non-negative integer");
      return std::nullopt;
    }
    if (v.GetInt64() > max) {
      error(field, "must be at most " + std::to_string(max));
      return std::nullopt;
    }
    return v.GetInt64();
  }

 private:
  std::size_t index_;
  ErrorSink& errors_;
};

// Checks a given timestamp against the policy's window around the time of receipt.
void check_window(RecordReader& r, std::int64_t ts, const IngestPolicy& policy) {
  auto received = [&] { return " (received at " + format_utc(policy.now_ms) + ")"; };
  if (ts > kMaxTimestampMs) {
    r.error("timestamp", "must be at most " + std::to_string(kMaxTimestampMs) + " (year 9999)");
  } else if (policy.window.max_future_ms && ts - policy.now_ms > *policy.window.max_future_ms) {
    r.error("timestamp", "must not be more than " +
                             format_duration_ms(*policy.window.max_future_ms) + " in the future" +
                             received());
  } else if (policy.window.max_age_ms && policy.now_ms - ts > *policy.window.max_age_ms) {
    r.error("timestamp",
            "must not be older than " + format_duration_ms(*policy.window.max_age_ms) + received());
  }
}

// Fills `rec` from one JSON value; returns whether "timestamp" was given.
bool read_record(const Value& v, std::size_t index, const IngestPolicy& policy, UsageRecord& rec,
                 ErrorSink& errors) {
  RecordReader r(index, errors);
  const std::int64_t now_ms = policy.now_ms;
  const std::size_t before = errors.total;
  if (!v.IsObject()) {
    r.error("", "must be a JSON object");
    return false;
  }
  if (auto id = r.text(v, "id", "id", false, kMaxIdLength)) rec.id = *id;
  if (auto s = r.text(v, "userId", "userId", true, kMaxLabelLength)) rec.user = *s;
  if (auto s = r.text(v, "projectId", "projectId", false, kMaxLabelLength)) rec.project = *s;
  if (auto s = r.text(v, "provider", "provider", true, kMaxLabelLength)) rec.provider = *s;
  if (auto s = r.text(v, "model", "model", true, kMaxLabelLength)) rec.model = *s;

  auto usage = v.FindMember("usage");
  if (usage == v.MemberEnd()) {
    r.error("usage", "is required");
  } else if (!usage->value.IsObject()) {
    r.error("usage", "must be an object");
  } else {
    const Value& u = usage->value;
    auto prompt = r.tokens(u, "promptTokens", "usage.promptTokens", true);
    auto completion = r.tokens(u, "completionTokens", "usage.completionTokens", true);
    auto total = r.tokens(u, "totalTokens", "usage.totalTokens", false, 2 * kMaxTokens);
    auto cache_read = r.tokens(u, "cacheReadTokens", "usage.cacheReadTokens", false);
    auto cache_write = r.tokens(u, "cacheWriteTokens", "usage.cacheWriteTokens", false);
    if (prompt && completion) {
      rec.prompt_tokens = *prompt;
      rec.completion_tokens = *completion;
      if (total && *total != *prompt + *completion)
        r.error("usage.totalTokens", "must equal promptTokens + completionTokens (" +
                                         std::to_string(*prompt + *completion) + ")");
    }
    rec.cache_read_tokens = cache_read.value_or(0);
    rec.cache_write_tokens = cache_write.value_or(0);
    if (prompt && rec.cache_read_tokens + rec.cache_write_tokens > *prompt)
      r.error("usage", "cacheReadTokens + cacheWriteTokens must not exceed promptTokens");
  }

  auto cached = v.FindMember("cached");
  if (cached != v.MemberEnd() && !cached->value.IsNull()) {
    if (cached->value.IsBool())
      rec.cached = cached->value.GetBool();
    else
      r.error("cached", "must be a boolean");
  }

  bool timestamp_given = false;
  rec.timestamp_ms = now_ms;
  auto ts = v.FindMember("timestamp");
  if (ts != v.MemberEnd() && !ts->value.IsNull()) {
    timestamp_given = true;
    if (ts->value.IsString()) {
      auto parsed = parse_rfc3339({ts->value.GetString(), ts->value.GetStringLength()});
      if (parsed) {
        rec.timestamp_ms = *parsed;
        check_window(r, rec.timestamp_ms, policy);
      } else {
        r.error("timestamp", parsed.error().message);
      }
    } else if (ts->value.IsInt64() && ts->value.GetInt64() >= 0) {
      rec.timestamp_ms = ts->value.GetInt64();
      check_window(r, rec.timestamp_ms, policy);
    } else {
      r.error("timestamp", "must be an RFC 3339 string or epoch milliseconds");
    }
  }
  rec.received_ms = now_ms;
  return errors.total == before && timestamp_given;
}

IngestError malformed(const rapidjson::Document& doc, std::size_t base_offset) {
  std::size_t offset = base_offset + doc.GetErrorOffset();
  return IngestError{400,
                     "malformed JSON at byte " + std::to_string(offset) + ": " +
                         rapidjson::GetParseError_En(doc.GetParseError()),
                     {},
                     offset,
                     1};
}

}  // namespace

std::string content_fingerprint(const UsageRecord& r, bool timestamp_given) {
  std::string canon;
  auto put = [&canon](std::string_view s) {
    canon += std::to_string(s.size());
    canon += ':';
    canon += s;
  };
  put(r.user);
  put(r.project);
  put(r.provider);
  put(r.model);
  put(std::to_string(r.prompt_tokens));
  put(std::to_string(r.completion_tokens));
  put(std::to_string(r.cache_read_tokens));
  put(std::to_string(r.cache_write_tokens));
  put(r.cached ? "1" : "0");
  put(timestamp_given ? std::to_string(r.timestamp_ms) : "-");
  return to_hex(sha256(canon), 16);
}

std::string make_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = (b[6] & 0x0F) | 0x40;
  b[8] = (b[8] & 0x3F) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

Result<std::vector<UsageRecord>, IngestError> parse_usage_body(std::string_view body,
                                                               BodyFormat format,
                                                               std::int64_t now_ms) {
  return parse_usage_body(
      body, format, IngestPolicy{now_ms, TimeWindow{std::nullopt, std::nullopt}, std::nullopt});
}

Result<std::vector<UsageRecord>, IngestError> parse_usage_body(std::string_view body,
                                                               BodyFormat format,
                                                               const IngestPolicy& policy) {
  std::vector<UsageRecord> records;
  std::size_t count = 0;
  ErrorSink errors;
  // Once a record is invalid nothing will be stored: later records are validated, not kept.
  auto take = [&](const Value& v) {
    UsageRecord rec;
    bool ts_given = read_record(v, count++, policy, rec, errors);
    if (!errors.empty()) return;
    rec.fingerprint = content_fingerprint(rec, ts_given);
    records.push_back(std::move(rec));
  };

  if (format == BodyFormat::json) {
    rapidjson::Document doc;
    doc.Parse<kParseFlags>(body.data(), body.size());
    if (doc.HasParseError()) return malformed(doc, 0);
    if (doc.IsArray()) {
      records.reserve(doc.Size());
      for (const Value& v : doc.GetArray()) take(v);
    } else {
      take(doc);
    }
  } else {
    std::size_t pos = 0;
    while (pos < body.size()) {
      std::size_t end = body.find('\n', pos);
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = body.substr(pos, end - pos);
      if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
        rapidjson::Document doc;
        doc.Parse<kParseFlags>(line.data(), line.size());
        if (doc.HasParseError()) return malformed(doc, pos);
        take(doc);
      }
      pos = end + 1;
    }
  }
  if (count == 0) return IngestError{400, "the body contains no records", {}, std::nullopt, 1};
  if (!errors.empty()) {
    return IngestError{400,
                       std::to_string(errors.bad_records) + " of " + std::to_string(count) +
                           " records are invalid; nothing was stored",
                       std::move(errors.details), std::nullopt, count};
  }
  if (policy.project) {
    ErrorSink foreign;
    for (std::size_t i = 0; i < records.size(); ++i)
      if (records[i].project != *policy.project)
        foreign.add(i, "projectId", "must be \"" + *policy.project + "\" for this token");
    if (!foreign.empty())
      return IngestError{403,
                         "this token may only write records of project \"" + *policy.project +
                             "\"; nothing was stored",
                         std::move(foreign.details), std::nullopt, count};
  }
  return records;
}

}  // namespace aiusage
