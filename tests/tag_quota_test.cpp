// Quotas by tag ([[quota]] scope = "tag"): configuration, usage read from the stored records'
// tags and kept up to date by the records added since, over HTTP and on /metrics.
#include <catch2/catch.hpp>

#include <string>

#include "aiusage/config.hpp"
#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

constexpr std::int64_t kNowMs = 1'794'736'800'000;  // 2026-11-15T10:00:00Z

const char* const kTagQuotas = R"TOML(
[[quota]]
scope = "tag"
tag = "feature"
subject = "chat"
tokens = 10000

[[quota]]
scope = "tag"
tag = "env"
subject = "*"
window = "day"
cost = 0.01
)TOML";

// gpt-4o: 1000 × 2.50 + 100 × 10 = 3500 per 1M = 0.0035 USD, 1100 tokens.
std::string rec(const std::string& id, const std::string& tags, bool cached = false) {
  return R"({"id":")" + id +
         R"(","userId":"u","provider":"openai","model":"gpt-4o","usage":{"promptTokens":1000,)"
         R"("completionTokens":100},"timestamp":"2026-11-15T09:00:00Z","tags":)" +
         tags + (cached ? R"(,"cached":true)" : "") + "}";
}

}  // namespace

TEST_CASE("tag quotas - configuration") {
  auto ok = parse_test_toml(kTagQuotas);
  REQUIRE(ok.ok());
  REQUIRE(ok->quotas.size() == 2);
  CHECK(ok->quotas[0].scope == Scope::tag);
  CHECK(ok->quotas[0].tag == "feature");
  CHECK(ok->quotas[0].subject == "chat");
  CHECK(ok->quotas[1].subject == "*");
  const std::string Q = "[[quota]]\nscope = \"tag\"\n";  // lines 1-2
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {Q + "tokens = 1",
       "test.toml:1:1: quota[0].tag: missing (the tag key, e.g. tag = \"feature\")"},
      {Q + "tag = \"9x\"\ntokens = 1",
       "test.toml:3:7: quota[0].tag: \"9x\" is not a tag key (1 to 64 of A-Z a-z 0-9 _)"},
      {"[[quota]]\nscope = \"user\"\ntag = \"feature\"\ntokens = 1",
       "test.toml:3:7: quota[0].tag: only for scope = \"tag\""},
      {"[[quota]]\nscope = \"team\"\ntokens = 1",
       "test.toml:2:9: quota[0].scope: expected \"user\", \"project\", \"global\" or \"tag\""},
      {Q + "tag = \"f\"\ntokens = 1\n" + Q + "tag = \"f\"\ntokens = 2",
       "test.toml:5:1: quota[1]: duplicate quota for tag * (window month)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto r = parse_test_toml(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
  }
  // The same subject under two keys is two quotas.
  CHECK(parse_test_toml(Q + "tag = \"f\"\ntokens = 1\n" + Q + "tag = \"g\"\ntokens = 2").ok());
}

TEST_CASE("tag quotas - usage, alerts and gauges over HTTP") {
  TempDir dir;
  FakeClock clock;
  clock.set(kNowMs);
  const Config config = test_config(dir.file("usage.db"), kTagQuotas);
  auto quota = [](int port, const std::string& query) {
    auto r = http_get(port, "/api/v1/quota?" + query);
    INFO(r.body);
    REQUIRE(r.status == 200);
    return parse(r.body);
  };
  {
    TestServer ts(config, clock.clock());
    const int port = ts.port();
    // Nothing stored: the configured subject already answers, at zero.
    auto q = quota(port, "tag.feature=chat");
    CHECK(std::string(q["scope"].GetString()) == "tag");
    CHECK(std::string(q["subject"].GetString()) == "feature=chat");
    CHECK(q["usage"]["tokens"].GetInt64() == 0);
    CHECK(q["limits"]["tokens"].GetInt64() == 10000);

    REQUIRE(http_post_json(port, "/api/v1/usage",
                           "[" + rec("a", R"({"feature":"chat","env":"prod"})") + "," +
                               rec("b", R"({"feature":"search","env":"prod"})") + "," +
                               rec("c", R"({"feature":"chat"})", true) + "]")
                .status == 200);
    q = quota(port, "tag.feature=chat");
    CHECK(q["usage"]["tokens"].GetInt64() == 1100);  // the cached record is not billed
    CHECK(q["usage"]["costNanos"].GetInt64() == 3'500'000);
    // Records added since the last read are added to it, exactly.
    for (int i = 0; i < 8; ++i)
      REQUIRE(http_post_json(port, "/api/v1/usage",
                             rec("n" + std::to_string(i), R"({"feature":"chat"})"))
                  .status == 200);
    q = quota(port, "tag.feature=chat");
    CHECK(q["usage"]["tokens"].GetInt64() == 9 * 1100);
    CHECK(q["percentage"]["tokens"].GetDouble() == Approx(99.0));
    // The "*" rule of env, by day: prod spent 2 × 0.0035 of 0.01.
    auto day = quota(port, "tag.env=prod&window=day");
    CHECK(day["usage"]["costNanos"].GetInt64() == 7'000'000);
    CHECK(day["limits"]["cost"].GetDouble() == Approx(0.01));

    const auto alerts = parse(http_get(port, "/api/v1/alerts").body);
    bool chat = false;
    for (const auto& a : alerts["alerts"].GetArray())
      if (std::string(a["subject"].GetString()) == "feature=chat") {
        chat = true;
        CHECK(std::string(a["level"].GetString()) == "warning");
        CHECK(std::string(a["scope"].GetString()) == "tag");
      }
    CHECK(chat);
    const std::string page = http_get(port, "/metrics").body;
    CHECK(page.find("ai_usage_quota_usage_ratio{scope=\"tag\",subject=\"feature=chat\","
                    "window=\"month\",resource=\"tokens\"} 0.99\n") != std::string::npos);
    CHECK(page.find("ai_usage_quota_usage_ratio{scope=\"tag\",subject=\"env=prod\",window=\"day\","
                    "resource=\"cost\"} 0.7\n") != std::string::npos);
  }
  // After a restart the usage is read again from the store.
  TestServer again(config, clock.clock());
  CHECK(quota(again.port(), "tag.feature=chat")["usage"]["tokens"].GetInt64() == 9 * 1100);
  // A new day starts the day window at zero; the month keeps counting.
  clock.set(kNowMs + 86'400'000);
  CHECK(quota(again.port(), "tag.env=prod&window=day")["usage"]["costNanos"].GetInt64() == 0);
  CHECK(quota(again.port(), "tag.feature=chat")["usage"]["tokens"].GetInt64() == 9 * 1100);

  SECTION("bad questions are 400 naming the parameters") {
    for (const char* query : {"tag.feature=chat&userId=u", "tag.feature=chat&tag.env=prod"}) {
      CAPTURE(query);
      auto r = http_get(again.port(), std::string("/api/v1/quota?") + query);
      CHECK(r.status == 400);
      CHECK(std::string(parse(r.body)["error"].GetString()) ==
            "give one of query parameters \"userId\", \"projectId\" or one tag.KEY");
    }
    CHECK(http_get(again.port(), "/api/v1/quota?tag.9=x").status == 400);
  }
}
