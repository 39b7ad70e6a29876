#pragma once
// How Catch2 prints the project's aggregates in a failed CHECK(a == b): one line of fields.
// Every test file that compares one of these types includes this header (the same printer in
// every translation unit); std::pair prints through CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER.
#include <catch2/catch.hpp>
#include <string>

#include "aiusage/aggregate.hpp"
#include "aiusage/calendar.hpp"
#include "aiusage/ingest.hpp"
#include "aiusage/ledger.hpp"
#include "aiusage/otlp_mapping.hpp"
#include "aiusage/record.hpp"

namespace Catch {

template <>
struct StringMaker<aiusage::UsageSums> {
  static std::string convert(const aiusage::UsageSums& s) {
    auto f = [](const char* name, std::int64_t v) {
      return " " + std::string(name) + "=" + std::to_string(v);
    };
    return "{" + f("calls", s.calls).substr(1) + f("cache_hits", s.cache_hits) +
           f("unpriced", s.unpriced) + f("prompt", s.prompt_tokens) +
           f("completion", s.completion_tokens) + f("cache_read", s.cache_read_tokens) +
           f("cache_write", s.cache_write_tokens) + f("cached", s.cached_tokens) +
           f("cost", s.cost) + "}";
  }
};

template <>
struct StringMaker<aiusage::SeriesKey> {
  static std::string convert(const aiusage::SeriesKey& k) {
    return "{provider=" + ::Catch::Detail::stringify(k.provider) +
           " model=" + ::Catch::Detail::stringify(k.model) +
           " project=" + ::Catch::Detail::stringify(k.project) +
           " user=" + ::Catch::Detail::stringify(k.user) +
           (k.tags.empty() ? "" : " tags=" + ::Catch::Detail::stringify(k.tags)) + "}";
  }
};

template <>
struct StringMaker<aiusage::SeriesUsage> {
  static std::string convert(const aiusage::SeriesUsage& u) {
    return "{total=" + ::Catch::Detail::stringify(u.total) +
           " month=" + ::Catch::Detail::stringify(u.month) + "}";
  }
};

template <>
struct StringMaker<aiusage::Breakdown> {
  static std::string convert(const aiusage::Breakdown& b) {
    return "{total=" + ::Catch::Detail::stringify(b.total) +
           " by_provider=" + ::Catch::Detail::stringify(b.by_provider) +
           " by_model=" + ::Catch::Detail::stringify(b.by_model) +
           " by_project=" + ::Catch::Detail::stringify(b.by_project) +
           " by_user=" + ::Catch::Detail::stringify(b.by_user) + "}";
  }
};

template <>
struct StringMaker<aiusage::Period> {
  static std::string convert(const aiusage::Period& p) {
    return "[" + std::to_string(p.start_ms) + ", " + std::to_string(p.end_ms) + ")";
  }
};

template <>
struct StringMaker<aiusage::FieldError> {
  static std::string convert(const aiusage::FieldError& e) {
    return "{index=" + std::to_string(e.index) + " field=" + ::Catch::Detail::stringify(e.field) +
           " message=" + ::Catch::Detail::stringify(e.message) + "}";
  }
};

template <>
struct StringMaker<aiusage::UsageRecord> {
  static std::string convert(const aiusage::UsageRecord& r) {
    auto s = [](const std::string& v) { return ::Catch::Detail::stringify(v); };
    auto n = [](std::int64_t v) { return std::to_string(v); };
    return "{id=" + s(r.id) + " user=" + s(r.user) + " project=" + s(r.project) +
           " provider=" + s(r.provider) + " model=" + s(r.model) + " tokens=" + n(r.prompt_tokens) +
           "/" + n(r.completion_tokens) + "/" + n(r.cache_read_tokens) + "/" +
           n(r.cache_write_tokens) + " cached=" + n(r.cached) + " ts=" + n(r.timestamp_ms) +
           " received=" + n(r.received_ms) + " cost=" + n(r.cost) + " priced=" + n(r.priced) +
           " fingerprint=" + s(r.fingerprint) + " series=" + n(r.series_id) + "}";
  }
};

template <>
struct StringMaker<aiusage::OtlpOptions> {
  static std::string convert(const aiusage::OtlpOptions& o) {
    return "{user_attributes=" + ::Catch::Detail::stringify(o.user_attributes) +
           " project_attributes=" + ::Catch::Detail::stringify(o.project_attributes) +
           " default_user=" + ::Catch::Detail::stringify(o.default_user) + "}";
  }
};

}  // namespace Catch
