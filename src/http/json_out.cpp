#include "json_out.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "aiusage/utf8.hpp"

namespace aiusage::json {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Strings and keys are written as valid UTF-8 whatever they hold (see to_valid_utf8).
void key(Writer& w, const std::string& k) {
  if (!valid_utf8(k)) return key(w, to_valid_utf8(k));
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void str(Writer& w, const std::string& s) {
  if (!valid_utf8(s)) return str(w, to_valid_utf8(s));
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void money(Writer& w, const char* name, Nanos n) {
  w.Key(name);
  w.Double(nanos_to_units(n));
  w.Key((std::string(name) + "Nanos").c_str());
  w.Int64(n);
}

void text(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// "pricing": {"entry", "tier", "serviceTier", ["requestedServiceTier"], "source"}.
void price_note(Writer& w, const PriceNote& n) {
  w.Key("pricing");
  w.StartObject();
  w.Key("entry");
  str(w, n.entry);
  w.Key("tier");
  if (n.above_prompt_tokens)
    w.Int64(*n.above_prompt_tokens);
  else
    w.Null();
  w.Key("serviceTier");
  text(w, to_string(n.service_tier));
  if (n.requested_service_tier) {
    w.Key("requestedServiceTier");
    text(w, to_string(*n.requested_service_tier));
  }
  w.Key("source");
  str(w, n.source);
  w.EndObject();
}

void group(Writer& w, const char* name, const std::map<std::string, UsageSums>& m) {
  w.Key(name);
  w.StartObject();
  for (const auto& [k, s] : m) {
    key(w, k);
    w.StartObject();
    w.Key("calls");
    w.Int64(s.calls);
    w.Key("tokens");
    w.Int64(s.tokens());
    money(w, "cost", s.cost);
    w.Key("cacheHits");
    w.Int64(s.cache_hits);
    w.EndObject();
  }
  w.EndObject();
}

void optional_int(Writer& w, const char* name, const std::optional<std::int64_t>& v) {
  w.Key(name);
  v ? w.Int64(*v) : w.Null();
}

void optional_double(Writer& w, const char* name, const std::optional<double>& v) {
  w.Key(name);
  v ? w.Double(*v) : w.Null();
}

void optional_money(Writer& w, const char* name, const std::optional<Nanos>& v) {
  w.Key(name);
  v ? w.Double(nanos_to_units(*v)) : w.Null();
}

void quota_body(Writer& w, const QuotaReport& r, const MonthCalendar& cal,
                const std::string& currency) {
  const QuotaStatus& s = r.status;
  w.Key("scope");
  w.String(to_string(r.scope));
  w.Key("subject");
  str(w, r.subject);
  w.Key("exceeded");
  w.Bool(s.exceeded);
  w.Key("usage");
  w.StartObject();
  w.Key("tokens");
  w.Int64(s.usage.tokens);
  money(w, "cost", s.usage.cost);
  w.EndObject();
  w.Key("limits");
  w.StartObject();
  optional_int(w, "tokens", s.limits.tokens);
  optional_money(w, "cost", s.limits.cost);
  w.EndObject();
  w.Key("percentage");
  w.StartObject();
  optional_double(w, "tokens", s.token_percent);
  optional_double(w, "cost", s.cost_percent);
  w.EndObject();
  w.Key("currency");
  str(w, currency);
  w.Key("period");
  w.StartObject();
  w.Key("start");
  str(w, cal.format_local(r.period.start_ms));
  w.Key("end");
  str(w, cal.format_local(r.period.end_ms));
  w.Key("timezone");
  str(w, cal.name());
  w.EndObject();
  w.Key("window");
  w.String(to_string(r.window));
  w.Key("projected");
  if (!r.forecast) {
    w.Null();
    return;
  }
  w.StartObject();
  w.Key("tokens");
  w.Int64(r.forecast->projected.tokens);
  money(w, "cost", r.forecast->projected.cost);
  w.Key("exhaustedAt");
  if (r.forecast->exhausted_at_ms)
    str(w, cal.format_local(*r.forecast->exhausted_at_ms));
  else
    w.Null();
  w.EndObject();
}

void alert_body(Writer& w, const Alert& a) {
  w.Key("shouldAlert");
  w.Bool(a.level != AlertLevel::none);
  w.Key("level");
  a.level == AlertLevel::none ? w.Null() : w.String(to_string(a.level));
  w.Key("message");
  str(w, a.message);
  w.Key("threshold");
  a.threshold_ppm ? w.Double(static_cast<double>(*a.threshold_ppm) / kWholeLimitPpm) : w.Null();
}

std::string done(rapidjson::StringBuffer& buf) {
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

std::string error(const std::string& message) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("error");
  str(w, message);
  w.EndObject();
  return done(buf);
}

std::string not_ready(const std::string& storage, const std::string& reason) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("status");
  str(w, "degraded");
  w.Key("storage");
  str(w, storage);
  w.Key("error");
  str(w, reason);
  w.EndObject();
  return done(buf);
}

std::string ingest_error(const IngestError& e) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("error");
  str(w, e.message);
  if (e.offset) {
    w.Key("offset");
    w.Uint64(*e.offset);
  }
  w.Key("details");
  w.StartArray();
  for (const FieldError& d : e.details) {
    w.StartObject();
    w.Key("index");
    w.Uint64(d.index);
    w.Key("field");
    str(w, d.field);
    w.Key("message");
    str(w, d.message);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return done(buf);
}

std::string ingest_outcome(const IngestOutcome& o, const std::string& currency) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("accepted");
  w.Uint64(o.accepted);
  w.Key("duplicates");
  w.Uint64(o.duplicates);
  w.Key("records");
  w.StartArray();
  for (std::size_t i = 0; i < o.records.size(); ++i) {
    const UsageRecord& r = o.records[i];
    w.StartObject();
    w.Key("id");
    str(w, r.id);
    money(w, "cost", r.cost);
    w.Key("currency");
    str(w, currency);
    w.Key("priced");
    w.Bool(r.priced);
    w.Key("duplicate");
    w.Bool(o.duplicate[i]);
    // A duplicate carries the stored cost, priced when first stored: no note of today's price.
    if (i < o.pricing.size() && o.pricing[i] && !o.duplicate[i]) price_note(w, *o.pricing[i]);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return done(buf);
}

std::string statistics(const Statistics& s, const std::string& currency) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("totalCalls");
  w.Int64(s.total.calls);
  w.Key("totalTokens");
  w.Int64(s.total.tokens());
  w.Key("promptTokens");
  w.Int64(s.total.prompt_tokens);
  w.Key("completionTokens");
  w.Int64(s.total.completion_tokens);
  w.Key("cacheReadTokens");
  w.Int64(s.total.cache_read_tokens);
  w.Key("cacheWriteTokens");
  w.Int64(s.total.cache_write_tokens);
  for (std::size_t d = 0; d < kTokenDetails; ++d) {
    const std::string_view name = kTokenDetailInfo[d].api_name;
    w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    w.Int64(s.total.details[d]);
  }
  w.Key("cachedTokens");
  w.Int64(s.total.cached_tokens);
  money(w, "totalCost", s.total.cost);
  w.Key("currency");
  str(w, currency);
  w.Key("cacheHits");
  w.Int64(s.total.cache_hits);
  w.Key("unpricedCalls");
  w.Int64(s.total.unpriced);
  group(w, "byProvider", s.by_provider);
  group(w, "byModel", s.by_model);
  group(w, "byProject", s.by_project);
  group(w, "byUser", s.by_user);
  if (s.by_tag) group(w, "byTag", *s.by_tag);
  w.EndObject();
  return done(buf);
}

std::string quota(const QuotaReport& r, const MonthCalendar& cal, const std::string& currency) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  quota_body(w, r, cal, currency);
  w.EndObject();
  return done(buf);
}

std::string alert(const SubjectAlert& a) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  alert_body(w, a.alert);
  w.Key("scope");
  w.String(to_string(a.report.scope));
  w.Key("subject");
  str(w, a.report.subject);
  w.Key("window");
  w.String(to_string(a.report.window));
  w.EndObject();
  return done(buf);
}

std::string alerts(const std::vector<SubjectAlert>& all, const MonthCalendar& cal,
                   const std::string& currency) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("alerts");
  w.StartArray();
  for (const SubjectAlert& a : all) {
    w.StartObject();
    alert_body(w, a.alert);
    quota_body(w, a.report, cal, currency);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return done(buf);
}

std::string cache_hit_rate(const CacheHitRate& c) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("hits");
  w.Int64(c.hits);
  w.Key("total");
  w.Int64(c.total);
  w.Key("rate");
  w.Double(c.rate);
  w.EndObject();
  return done(buf);
}

}  // namespace aiusage::json
