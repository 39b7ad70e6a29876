// Strict UTF-8: what the service accepts, and what it writes whatever its store holds.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "aiusage/calendar.hpp"
#include "aiusage/exposition.hpp"
#include "aiusage/sqlite_store.hpp"
#include "aiusage/utf8.hpp"
#include "json_out.hpp"
#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/promtool.hpp"
#include "support/reference_collector.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

TEST_CASE("utf8 - validity, the reason, and U+FFFD for each maximal ill-formed subsequence") {
  const std::string R = "\xEF\xBF\xBD";  // U+FFFD
  struct Case {
    std::string in;
    std::string fixed;    // to_valid_utf8(in); `in` when valid
    std::string problem;  // utf8_problem(in); empty when valid
  };
  const Case cases[] = {
      {"", "", ""},
      {"plain ascii \x7F", "plain ascii \x7F", ""},
      {std::string("a\0b", 3), std::string("a\0b", 3), ""},  // NUL is a character
      {"\xC2\x80 \xDF\xBF", "\xC2\x80 \xDF\xBF", ""},
      {"\xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF",
       "\xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF", ""},
      {"\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF", "\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF", ""},
      {"x" + R, "x" + R, ""},  // U+FFFD itself is valid
      // surrogates, as RapidJSON decodes \udc00 and \ud800
      {"x\xED\xB0\x80", "x" + R + R + R, "\\udc00 is a lone surrogate"},
      {"\xED\xA0\x80y", R + R + R + "y", "\\ud800 is a lone surrogate"},
      {"\xED\xBF\xBF", R + R + R, "\\udfff is a lone surrogate"},
      // overlong forms
      {"\xC0\x80", R + R, "byte 0 (0xc0) begins an invalid UTF-8 sequence"},
      {"ab\xC1\xBF", "ab" + R + R, "byte 2 (0xc1) begins an invalid UTF-8 sequence"},
      {"\xE0\x80\x80", R + R + R, "byte 0 (0xe0) begins an invalid UTF-8 sequence"},
      {"\xF0\x80\x80\x80", R + R + R + R, "byte 0 (0xf0) begins an invalid UTF-8 sequence"},
      // beyond U+10FFFF
      {"\xF4\x90\x80\x80", R + R + R + R, "byte 0 (0xf4) begins an invalid UTF-8 sequence"},
      {"\xF5\x80", R + R, "byte 0 (0xf5) begins an invalid UTF-8 sequence"},
      {"\xFF", R, "byte 0 (0xff) begins an invalid UTF-8 sequence"},
      // truncated sequences are one subsequence each; a lone continuation byte is one
      {"\xE2\x82", R, "byte 0 (0xe2) begins an invalid UTF-8 sequence"},
      {"\xE2\x82z", R + "z", "byte 0 (0xe2) begins an invalid UTF-8 sequence"},
      {"\xF0\x9F\x98", R, "byte 0 (0xf0) begins an invalid UTF-8 sequence"},
      {"\xF0\x9F\x98\xE2\x82\xAC", R + "\xE2\x82\xAC",
       "byte 0 (0xf0) begins an invalid UTF-8 sequence"},
      {"a\x80"
       "b",
       "a" + R + "b", "byte 1 (0x80) begins an invalid UTF-8 sequence"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    CHECK(valid_utf8(c.in) == c.problem.empty());
    CHECK(utf8_problem(c.in) == c.problem);
    const std::string fixed = to_valid_utf8(c.in);
    CHECK(fixed == c.fixed);
    CHECK(valid_utf8(fixed));
  }
}

namespace {

const std::string R = "\xEF\xBF\xBD";  // U+FFFD

// Whether `body` is JSON in valid UTF-8 (RapidJSON checks the encoding of every string).
bool valid_json(const std::string& body) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  return !d.HasParseError();
}

rapidjson::Document parse_strict(const std::string& body) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

// The lines of `page` that start with `prefix`.
std::vector<std::string> lines(const std::string& page, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix)) out.push_back(line);
  return out;
}

// The member names of the object `name` in `doc`.
std::multiset<std::string> keys(const rapidjson::Document& doc, const char* name) {
  std::multiset<std::string> out;
  for (const auto& m : doc[name].GetObject())
    out.insert(std::string(m.name.GetString(), m.name.GetStringLength()));
  return out;
}

// A record as a version that took invalid UTF-8 stored it, written to the store directly.
UsageRecord stored(std::string id, std::string user, std::string project, std::string provider,
                   std::string model, bool priced) {
  UsageRecord r;
  r.id = std::move(id);
  r.user = std::move(user);
  r.project = std::move(project);
  r.provider = std::move(provider);
  r.model = std::move(model);
  r.prompt_tokens = 100;
  r.completion_tokens = 10;
  r.timestamp_ms = r.received_ms = at("2026-11-15T10:00:00Z");
  r.cost = priced ? 1'000'000 : 0;
  r.priced = priced;
  r.fingerprint = "fp-" + r.id;
  return r;
}

}  // namespace

TEST_CASE(
    "utf8 - requests: parameters must be valid UTF-8, answers are whatever the request holds") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  auto refused = [](const std::string& parameter) {
    return R"({"error":"query parameter \")" + parameter + R"(\" must be valid UTF-8"})";
  };
  struct Case {
    const char* target;
    int status;
    std::string body;
  };
  const Case cases[] = {
      // query parameter values, percent-decoded; \udc00 as RapidJSON decoded it, overlong forms,
      // a stray byte, a truncated sequence, beyond U+10FFFF, \ud800
      {"/api/v1/statistics?userId=x%ED%B0%80", 400, refused("userId")},
      {"/api/v1/statistics?projectId=%C0%80", 400, refused("projectId")},
      {"/api/v1/cache-hit-rate?provider=%FF", 400, refused("provider")},
      {"/api/v1/statistics?model=m%E2%82", 400, refused("model")},
      {"/api/v1/statistics?start=2026-11-01%ED%B0%80", 400, refused("start")},
      {"/api/v1/cache-hit-rate?end=%F4%90%80%80", 400, refused("end")},
      {"/api/v1/quota?userId=%ED%A0%80", 400, refused("userId")},
      {"/api/v1/alerts?projectId=%F4%90%80%80", 400, refused("projectId")},
      {"/api/v1/quota?userId=a&monthlyTokenLimit=1%FF", 400, refused("monthlyTokenLimit")},
      {"/api/v1/alerts?monthlyCostLimit=%C1%BF", 400, refused("monthlyCostLimit")},
      // echoed in an answer: as U+FFFD
      {"/x%ED%B0%80", 404, R"({"error":"no such endpoint: /x)" + R + R + R + "\"}"},
      {"/api/v1/statistics?%FF=1", 400, R"({"error":"unknown query parameter \")" + R + "\\\"\"}"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.target);
    auto r = http_get(ts.port(), c.target);
    CHECK(r.status == c.status);
    CHECK(r.body == c.body);
    CHECK(valid_json(r.body));
  }
  CHECK(http_get(ts.port(), "/api/v1/statistics?userId=%C3%A9t%C3%A9%F0%9F%98%80").status == 200);
  CHECK(json::error("bad \xED\xB0\x80 \xFF") == R"({"error":"bad )" + R + R + R + " " + R + "\"}");
}

TEST_CASE("utf8 - label values are valid UTF-8 on the page whatever they hold") {
  struct Case {
    std::string value, label;
  };
  const Case cases[] = {
      {"alice", R"(user="alice")"},
      {"x\xED\xB0\x80", "user=\"x" + R + R + R + "\""},
      {"a\"\\\n\xFF", "user=\"a\\\"\\\\\\n" + R + "\""},
      {std::string("\0\xC0\x80", 3), std::string("user=\"\0", 7) + R + R + "\""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.value);
    std::string out;
    exposition::label(out, "user", c.value, true);
    CHECK(out == c.label);
  }
}

TEST_CASE("utf8 - values stored by earlier versions are shown with U+FFFD, merged where equal") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  Config config = test_config(dir.file("usage.db"));
  config.quota_min_ratio_ppm = 0;  // every user's quota on its own
  {
    // As a version that took a lone surrogate escape would have stored it: two users that differ
    // only in invalid bytes (\udc00, \udc01), and two unpriced models likewise.
    SqliteStore store({config.storage_path, true});
    std::vector<UsageRecord> batch = {
        stored("a", "x\xED\xB0\x80", "p\xFF", "openai", "gpt-4o", true),
        stored("b", "x\xED\xB0\x81", "p\xFE", "openai", "gpt-4o", true),
        stored("c", "carol", "web", "acme", "m\xC0\x80", false),
        stored("d", "carol", "web", "acme", "m\xC1\x81", false),
    };
    std::vector<UsageRecord>* batches[] = {&batch};
    REQUIRE(store.commit(batches).ok());
    REQUIRE(store.sync().ok());
  }
  const std::string user = "x" + R + R + R, project = "p" + R, model = "m" + R + R;
  auto check_page = [&](UsageService& service, int port, int calls) {
    const std::string page = http_get(port, "/metrics").body;
    CHECK(promtool_check_metrics(page).empty());
    CHECK(exposition_difference(render_metrics(service), reference_page(service)) == "");
    const auto requests =
        lines(page, "ai_usage_requests_total{provider=\"openai\",model=\"gpt-4o\"");
    REQUIRE(requests.size() == 2);  // cached false and true: one series
    CHECK(requests[0] == "ai_usage_requests_total{provider=\"openai\",model=\"gpt-4o\",project=\"" +
                             project + "\",user=\"" + user + "\",cached=\"false\"} " +
                             std::to_string(calls));
    CHECK(lines(page, "ai_usage_unpriced_requests_total{") ==
          std::vector<std::string>{"ai_usage_unpriced_requests_total{provider=\"acme\",model=\"" +
                                   model + "\"} 2"});
    const std::string quota_used = "ai_usage_quota_used{scope=\"user\",subject=\"" + user +
                                   "\",window=\"month\",resource=\"tokens\"}";
    CHECK(lines(page, quota_used) ==
          std::vector<std::string>{quota_used + " " + std::to_string(110 * calls)});

    const std::string body = http_get(port, "/api/v1/statistics").body;
    REQUIRE(valid_json(body));
    auto s = parse_strict(body);
    CHECK(keys(s, "byUser") == std::multiset<std::string>{"carol", user});
    CHECK(keys(s, "byProject") == std::multiset<std::string>{project, "web"});
    CHECK(keys(s, "byModel") == std::multiset<std::string>{"gpt-4o", model});
    CHECK(s["byUser"][user.c_str()]["calls"].GetInt() == calls);
    CHECK(s["byProject"][project.c_str()]["calls"].GetInt() == calls);
    CHECK(s["byModel"][model.c_str()]["calls"].GetInt() == 2);
    CHECK(s["totalCalls"].GetInt() == calls + 2);
    return page;
  };

  std::string before;
  {
    TestServer ts(config, clock.clock());
    check_page(*ts.service, ts.port(), 2);
    // A new record whose labels read the same (valid U+FFFD) joins the same series.
    REQUIRE(
        http_post_json(
            ts.port(), "/api/v1/usage",
            R"({"id":"e","userId":"x\ufffd\ufffd\ufffd","projectId":"p\ufffd","provider":"openai","model":"gpt-4o","usage":{"promptTokens":100,"completionTokens":10},"timestamp":"2026-11-15T11:00:00Z"})")
            .status == 200);
    before = render_metrics(*ts.service);
    check_page(*ts.service, ts.port(), 3);
    auto q =
        parse_strict(http_get(ts.port(), "/api/v1/quota?userId=x%EF%BF%BD%EF%BF%BD%EF%BF%BD").body);
    CHECK(q["usage"]["tokens"].GetInt() == 330);
  }
  TestServer ts(config, clock.clock());  // the same after a restart
  check_page(*ts.service, ts.port(), 3);
  CHECK(render_metrics(*ts.service) == before);
}

TEST_CASE("utf8 - a page of nasty but valid label values passes promtool") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  TestServer ts(test_config(dir.file("usage.db")), clock.clock());
  struct Case {
    std::string json;   // as written in the body
    std::string value;  // as stored and shown
  };
  const Case cases[] = {
      {R"(\u00e9t\u00e9)", "\xC3\xA9t\xC3\xA9"},
      {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"},
      {R"(\ud83d\ude00)", "\xF0\x9F\x98\x80"},  // a surrogate pair: U+1F600
      {"\xF0\x9F\x98\x80 raw", "\xF0\x9F\x98\x80 raw"},
      {R"(\udbff\udfff)", "\xF4\x8F\xBF\xBF"},  // U+10FFFF
      {R"(nul\u0000)", std::string("nul\0", 4)},
      {R"(\u2028\u2029)", "\xE2\x80\xA8\xE2\x80\xA9"},
      {R"(\u007f\u0085)", "\x7F\xC2\x85"},
      {R"(\ufeffbom)",
       "\xEF\xBB\xBF"
       "bom"},
      {R"(\uffff\ufffe)", "\xEF\xBF\xBF\xEF\xBF\xBE"},
      {R"(\ufffd)", R},
      {R"(\t\r)", "\t\r"},
      {R"(a\"b\\c\nd)", "a\"b\\c\nd"},
      {R"(}{=,\" # HELP x)", "}{=,\" # HELP x"},
  };
  std::string body = "[";
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    const std::string& v = cases[i].json;
    if (i > 0) body += ",";
    body += R"({"id":"n)" + std::to_string(i) + R"(","userId":")" + v + R"(","projectId":")" + v +
            R"(","provider":")" + v + R"(","model":")" + v +
            R"(","usage":{"promptTokens":1,"completionTokens":1}})";
  }
  body += "]";
  REQUIRE(http_post_json(ts.port(), "/api/v1/usage", body).status == 200);
  const std::string page = http_get(ts.port(), "/metrics").body;
  CHECK(promtool_check_metrics(page).empty());
  auto s = parse_strict(http_get(ts.port(), "/api/v1/statistics").body);
  std::multiset<std::string> values;
  for (const Case& c : cases) values.insert(c.value);
  for (const char* group : {"byUser", "byProject", "byProvider", "byModel"}) {
    CAPTURE(group);
    CHECK(keys(s, group) == values);
  }
}
