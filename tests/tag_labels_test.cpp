// [metrics] tag_labels: tag keys kept in the usage series (store, rollups, ledger) and shown as
// labels of the usage families, exactly, across restarts and configuration changes.
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "aiusage/config.hpp"
#include "aiusage/sqlite_store.hpp"
#include "aiusage/tags.hpp"
#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/metrics_page.hpp"
#include "support/otlp_export.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

// gpt-4o: 1000 × 2.50 + 100 × 10 = 3500 per 1M = 0.0035 USD.
std::string rec(const std::string& id, const std::string& user, const std::string& tags) {
  return R"({"id":")" + id + R"(","userId":")" + user +
         R"(","provider":"openai","model":"gpt-4o","usage":{"promptTokens":1000,)"
         R"("completionTokens":100},"timestamp":"2026-11-15T09:00:00Z")" +
         (tags.empty() ? "" : ",\"tags\":" + tags) + "}";
}

// The value of each ai_usage_cost_total line of `page`, by its labels ("a+b" for a label set on
// two lines, which a page must never have).
std::map<std::string, std::string> costs(const std::string& page) {
  std::map<std::string, std::string> out;
  static const std::regex line(R"(\nai_usage_cost_total\{([^}]*),currency="USD"\} (\S+))");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), line); it != std::sregex_iterator();
       ++it)
    out[(*it)[1]] += (out.count((*it)[1]) ? "+" : "") + std::string((*it)[2]);
  return out;
}

const std::string kSeries = R"(provider="openai",model="gpt-4o",project="",)";

}  // namespace

TEST_CASE("tag labels - a series' tags: encoded, kept by key, read back") {
  const std::vector<std::string> keys = {"env", "feature"};
  struct Case {
    const char* name;
    Tags tags;
    std::string encoded, env, feature;
  };
  const Case cases[] = {
      {"no tags: a line for each key all the same", {}, "env=\nfeature=", "", ""},
      {"only the keys configured",
       {{"env", "prod"}, {"feature", "chat"}, {"team", "x"}},
       "env=prod\nfeature=chat",
       "prod",
       "chat"},
      {"a key missing", {{"feature", "chat"}}, "env=\nfeature=chat", "", "chat"},
      {"a tag before the keys",
       {{"app", "x"}, {"feature", "chat"}},
       "env=\nfeature=chat",
       "",
       "chat"},
      {"escapes: newline, backslash; '=' as is",
       {{"env", "a\nb\\c=d"}},
       "env=a\\nb\\\\c=d\nfeature=",
       "a\nb\\c=d",
       ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK(series_tags(c.tags, keys) == c.encoded);
    CHECK(series_tag(c.encoded, "env") == c.env);
    CHECK(series_tag(c.encoded, "feature") == c.feature);
    CHECK(has_just(c.encoded, keys));
    CHECK(find_series_tag(c.encoded, "feature") == c.feature);  // kept by it: never nullopt
  }
  CHECK_FALSE(find_series_tag("env=prod", "feature"));
  CHECK(series_tags({{"env", "prod"}}, {}).empty());
  const std::vector<std::string> feature = {"feature"};
  CHECK_FALSE(has_just("env=prod\nfeature=chat", feature));
  CHECK_FALSE(has_just("", feature));
  CHECK(has_just("", {}));
  CHECK(for_keys("env=a\\nb\nfeature=chat", feature) == "feature=chat");
  CHECK(for_keys("env=a\\nb\nfeature=chat", std::vector<std::string>{"env"}) == "env=a\\nb");
  CHECK(for_keys("env=prod", feature) ==
        "feature=");  // shown as feature="", as series_tags makes it
  CHECK(for_keys("", feature) == series_tags({}, feature));
  CHECK(for_keys("env=prod", {}).empty());
}

TEST_CASE("tag labels - configuration") {
  auto ok = parse_test_toml("[metrics]\ntag_labels = [\"feature\", \"env\"]\n");
  REQUIRE(ok.ok());
  CHECK(ok->labels.tags == std::vector<std::string>{"env", "feature"});
  CHECK(parse_test_toml("")->labels.tags.empty());
  struct Case {
    std::string list, message;
  };
  const Case cases[] = {
      {"\"feature\"",
       "test.toml:2:14: metrics.tag_labels: expected an array of tag keys such as [\"feature\"]"},
      {"[\"9x\"]",
       "test.toml:2:15: metrics.tag_labels: \"9x\" is not a tag key (1 to 64 of A-Z a-z 0-9 _, "
       "not starting with a digit or \"__\")"},
      {"[\"user\"]",
       "test.toml:2:15: metrics.tag_labels: \"user\" is a label the usage metrics have already; "
       "tag it under another key"},
      {"[\"job\"]",
       "test.toml:2:15: metrics.tag_labels: \"job\" is a label the usage metrics have already; "
       "tag it under another key"},
      {"[\"a\", \"a\"]", "test.toml:2:20: metrics.tag_labels: \"a\" is listed twice"},
      {"[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]",
       "test.toml:2:14: metrics.tag_labels: at most 8 tag keys"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.list);
    auto r = parse_test_toml("[metrics]\ntag_labels = " + c.list + "\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
  }
  CHECK(restart_required(*parse_test_toml(""), *ok) ==
        std::vector<std::string>{"metrics.tag_labels"});
  // top_k takes the tag labels' keys too.
  auto top = parse_test_toml(
      "[metrics]\ntag_labels = [\"feature\"]\ntop_k = { user = 5, feature = 20 }\n");
  REQUIRE(top.ok());
  CHECK(top->series_limits.tag_top_k ==
        std::map<std::string, std::size_t, std::less<>>{{"feature", 20}});
  CHECK(top->series_limits.top_k[3] == 5u);
  auto unknown = parse_test_toml("[metrics]\ntop_k = { feature = 20 }\n");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == "test.toml:2:21: unknown key \"metrics.top_k.feature\"");
}

TEST_CASE("tag labels - usage series by tag over HTTP, exact across restarts") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  const std::string path = dir.file("usage.db");
  const std::string body = "[" + rec("a", "alice", R"({"feature":"chat","env":"prod"})") + "," +
                           rec("b", "alice", R"({"feature":"search"})") + "," +
                           rec("c", "alice", R"({"feature":"chat"})") + "," + rec("d", "bob", "") +
                           "," + rec("e", "bob", R"({"feature":"a\"b\nc"})") + "]";
  const std::string page = [&] {
    TestServer ts(test_config(path, "\n[metrics]\ntag_labels = [\"feature\"]\n"), clock.clock());
    REQUIRE(http_post_json(ts.port(), "/api/v1/usage", body).status == 200);
    return http_get(ts.port(), "/metrics").body;
  }();
  const std::map<std::string, std::string> expected = {
      {kSeries + R"(user="alice",feature="chat")", "0.007"},
      {kSeries + R"(user="alice",feature="search")", "0.0035"},
      {kSeries + R"(user="bob",feature="")", "0.0035"},
      {kSeries + R"(user="bob",feature="a\"b\nc")", "0.0035"},
  };
  CHECK(costs(page) == expected);
  CHECK(page.find("\nai_usage_requests_total{" + kSeries +
                  R"(user="alice",feature="chat",cached="false"} 2)") != std::string::npos);
  CHECK(page.find("\nai_usage_tokens_total{" + kSeries +
                  R"(user="alice",feature="search",token_type="input"} 1000)") !=
        std::string::npos);

  // Each record's series was kept by feature: statistics by it are answered from the series.
  auto by_tag = [](int port, const std::string& query) {
    std::map<std::string, std::int64_t> calls;
    auto s = parse(http_get(port, "/api/v1/statistics?" + query).body);
    for (const auto& m : s["byTag"].GetObject())
      calls[m.name.GetString()] = m.value["calls"].GetInt64();
    return calls;
  };
  using Calls = std::map<std::string, std::int64_t>;
  const Calls features = {{"chat", 2}, {"search", 1}, {"", 1}, {"a\"b\nc", 1}};
  SECTION("the same configuration after a restart: the same page") {
    TestServer ts(test_config(path, "\n[metrics]\ntag_labels = [\"feature\"]\n"), clock.clock());
    CHECK(usage_part(http_get(ts.port(), "/metrics").body) == usage_part(page));
    auto s = parse(http_get(ts.port(), "/api/v1/statistics").body);
    CHECK(s["totalCalls"].GetInt64() == 5);
    CHECK(s["byUser"]["alice"]["calls"].GetInt64() == 3);
    CHECK(by_tag(ts.port(), "byTag=feature") == features);
    CHECK(by_tag(ts.port(), "byTag=feature&userId=alice") == Calls{{"chat", 2}, {"search", 1}});
    CHECK(by_tag(ts.port(), "byTag=feature&tag.feature=chat") == Calls{{"chat", 2}});
    // env was no tag label: those questions read the records.
    CHECK(by_tag(ts.port(), "byTag=env") == Calls{{"prod", 1}, {"", 4}});
    CHECK(by_tag(ts.port(), "byTag=feature&tag.env=prod") == Calls{{"chat", 1}});
  }
  SECTION("without tag labels: the tags are summed away") {
    TestServer ts(test_config(path), clock.clock());
    const std::map<std::string, std::string> summed = {{kSeries + R"(user="alice")", "0.0105"},
                                                       {kSeries + R"(user="bob")", "0.007"}};
    CHECK(costs(http_get(ts.port(), "/metrics").body) == summed);
  }
  SECTION("another key: series keep the keys of when their records were stored") {
    TestServer ts(test_config(path, "\n[metrics]\ntag_labels = [\"env\"]\n"), clock.clock());
    // a was tagged env=prod, but stored when only feature was a tag label.
    std::map<std::string, std::string> env = {{kSeries + R"(user="alice",env="")", "0.0105"},
                                              {kSeries + R"(user="bob",env="")", "0.007"}};
    CHECK(costs(http_get(ts.port(), "/metrics").body) == env);
    REQUIRE(http_post_json(ts.port(), "/api/v1/usage",
                           rec("f", "alice", R"({"feature":"chat","env":"prod"})"))
                .status == 200);
    env[kSeries + R"(user="alice",env="prod")"] = "0.0035";
    CHECK(costs(http_get(ts.port(), "/metrics").body) == env);
    // A record without tags now: its series (env="") and bob's older ones show as one.
    REQUIRE(http_post_json(ts.port(), "/api/v1/usage", rec("g", "bob", "")).status == 200);
    env[kSeries + R"(user="bob",env="")"] = "0.0105";
    CHECK(costs(http_get(ts.port(), "/metrics").body) == env);
    // f's series has no feature line: by feature is read from the records again, exactly.
    Calls with_f = features;
    with_f["chat"] = 3;
    with_f[""] = 2;
    CHECK(by_tag(ts.port(), "byTag=feature") == with_f);
    CHECK(by_tag(ts.port(), "byTag=env") == Calls{{"prod", 2}, {"", 5}});
  }
  SECTION("top_k of a tag label: later values are summed into __other__") {
    TestServer ts(
        test_config(path, "\n[metrics]\ntag_labels = [\"feature\"]\ntop_k = { feature = 1 }\n"),
        clock.clock());
    const std::map<std::string, std::string> folded = {
        {kSeries + R"(user="alice",feature="chat")", "0.007"},
        {kSeries + R"(user="alice",feature="__other__")", "0.0035"},
        {kSeries + R"(user="bob",feature="")", "0.0035"},
        {kSeries + R"(user="bob",feature="__other__")", "0.0035"}};
    CHECK(costs(http_get(ts.port(), "/metrics").body) == folded);
  }
  SECTION("under the governor: a refused row shows its tag labels as __other__") {
    TestServer ts(test_config(path, "\n[metrics]\ntag_labels = [\"feature\"]\nmax_series = 2\n"),
                  clock.clock());
    const std::string O = "\"__other__\"";
    const std::map<std::string, std::string> folded = {
        {kSeries + R"(user="alice",feature="chat")", "0.007"},
        {"provider=" + O + ",model=" + O + ",project=" + O + ",user=" + O + ",feature=" + O,
         "0.0105"}};
    const std::string m = http_get(ts.port(), "/metrics").body;
    CHECK(costs(m) == folded);
    CHECK(m.find("\nai_usage_metrics_folded_series{family=\"ai_usage_cost_total\"} 3\n") !=
          std::string::npos);
  }
}

TEST_CASE("tag labels - OTLP spans tagged from [otlp] tag_attributes") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(test_config(dir.file("usage.db"),
                            "\n[metrics]\ntag_labels = [\"feature\"]\n[otlp]\ntag_attributes = { "
                            "feature = [\"app.feature\"] }\n"),
                clock.clock());
  const std::uint64_t end = std::uint64_t{1'794'736'800'000} * 1'000'000;  // 10:00Z
  auto span = [&](std::uint64_t n, std::vector<OtlpAttr> extra) {
    std::vector<OtlpAttr> a = {{"gen_ai.system", "openai"},
                               {"gen_ai.request.model", "gpt-4o"},
                               {"gen_ai.usage.input_tokens", std::int64_t{1000}},
                               {"gen_ai.usage.output_tokens", std::int64_t{100}},
                               {"user.id", "alice"}};
    a.insert(a.end(), extra.begin(), extra.end());
    return OtlpSpan{trace_hex(1), span_hex(n), end, a};
  };
  // The resource's value applies where the span has none.
  const OtlpExport x{{{"service.name", "web"}, {"app.feature", "search"}},
                     {span(1, {{"app.feature", "chat"}}), span(2, {})}};
  const HttpResponse r = http_request(ts.port(), "POST", "/v1/traces", to_json(x),
                                      {{"Content-Type", "application/json"}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  const std::string web = R"(provider="openai",model="gpt-4o",project="web",user="alice",)";
  const std::map<std::string, std::string> expected = {{web + R"(feature="chat")", "0.0035"},
                                                       {web + R"(feature="search")", "0.0035"}};
  CHECK(costs(http_get(ts.port(), "/metrics").body) == expected);
  auto s = parse(http_get(ts.port(), "/api/v1/statistics?byTag=feature").body);
  CHECK(s["byTag"]["chat"]["calls"].GetInt64() == 1);
  CHECK(s["byTag"]["search"]["calls"].GetInt64() == 1);
}

TEST_CASE("tag labels - statistics by a tag its series were kept by come from the series") {
  TempDir dir;
  const std::string path = dir.file("usage.db");
  SqliteStore store({path, true});
  const std::vector<std::string> keys = {"feature"};
  std::vector<UsageRecord> batch;
  for (int i = 0; i < 6; ++i) {
    UsageRecord r;
    r.id = "r" + std::to_string(i);
    r.user = "u";
    r.provider = "openai";
    r.model = "gpt-4o";
    r.prompt_tokens = 10;
    r.timestamp_ms = r.received_ms = 1'794'736'800'000 + i;
    r.cost = 100 * (i + 1);
    r.fingerprint = "fp" + r.id;
    if (i % 3 != 0) r.tags = {{"feature", i % 3 == 1 ? "chat" : "search"}};
    r.series_tags = series_tags(r.tags, keys);
    batch.push_back(r);
  }
  std::vector<UsageRecord>* batches[] = {&batch};
  REQUIRE(store.commit(batches).ok());
  // Without the record_tags rows the records could not say it: only the series do.
  SQLite::Database(path, SQLite::OPEN_READWRITE).exec("DELETE FROM record_tags");
  UsageFilter f;
  f.by_tag = "feature";
  Breakdown b = store.breakdown(f);
  REQUIRE(b.by_tag);
  CHECK(b.by_tag->at("").cost == 100 + 400);
  CHECK(b.by_tag->at("chat").cost == 200 + 500);
  CHECK(b.by_tag->at("search").cost == 300 + 600);
  CHECK(b.total.cost == 2100);
  f.tags = {{"feature", "chat"}};
  b = store.breakdown(f);
  CHECK(b.total.cost == 700);
  CHECK(b.by_user.at("u").calls == 2);
  // A key the series were not kept by is read from the records (none left here).
  f = {};
  f.by_tag = "env";
  b = store.breakdown(f);
  CHECK(b.by_tag->size() == 1);
  CHECK(b.by_tag->at("").calls == 6);
  f.tags = {{"env", "prod"}};
  CHECK(store.breakdown(f).total.calls == 0);
}
