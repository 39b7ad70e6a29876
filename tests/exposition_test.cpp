// The fast /metrics writer prints exactly what prometheus-cpp's TextSerializer prints.
#include <prometheus/collectable.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "aiusage/calendar.hpp"
#include "aiusage/exposition.hpp"
#include "support/reference_collector.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

std::string body(int i, const std::string& user, const std::string& model, bool cached) {
  return R"({"id":"r)" + std::to_string(i) + R"(","userId":")" + user +
         R"(","projectId":"p","provider":"openai","model":")" + model +
         R"(","usage":{"promptTokens":)" + std::to_string(1000 + i * 37) +
         R"(,"completionTokens":)" + std::to_string(i * 11) + R"(,"cacheReadTokens":)" +
         std::to_string(i) + "}" + (cached ? R"(,"cached":true)" : "") + "}";
}

}  // namespace

TEST_CASE("exposition - numbers print as TextSerializer prints them") {
  std::mt19937_64 rng(3);
  std::vector<double> values = {0.0,
                                -0.0,
                                1.0,
                                0.5,
                                1e15,
                                1e16,
                                1e17,
                                1e-5,
                                1e300,
                                5e-324,
                                -7.25,
                                0.008160000000000001,
                                std::numeric_limits<double>::quiet_NaN(),
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity()};
  for (int i = 0; i < 20000; ++i) {
    std::uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    values.push_back(i % 3 == 0
                         ? static_cast<double>(static_cast<std::int64_t>(bits >> (bits % 64)))
                     : i % 3 == 1 ? static_cast<double>(bits % 100'000'000) / 1e9
                                  : d);
  }
  prometheus::MetricFamily family{"x", "h", prometheus::MetricType::Gauge, {}};
  std::string mine;
  exposition::header(mine, "x", "h", "gauge");
  for (double v : values) {
    prometheus::ClientMetric m;
    m.gauge.value = v;
    family.metric.push_back(m);
    exposition::sample(mine, "x", "", v);
  }
  CHECK(mine == prometheus::TextSerializer().Serialize({family}));
}

TEST_CASE("exposition - money prints the exact decimal of its nanos") {
  struct Case {
    std::int64_t nanos;
    const char* text;
  };
  const Case cases[] = {{0, "0"},
                        {1, "0.000000001"},
                        {84'430'000, "0.08443"},
                        {1'000'000'000, "1"},
                        {12'500'000'000, "12.5"},
                        {-500'000'000, "-0.5"},
                        {-1, "-0.000000001"},
                        {std::numeric_limits<std::int64_t>::max(), "9223372036.854775807"},
                        {std::numeric_limits<std::int64_t>::min(), "-9223372036.854775808"}};
  for (const Case& c : cases) {
    SECTION(c.text) {
      std::string out;
      exposition::money(out, c.nanos);
      CHECK(out == c.text);
    }
  }
}

TEST_CASE("exposition - the service's page matches the prometheus-cpp families") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  const char* labels = GENERATE("", "\n[metrics]\nlabels = [\"provider\", \"model\"]\n");
  CAPTURE(labels);
  TestServer ts(test_config(dir.file("usage.db"), labels), clock.clock());
  UsageService& service = *ts.service;
  CHECK(exposition_difference(render_metrics(service), reference_page(service)) == "");

  const std::string users[] = {"alice", R"(b\"o\\b)", R"(line\nbreak)", "ünï"};  // JSON text
  for (int i = 0; i < 40; ++i)
    REQUIRE(service
                .ingest(body(i, users[i % 4], i % 3 ? "gpt-4o" : "unknown-model", i % 5 == 0),
                        BodyFormat::json)
                .ok());
  REQUIRE_FALSE(service.ingest("{", BodyFormat::json).ok());
  CHECK(exposition_difference(render_metrics(service), reference_page(service)) == "");
  clock.set(*parse_rfc3339("2026-12-02T00:00:00Z"));  // a new month: no hit ratios yet
  CHECK(exposition_difference(render_metrics(service), reference_page(service)) == "");
}
