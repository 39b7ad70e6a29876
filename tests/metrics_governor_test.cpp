// [metrics] max_series and top_k through the real server: bounded families whose sums stay the
// store's totals to the nano, the same page after a restart, and the folded-series gauge.
#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

// Lines of `family` (name followed by "{"), and the sum of their values.
std::pair<int, double> family_sum(const std::string& page, const std::string& family) {
  std::pair<int, double> out{0, 0.0};
  const std::regex line("\n" + family + "\\{[^\n]*\\} ([^\n]+)");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), line); it != std::sregex_iterator();
       ++it) {
    ++out.first;
    out.second += std::stod((*it)[1]);
  }
  return out;
}

std::string batch(int users) {
  std::string b = "[";
  for (int i = 0; i < users; ++i)
    b += std::string(i ? "," : "") + R"({"id":"r)" + std::to_string(i) + R"(","userId":"user-)" +
         std::to_string(i) + R"(","projectId":"p)" + std::to_string(i % 3) +
         R"(","provider":"openai","model":"gpt-4o","usage":{"promptTokens":)" +
         std::to_string(1000 + i) + R"(,"completionTokens":100}})";
  return b + "]";
}

}  // namespace

TEST_CASE("metrics governor - bounded series with exact sums") {
  TempDir dir;
  FakeClock clock;
  clock.set(at("2026-11-15T12:00:00Z"));
  struct Case {
    const char* toml;
    int cost_lines;  // rows of ai_usage_cost_total
    int folded;
  };
  const std::vector<Case> cases = {
      {"", 40, 0},                                   // default 5000: every series apart
      {"[metrics]\nmax_series = 5\n", 5, 36},        // four apart, the rest in one row
      {"[metrics]\ntop_k = { user = 2 }\n", 5, 38},  // 2 users apart, 3 projects' __other__ rows
  };
  int n = 0;
  for (const Case& c : cases) {
    CAPTURE(c.toml);
    const std::string db = dir.file("usage" + std::to_string(n++) + ".db");
    std::string before;
    {
      TestServer ts(test_config(db, c.toml), clock.clock());
      REQUIRE(http_post_json(ts.port(), "/api/v1/usage", batch(40)).status == 200);
      before = http_get(ts.port(), "/metrics").body;
      auto stats = parse(http_get(ts.port(), "/api/v1/statistics").body);
      const auto [lines, cost] = family_sum(before, "ai_usage_cost_total");
      CHECK(lines == c.cost_lines);
      CHECK(cost == Approx(stats["totalCost"].GetDouble()).epsilon(1e-12));
      const auto requests = family_sum(before, "ai_usage_requests_total");
      CHECK(requests.second == 40);
      const auto tokens = family_sum(before, "ai_usage_tokens_total");
      CHECK(tokens.second == stats["totalTokens"].GetDouble());
      CHECK(before.find("ai_usage_metrics_folded_series{family=\"ai_usage_cost_total\"} " +
                        std::to_string(c.folded) + "\n") != std::string::npos);
    }
    TestServer again(test_config(db, c.toml), clock.clock());
    const std::string after = http_get(again.port(), "/metrics").body;
    auto usage = [](const std::string& page, const char* family) {
      std::string out;
      const std::regex line(std::string("\n") + family + "\\{[^\n]*");
      for (auto it = std::sregex_iterator(page.begin(), page.end(), line);
           it != std::sregex_iterator(); ++it)
        out += (*it)[0].str();
      return out;
    };
    CHECK(usage(after, "ai_usage_cost_total") == usage(before, "ai_usage_cost_total"));
  }
  SECTION("a bad limit is refused") {
    auto r = parse_config("[metrics]\nmax_series = 0\n", "test.toml", ".");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "test.toml:2:14: metrics.max_series: must be greater than 0");
    r = parse_config("[metrics]\ntop_k = { team = 3 }\n", "test.toml", ".");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("metrics.top_k.team") != std::string::npos);
  }
}
