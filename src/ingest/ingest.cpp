#include "aiusage/ingest.hpp"

#include <rapidjson/error/en.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <functional>
#include <stdexcept>

#include "aiusage/calendar.hpp"
#include "aiusage/digest.hpp"
#include "aiusage/duration.hpp"
#include "aiusage/utf8.hpp"
#include "fields_value.hpp"
#include "json_stream.hpp"
#include "record_reader.hpp"
#include "usage_formats.hpp"

namespace aiusage {

namespace {

// Every member read_record looks at: RapidJSON's records keep these only (json_stream.hpp).
constexpr std::string_view kRecordKeys[] = {"id",          "userId",      "projectId", "provider",
                                            "model",       "usage",       "cached",    "timestamp",
                                            "usageFormat", "serviceTier", "toolCalls", "tags"};
constexpr RecordShape kAnyKeysShape{{}, {}, true};
constexpr RecordShape::Child kRecordChildren[] = {
    {"usage", &kUsageShape}, {"toolCalls", &kAnyKeysShape}, {"tags", &kAnyKeysShape}};
constexpr RecordShape kRecordShape{kRecordKeys, kRecordChildren};
// 9999-12-31T23:59:59.999Z: the largest epoch-milliseconds timestamp accepted.
constexpr std::int64_t kMaxTimestampMs = 253'402'300'799'999;

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

// toolCalls: {"web_search": 3, …}, at most kMaxTools names, each at most kMaxToolCalls; calls of
// 0 are left out, the rest kept in name order.
template <class V>
void read_tool_calls(const V& v, RecordReader& r, UsageRecord& rec) {
  if (!v.is_object()) return r.error("toolCalls", "must be an object of tool names and counts");
  std::size_t named = 0;
  v.for_each_member([&](std::string_view, const V&) { ++named; });
  if (named > kMaxTools)
    return r.error("toolCalls", "must name at most " + std::to_string(kMaxTools) + " tools");
  ToolCalls calls;
  bool ok = true;
  v.for_each_member([&](std::string_view name, const V& count) {
    if (!valid_tool_name(name)) {
      ok = false;
      const std::string shown = to_valid_utf8(name.substr(0, kMaxToolNameBytes + 1));
      return r.error("toolCalls", "\"" + shown + "\" is not a tool name (1 to " +
                                      std::to_string(kMaxToolNameBytes) + " of A-Z a-z 0-9 _ . -)");
    }
    const std::string field = "toolCalls." + std::string(name);
    auto n = count.int64();
    if (!n || *n < 0) {
      ok = false;
      return r.error(field, "must be a non-negative integer");
    }
    if (*n > kMaxToolCalls) {
      ok = false;
      return r.error(field, "must be at most " + std::to_string(kMaxToolCalls));
    }
    for (const ToolCall& t : calls)
      if (t.name == name) {
        ok = false;
        return r.error(field, "is given twice");
      }
    calls.push_back({std::string(name), *n, false});
  });
  if (!ok) return;
  std::erase_if(calls, [](const ToolCall& t) { return t.calls == 0; });
  std::sort(calls.begin(), calls.end(),
            [](const ToolCall& a, const ToolCall& b) { return a.name < b.name; });
  rec.tool_calls = std::move(calls);
}

// tags: {"feature": "chat", …}, at most kMaxTags keys (valid_tag_key), each value a non-empty
// string of at most kMaxTagValueBytes bytes of UTF-8; kept in key order.
template <class V>
void read_tags(const V& v, RecordReader& r, UsageRecord& rec) {
  if (!v.is_object()) return r.error("tags", "must be an object of string keys and values");
  std::size_t named = 0;
  v.for_each_member([&](std::string_view, const V&) { ++named; });
  if (named > kMaxTags)
    return r.error("tags", "must have at most " + std::to_string(kMaxTags) + " keys");
  Tags tags;
  bool ok = true;
  v.for_each_member([&](std::string_view key, const V& value) {
    auto fail = [&](const std::string& field, const std::string& message) {
      ok = false;
      r.error(field, message);
    };
    if (!valid_tag_key(key)) {
      const std::string shown = to_valid_utf8(key.substr(0, kMaxTagKeyBytes + 1));
      return fail("tags", "\"" + shown + "\" is not a tag key (1 to " +
                              std::to_string(kMaxTagKeyBytes) +
                              " of A-Z a-z 0-9 _, not starting with a digit or \"__\")");
    }
    const std::string field = "tags." + std::string(key);
    auto text = value.string();
    if (!text) return fail(field, "must be a string");
    if (text->empty()) return fail(field, "must not be empty (leave the key out)");
    if (!r.utf8(field, *text)) {
      ok = false;
      return;
    }
    if (text->size() > kMaxTagValueBytes)
      return fail(field, "must be at most " + std::to_string(kMaxTagValueBytes) + " bytes");
    if (*text == kOtherLabel)
      return fail(field,
                  "\"__other__\" is reserved: it names the sum of the values not shown apart");
    for (const Tag& t : tags)
      if (t.key == key) return fail(field, "is given twice");
    tags.push_back({std::string(key), std::string(*text)});
  });
  if (!ok) return;
  std::sort(tags.begin(), tags.end(), [](const Tag& a, const Tag& b) { return a.key < b.key; });
  rec.tags = std::move(tags);
}

// Fills `rec` from one JSON value; returns whether "timestamp" was given.
template <class V>
bool read_record(const V& v, std::size_t index, const IngestPolicy& policy, UsageRecord& rec,
                 ErrorSink& errors) {
  RecordReader r(index, errors);
  const std::int64_t now_ms = policy.now_ms;
  const std::size_t before = errors.total;
  if (!v.is_object()) {
    r.error("", "must be a JSON object");
    return false;
  }
  if (auto id = r.text(v, "id", "id", false, kMaxIdLength)) rec.id.assign(*id);
  if (auto s = r.text(v, "userId", "userId", true, kMaxLabelLength)) rec.user.assign(*s);
  if (auto s = r.text(v, "projectId", "projectId", false, kMaxLabelLength)) rec.project.assign(*s);
  if (auto s = r.text(v, "provider", "provider", true, kMaxLabelLength)) rec.provider.assign(*s);
  if (auto s = r.text(v, "model", "model", true, kMaxLabelLength)) rec.model.assign(*s);
  for (const auto& [field, value] : {std::pair{"userId", &rec.user},
                                     {"projectId", &rec.project},
                                     {"provider", &rec.provider},
                                     {"model", &rec.model}})
    if (*value == kOtherLabel)
      r.error(field, "\"__other__\" is reserved: it names the sum of the values not shown apart");

  auto usage = v.find("usage");
  if (!usage) {
    r.error("usage", "is required");
  } else if (!usage->is_object()) {
    r.error("usage", "must be an object");
  } else if (auto format = usage_format_of(v, *usage, rec.provider, r)) {
    read_usage(*usage, *format, r, rec);
  }

  // Given at the top level, these replace what a provider usage object said.
  if (auto tier = v.find("serviceTier"); tier && !tier->is_null()) {
    auto name = tier->string();
    auto named = name ? service_tier_named(*name) : std::nullopt;
    if (named)
      rec.service_tier = *named;
    else
      r.error("serviceTier", "must be \"standard\", \"batch\", \"flex\" or \"priority\"");
  }
  if (auto tools = v.find("toolCalls"); tools && !tools->is_null()) read_tool_calls(*tools, r, rec);
  if (auto tags = v.find("tags"); tags && !tags->is_null()) read_tags(*tags, r, rec);

  auto cached = v.find("cached");
  if (cached && !cached->is_null()) {
    if (auto b = cached->boolean())
      rec.cached = *b;
    else
      r.error("cached", "must be a boolean");
  }

  bool timestamp_given = false;
  rec.timestamp_ms = now_ms;
  auto ts = v.find("timestamp");
  if (ts && !ts->is_null()) {
    timestamp_given = true;
    if (auto text = ts->string()) {
      auto parsed = parse_rfc3339(*text);
      if (parsed) {
        rec.timestamp_ms = *parsed;
        check_window(r, rec.timestamp_ms, policy);
      } else if (r.utf8("timestamp", *text)) {  // the message quotes the text
        r.error("timestamp", parsed.error().message);
      }
    } else if (auto ms = ts->int64(); ms && *ms >= 0) {
      rec.timestamp_ms = *ms;
      check_window(r, rec.timestamp_ms, policy);
    } else {
      r.error("timestamp", "must be an RFC 3339 string or epoch milliseconds");
    }
  }
  rec.received_ms = now_ms;
  return errors.total == before && timestamp_given;
}

void check_project(std::size_t index, const UsageRecord& r, const IngestPolicy& policy,
                   ErrorSink& errors) {
  if (policy.project && r.project != *policy.project)
    errors.add(index, "projectId", "must be \"" + *policy.project + "\" for this token");
}

IngestError malformed(std::size_t offset, std::string_view what) {
  return IngestError{IngestErrorKind::invalid,
                     "malformed JSON at byte " + std::to_string(offset) + ": " + std::string(what),
                     {},
                     offset,
                     1};
}

IngestError malformed(const rapidjson::ParseResult& parsed, std::size_t base_offset) {
  return malformed(base_offset + parsed.Offset(), rapidjson::GetParseError_En(parsed.Code()));
}

}  // namespace

std::string content_fingerprint(const UsageRecord& r, bool timestamp_given) {
  std::string canon;
  canon.reserve(256);
  auto number = [](std::int64_t n, char(&buf)[24]) {
    return std::string_view(buf,
                            static_cast<std::size_t>(std::to_chars(buf, buf + 24, n).ptr - buf));
  };
  auto put = [&](std::string_view s) {
    char buf[24];
    canon += number(static_cast<std::int64_t>(s.size()), buf);
    canon += ':';
    canon += s;
  };
  auto put_number = [&](std::int64_t n) {
    char buf[24];
    put(number(n, buf));
  };
  put(r.user);
  put(r.project);
  put(r.provider);
  put(r.model);
  put_number(r.prompt_tokens);
  put_number(r.completion_tokens);
  put_number(r.cache_read_tokens);
  put_number(r.cache_write_tokens);
  put(r.cached ? "1" : "0");
  if (timestamp_given)
    put_number(r.timestamp_ms);
  else
    put("-");
  // Fields added later enter only when set, so a record without them keeps its digest.
  if (std::any_of(r.details.begin(), r.details.end(), [](std::int64_t n) { return n != 0; })) {
    put("details");
    for (std::int64_t n : r.details) put_number(n);
  }
  if (r.service_tier != ServiceTier::standard) {
    put("tier");
    put(to_string(r.service_tier));
  }
  if (!r.tool_calls.empty()) {
    put("tools");
    for (const ToolCall& t : r.tool_calls) {
      put(t.name);
      put_number(t.calls);
    }
  }
  if (!r.tags.empty()) {
    put("tags");
    for (const Tag& t : r.tags) {
      put(t.key);
      put(t.value);
    }
  }
  return to_hex(sha256(canon), 16);
}

Result<UsageRecord, std::vector<FieldError>> check_record(const RecordFields& f,
                                                          const IngestPolicy& policy) {
  using M = FieldsValue::Member;
  auto text = [](std::string_view s) { return FieldsValue::text(s); };
  std::vector<M> usage = {{"promptTokens", FieldsValue::integer(f.prompt_tokens)},
                          {"completionTokens", FieldsValue::integer(f.completion_tokens)},
                          {"cacheReadTokens", FieldsValue::integer(f.cache_read_tokens)},
                          {"cacheWriteTokens", FieldsValue::integer(f.cache_write_tokens)}};
  for (std::size_t d = 0; d < kTokenDetails; ++d)
    if (f.details[d] != 0)
      usage.push_back({kTokenDetailInfo[d].api_name.data(), FieldsValue::integer(f.details[d])});
  std::vector<M> tags;
  for (const auto& [key, value] : f.tags) tags.push_back({key, text(value)});
  const M members[] = {
      {"tags", tags.empty() ? FieldsValue::null() : FieldsValue::object(tags.data(), tags.size())},
      {"id", text(f.id)},
      {"userId", text(f.user)},
      {"projectId", f.project.empty() ? FieldsValue::null() : text(f.project)},
      {"provider", text(f.provider)},
      {"model", text(f.model)},
      {"usage", FieldsValue::object(usage.data(), usage.size())},
      {"timestamp", f.timestamp_ms ? FieldsValue::integer(*f.timestamp_ms) : FieldsValue::null()}};
  UsageRecord rec;
  ErrorSink errors;
  const bool ts_given =
      read_record(FieldsValue::object(members, std::size(members)), 0, policy, rec, errors);
  if (errors.empty()) check_project(0, rec, policy, errors);
  if (!errors.empty()) return std::move(errors.details);
  rec.fingerprint = content_fingerprint(rec, ts_given);
  return rec;
}

std::size_t ingest_memory_bound(std::size_t body_bytes, std::size_t fast_parse_max_bytes) {
  constexpr std::size_t kPerRequest = 16 * 1024;  // parser and answer of even the smallest body
  constexpr std::size_t kSimdjsonPerByte = 14;
  constexpr std::size_t kRecordsPerByte = 10;
  return kPerRequest + body_bytes * (2 + kRecordsPerByte) +
         kSimdjsonPerByte * std::min(body_bytes, fast_parse_max_bytes);
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
  auto take = [&](const auto& v) {
    UsageRecord rec;
    bool ts_given = read_record(v, count++, policy, rec, errors);
    if (!errors.empty()) return;
    rec.fingerprint = content_fingerprint(rec, ts_given);
    records.push_back(std::move(rec));
  };
  // A JSON body's top level may be an array of records; an NDJSON line holds one record.
  auto read_root = [&](const auto& root) {
    auto size = format == BodyFormat::json ? root.array_size() : std::nullopt;
    if (!size) return take(root);
    records.reserve(*size);
    root.for_each_element(take);
  };
  // One JSON text through simdjson when it is small enough and simdjson takes it; otherwise (and
  // for every syntax error, whose byte offset RapidJSON names) through RapidJSON, record by record.
  simdjson::dom::parser fast;  // one per body: a DOM lives until the next parse
  const std::function<void(const JsonValue&)> take_rapid = [&](const JsonValue& v) {
    take(RapidValue(v));
  };
  auto read_text = [&](std::string_view text, std::size_t base) -> std::optional<IngestError> {
    simdjson::dom::element root;
    if (text.size() <= policy.fast_parse_max_bytes &&
        fast.parse(text.data(), text.size()).get(root) == simdjson::SUCCESS) {
      read_root(SimdValue(root));
      return std::nullopt;
    }
    auto parsed = for_each_record(text, format == BodyFormat::json, kRecordShape, take_rapid);
    if (parsed.IsError()) return malformed(parsed, base);
    // RapidJSON reads a NUL as the end of its input: one after the root would hide what follows.
    if (std::size_t nul = text.find('\0'); nul != std::string_view::npos)
      return malformed(base + nul, "The document root must not be followed by a NUL byte.");
    return std::nullopt;
  };

  if (format == BodyFormat::json) {
    if (auto bad = read_text(body, 0)) return std::move(*bad);
  } else {
    std::size_t pos = 0;
    while (pos < body.size()) {
      std::size_t end = body.find('\n', pos);
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = body.substr(pos, end - pos);
      if (line.find_first_not_of(" \t\r") != std::string_view::npos)
        if (auto bad = read_text(line, pos)) return std::move(*bad);
      pos = end + 1;
    }
  }
  if (count == 0)
    return IngestError{
        IngestErrorKind::invalid, "the body contains no records", {}, std::nullopt, 1};
  if (!errors.empty()) {
    return IngestError{IngestErrorKind::invalid,
                       std::to_string(errors.bad_records) + " of " + std::to_string(count) +
                           " records are invalid; nothing was stored",
                       std::move(errors.details), std::nullopt, count};
  }
  if (policy.project) {
    ErrorSink foreign;
    for (std::size_t i = 0; i < records.size(); ++i) check_project(i, records[i], policy, foreign);
    if (!foreign.empty())
      return IngestError{IngestErrorKind::wrong_project,
                         "this token may only write records of project \"" + *policy.project +
                             "\"; nothing was stored",
                         std::move(foreign.details), std::nullopt, count};
  }
  return records;
}

}  // namespace aiusage
