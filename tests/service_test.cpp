// The service under concurrency: group commit, a month change mid-ingest, consistent snapshots,
// and the largest amount one record may cost.
#include <catch2/catch.hpp>
#include <thread>

#include "aiusage/calendar.hpp"
#include "aiusage/service.hpp"
#include "aiusage/sqlite_store.hpp"
#include "support/printers.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"
#include "support/wait.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

// One gpt-4o record of 1000 prompt and 100 completion tokens, as a POST body.
std::string gpt4o_body(const std::string& id, const std::string& user) {
  return R"({"id":")" + id + R"(","userId":")" + user +
         R"(","provider":"openai","model":"gpt-4o","usage":{"promptTokens":1000,"completionTokens":100}})";
}

}  // namespace

TEST_CASE("service - a month change during concurrent ingest counts each record once") {
  TempDir dir;
  FakeClock clock;
  // The test zone is Asia/Shanghai: its December starts at 2026-11-30T16:00:00Z.
  clock.set(*parse_rfc3339("2026-11-30T15:59:59.500Z"));
  UsageService service(test_config(dir.file("usage.db")), clock.clock());
  const int threads = 4, per_thread = 60;
  std::atomic<int> posted{0}, failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i, ++posted) {
        const std::string body = gpt4o_body("m" + std::to_string(t) + "-" + std::to_string(i), "u");
        if (auto r = service.ingest(body, BodyFormat::json); !r || r->accepted != 1) ++failures;
      }
    });
  // Midnight passes while records arrive; the first read after it resets the ledger's month while
  // December's records are being committed.
  while (posted < threads * per_thread / 3) std::this_thread::yield();
  clock.set(*parse_rfc3339("2026-11-30T16:00:00.100Z"));
  while (posted < threads * per_thread * 2 / 3) std::this_thread::yield();
  (void)service.quota(Scope::global, "");
  for (auto& th : pool) th.join();
  CHECK(failures == 0);
  const QuotaReport q = service.quota(Scope::global, "");
  CHECK(q.period.start_ms == *parse_rfc3339("2026-11-30T16:00:00Z"));
  UsageFilter december;
  december.start_ms = q.period.start_ms;
  december.end_ms = q.period.end_ms;
  const Statistics s = service.statistics(december);
  CHECK(s.total.calls > 0);
  CHECK(s.total.calls < threads * per_thread);
  const MonthUsage m = service.ledger().month_usage(Scope::global, "");
  CHECK(m.tokens == s.total.tokens());
  CHECK(m.cost == s.total.cost);
}

TEST_CASE("service - concurrent ingest through group commit loses and doubles nothing") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  UsageService service(test_config(dir.file("usage.db")), clock.clock());
  const int threads = 8, per_thread = 40;
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string body =
            gpt4o_body(std::to_string(t) + "-" + std::to_string(i), "u" + std::to_string(t));
        auto r = service.ingest(body, BodyFormat::json);
        if (!r || r->accepted != 1) ++failures;
        auto again = service.ingest(body, BodyFormat::json);  // a retry
        if (!again || again->duplicates != 1) ++failures;
      }
    });
  }
  for (auto& th : pool) th.join();
  CHECK(failures == 0);
  CHECK(service.store().record_count() == threads * per_thread);
  // 1000 × 2.50 + 100 × 10.00 = 3500 per 1M → 3 500 000 nanos per record
  Statistics s = service.statistics({});
  CHECK(s.total.calls == threads * per_thread);
  CHECK(s.total.cost == threads * per_thread * 3'500'000LL);
  service.ledger().read([&](const LedgerState& st) {
    UsageSums mem;
    for (const auto& [k, v] : st.series) mem += v.total;
    CHECK(mem == s.total);
  });
  CHECK(dynamic_cast<const SqliteStore&>(service.store()).integrity_check() == "ok");
  // Once idle, the store rolls up every record; the answers do not change.
  CHECK(eventually([&] { return service.store().pending_records() == 0; }));
  CHECK(service.statistics({}).total == s.total);
}

TEST_CASE("service - reads during commits and roll-ups see one consistent snapshot") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  UsageService service(test_config(dir.file("usage.db")), clock.clock());
  const int writers = 4, batches = 40, per_batch = 50;
  std::atomic<int> done{0}, refused{0};  // written by the writers, checked after they join
  std::vector<std::thread> pool;
  for (int t = 0; t < writers; ++t)
    pool.emplace_back([&, t] {
      for (int b = 0; b < batches; ++b) {
        std::string body = "[";
        for (int i = 0; i < per_batch; ++i)
          body +=
              std::string(i ? "," : "") + R"({"id":")" + std::to_string(t) + "-" +
              std::to_string(b) + "-" + std::to_string(i) + R"(","userId":"u)" +
              std::to_string(i % 7) +
              R"(","provider":"openai","model":"gpt-4o","usage":{"promptTokens":10,"completionTokens":1}})";
        if (!service.ingest(body + "]", BodyFormat::json)) ++refused;
      }
      ++done;
    });
  // Every snapshot: the by-user sums add up to the total, whole batches only, never shrinking.
  std::int64_t last = 0;
  int reads = 0;
  while (done < writers || reads < 5) {
    const Statistics s = service.statistics({});
    UsageSums users;
    for (const auto& [user, sums] : s.by_user) users += sums;
    CHECK(users == s.total);
    CHECK(s.total.calls % per_batch == 0);
    CHECK(s.total.calls >= last);
    last = s.total.calls;
    ++reads;
  }
  for (auto& th : pool) th.join();
  CHECK(refused == 0);
  CHECK(service.statistics({}).total.calls == writers * batches * per_batch);
}

TEST_CASE("service - a record costing more than the largest amount refuses its batch") {
  TempDir dir;
  FakeClock clock;
  clock.set(*parse_rfc3339("2026-11-15T12:00:00Z"));
  Config config = test_config(dir.file("usage.db"));
  // One input token at 10000 XAU per 1M tokens and 10000 USD per XAU costs 1e11 nanos,
  // so 20,000 tokens cost exactly the largest amount (2e6 USD).
  Price gold;
  gold.provider = "luxury";
  gold.model = "gold";
  gold.currency = "XAU";
  gold.input = gold.output = kMaxPriceNanos;
  config.prices = PriceBook({gold}, "USD", {{"XAU", kMaxRateNanos}});
  UsageService service(config, clock.clock());
  auto body = [](const char* id, std::int64_t prompt) {
    return R"({"id":")" + std::string(id) +
           R"(","userId":"u","provider":"luxury","model":"gold","usage":{"promptTokens":)" +
           std::to_string(prompt) + R"(,"completionTokens":0}})";
  };
  auto refused =
      service.ingest("[" + body("a", 20'000) + "," + body("b", 20'001) + "]", BodyFormat::json);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == IngestErrorKind::invalid);
  CHECK(refused.error().message == "1 of 2 records are invalid; nothing was stored");
  CHECK(refused.error().details ==
        std::vector<FieldError>{
            {1, "usage", "costs more than 2000000 USD, the most one record may cost"}});
  CHECK(service.store().record_count() == 0);
  auto ok = service.ingest(body("a", 20'000), BodyFormat::json);
  REQUIRE(ok.ok());
  CHECK(ok->records[0].cost == kMaxRecordCostNanos);
}
