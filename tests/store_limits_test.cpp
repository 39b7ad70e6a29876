// The store's all-time bounds on tokens and cost (StoreLimits): a batch that would pass one is
// refused whole, in commit order, also after a reopen, so no sum anywhere can wrap.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "aiusage/service.hpp"
#include "aiusage/sqlite_store.hpp"
#include "support/http_client.hpp"
#include "support/metrics_page.hpp"
#include "support/printers.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

using Total = BatchOutcome::Total;

UsageRecord rec(const std::string& id, std::int64_t tokens, Nanos cost, bool cached = false) {
  UsageRecord r;
  r.id = id;
  r.user = "u-" + id.substr(0, 1);
  r.provider = "p";
  r.model = "m";
  r.prompt_tokens = tokens - tokens / 2;
  r.completion_tokens = tokens / 2;
  r.cached = cached;
  r.timestamp_ms = r.received_ms = 1'790'000'000'000 + static_cast<std::int64_t>(id.size());
  r.cost = cost;
  r.priced = true;
  r.fingerprint = "fp-" + id;
  return r;
}

// Σ prompt + completion (cached records included) and cost, as the store's reads give them.
std::pair<std::int64_t, Nanos> totals(const SqliteStore& store) {
  const UsageSums s = store.breakdown({}).total;
  return {s.prompt_tokens + s.completion_tokens + s.cached_tokens, s.cost};
}

std::vector<BatchOutcome> commit(SqliteStore& store,
                                 std::vector<std::vector<UsageRecord>> batches) {
  std::vector<std::vector<UsageRecord>*> ptrs;
  for (auto& b : batches) ptrs.push_back(&b);
  auto r = store.commit(ptrs);
  REQUIRE(r.ok());
  return *r;
}

// A clock in the middle of November 2026.
FakeClock november() {
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  return clock;
}

// A [[pricing]] entry (prices per 1M tokens).
std::string pricing(const char* provider, const char* model, const char* input,
                    const char* output) {
  return std::string("\n[[pricing]]\nprovider = \"") + provider + "\"\nmodel = \"" + model +
         "\"\ninput = " + input + "\noutput = " + output + "\n";
}

}  // namespace

TEST_CASE("store limits - a batch past an all-time bound is refused whole, in commit order") {
  TempDir dir;
  const StoreOptions options{
      dir.file("usage.db"), false, StoreOptions::kDefaultKept, {1000, 10'000}};
  {
    SqliteStore store(options);
    // One transaction: a fits, b would pass the token bound at its second record, c then lands
    // exactly on both bounds, d (cost only) would pass the cost bound.
    const auto out = commit(store, {{rec("a1", 300, 3000), rec("a2", 100, 1000)},
                                    {rec("b1", 100, 0), rec("b2", 501, 0)},
                                    {rec("c1", 600, 6000)},
                                    {rec("d1", 0, 1)}});
    CHECK(out[0].over_limit == Total::none);
    CHECK(out[1].over_limit == Total::tokens);
    CHECK(out[1].over_limit_index == 1);
    CHECK(out[2].over_limit == Total::none);
    CHECK(out[3].over_limit == Total::cost);
    CHECK(out[3].over_limit_index == 0);
    CHECK(store.record_count() == 3);  // nothing of b or d
    CHECK(totals(store) == std::pair<std::int64_t, Nanos>{1000, 10'000});
    if (GENERATE(false, true)) {
      REQUIRE(store.sync().ok());
      REQUIRE(*store.roll_up(100) == 3);
    }
  }
  // After a reopen the totals are rebuilt from the store: at the bound, only what adds nothing
  // fits.
  SqliteStore store(options);
  const auto out = commit(store, {{rec("e1", 1, 0)},
                                  {rec("f1", 0, 1)},
                                  {rec("g1", 0, 0)},
                                  {rec("a1", 300, 3000), rec("a2", 100, 1000)},  // duplicates
                                  {rec("b1", 0, 0), rec("b2", 1, 1, true)}});
  CHECK(out[0].over_limit == Total::tokens);
  CHECK(out[1].over_limit == Total::cost);
  CHECK(out[2].over_limit == Total::none);
  CHECK(out[3].over_limit == Total::none);
  CHECK(out[3].duplicate == std::vector<bool>{true, true});
  CHECK(out[4].over_limit == Total::tokens);  // a cached record's tokens count too
  CHECK(out[4].over_limit_index == 1);
  CHECK(store.record_count() == 4);
  CHECK(totals(store) == std::pair<std::int64_t, Nanos>{1000, 10'000});
}

TEST_CASE("store limits - the service answers 422 naming the total, and changes nothing") {
  TempDir dir;
  const FakeClock clock = november();
  const Config config = test_config(dir.file("usage.db"));
  auto body = [](const char* id, int prompt) {
    return R"({"id":")" + std::string(id) +
           R"(","userId":"u","provider":"openai","model":"gpt-4o","usage":{"promptTokens":)" +
           std::to_string(prompt) + R"(,"completionTokens":0}})";
  };
  for (int run = 0; run < 2; ++run) {  // the second after a restart
    UsageService service(config, clock.clock(), {1000, kMaxStoreCostNanos});
    if (run == 0) REQUIRE(service.ingest("[" + body("a", 600) + "]", BodyFormat::json).ok());
    auto refused =
        service.ingest("[" + body("b", 399) + "," + body("c", 2) + "]", BodyFormat::json);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == IngestErrorKind::over_capacity);
    CHECK(refused.error().message ==
          "record 1 would take the store's all-time tokens past 1000, the most it can hold; "
          "nothing was stored");
    CHECK(refused.error().details ==
          std::vector<FieldError>{
              {1, "usage",
               "would take the store's all-time tokens past 1000, the most it can hold"}});
    CHECK(service.statistics({}).total.tokens() == 600);
    CHECK(service.quota(Scope::global, "").status.usage.tokens == 600);
    CHECK(service.ingest_counters().rejected == 2);
  }
}

TEST_CASE("store limits - the default cost bound over HTTP: exactly reached, then 422 for good") {
  TempDir dir;
  const FakeClock clock = november();
  // At the largest price a record of kMaxTokens prompt and completion tokens costs
  // kMaxRecordCostNanos (2e15 nanos): 1000 of them are the store's bound, 2e18 nanos.
  const Config config = test_config(
      dir.file("usage.db"), pricing("dear", "*", "10000", "10000") +
                                "[[quota]]\nscope = \"project\"\nsubject = \"big\"\ncost = 1000\n");
  static_assert(1000 * kMaxRecordCostNanos == kMaxStoreCostNanos);
  auto record = [](int i, std::int64_t tokens) {
    return R"({"id":"r)" + std::to_string(i) +
           R"(","userId":"u","projectId":"big","provider":"dear","model":"x","usage":{"promptTokens":)" +
           std::to_string(tokens) + R"(,"completionTokens":)" + std::to_string(tokens) + "}}";
  };
  std::string full = "[";
  for (int i = 0; i < 1000; ++i) full += (i ? "," : "") + record(i, kMaxTokens);
  full += "]";
  const std::string one_more = "[" + record(1000, 1) + "]";
  const std::string bound = format_nanos(kMaxStoreCostNanos);
  std::string page_before;
  for (int run = 0; run < 2; ++run) {  // the second after a restart
    TestServer server(config, clock.clock());
    const int port = server.port();
    if (run == 0) {
      const HttpResponse ok = http_post_json(port, "/api/v1/usage", full);
      REQUIRE(ok.status == 200);
      CHECK(ok.body.find(R"("accepted":1000)") != std::string::npos);
    }
    const HttpResponse refused = http_post_json(port, "/api/v1/usage", one_more);
    CHECK(refused.status == 422);
    CHECK(
        refused.body ==
        R"({"error":"record 0 would take the store's all-time cost past 2000000000 USD, the most )"
        R"(it can hold; nothing was stored","details":[{"index":0,"field":"cost","message":)"
        R"("would take the store's all-time cost past 2000000000 USD, the most it can hold"}]})");
    const HttpResponse stats = http_get(port, "/api/v1/statistics");
    CHECK(stats.body.find(R"("totalCostNanos":2000000000000000000)") != std::string::npos);
    CHECK(stats.body.find(R"("totalCalls":1000)") != std::string::npos);
    const HttpResponse quota = http_get(port, "/api/v1/quota?projectId=big");
    CHECK(quota.body.find(R"("exceeded":true)") != std::string::npos);
    CHECK(quota.body.find(R"("cost":2000000000.0)") != std::string::npos);
    const HttpResponse alert = http_get(port, "/api/v1/alerts?projectId=big");
    CHECK(alert.body.find(R"("level":"critical")") != std::string::npos);
    const std::string page = usage_part(http_get(port, "/metrics").body);
    CHECK(page.find("ai_usage_cost_total{") != std::string::npos);
    CHECK(page.find(R"(currency="USD"} 2000000000)"
                    "\n") != std::string::npos);
    CHECK(page.find("} -") == std::string::npos);  // no negative sample
    if (run == 1) CHECK(page == page_before);
    page_before = page;
    CHECK(server.service->store().record_count() == 1000);
  }
}

TEST_CASE("store limits - the issue's 10,300 records of 1e10 tokens are refused, totals intact") {
  TempDir dir;
  const FakeClock clock = november();
  const Config config =
      test_config(dir.file("usage.db"), pricing("anthropic", "claude-3-opus", "15.00", "75.00"));
  TestServer server(config, clock.clock());
  auto body = [](std::int64_t tokens) {
    std::string b = "[";
    const std::string t = std::to_string(tokens);
    for (int i = 0; i < 10'300; ++i)
      b += std::string(i ? "," : "") + R"({"userId":"u","provider":"anthropic","model":)" +
           R"("claude-3-opus","usage":{"promptTokens":)" + t + R"(,"completionTokens":)" + t + "}}";
    return b + "]";
  };
  const HttpResponse huge = http_post_json(server.port(), "/api/v1/usage", body(10'000'000'000));
  CHECK(huge.status == 400);
  CHECK(huge.body.starts_with(
      R"({"error":"10300 of 10300 records are invalid; nothing was stored","details":[{"index":0,)"
      R"("field":"usage.promptTokens","message":"must be at most 100000000"},{"index":0,)"
      R"("field":"usage.completionTokens","message":"must be at most 100000000"})"));
  CHECK(server.service->store().record_count() == 0);
  // The same request at the largest token counts is stored, its sums exact and positive:
  // 10300 × (1e8 × 15 + 1e8 × 75) / 1e6 = 92,700,000 USD.
  const HttpResponse largest = http_post_json(server.port(), "/api/v1/usage", body(kMaxTokens));
  CHECK(largest.status == 200);
  const HttpResponse stats = http_get(server.port(), "/api/v1/statistics");
  CHECK(stats.body.find(R"("totalCostNanos":92700000000000000)") != std::string::npos);
  CHECK(stats.body.find(R"("totalTokens":2060000000000)") != std::string::npos);
  CHECK(server.service->quota(Scope::global, "").status.usage.cost == 92'700'000'000'000'000);
}
