// [[quota]] windows and alert thresholds: what the configuration accepts and what it refuses.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "aiusage/config.hpp"

using namespace aiusage;

namespace {

Result<Config> parse(const std::string& text) { return parse_config(text, "test.toml", "/cfg"); }

}  // namespace

TEST_CASE("quota config - windows and thresholds") {
  SECTION("defaults: the calendar month, thresholds 0.9 and 1.0") {
    auto r = parse("[[quota]]\nscope = \"user\"\ntokens = 10\n");
    REQUIRE(r.ok());
    REQUIRE(r->quotas.size() == 1);
    CHECK(r->quotas[0].window == Window::month);
    CHECK(r->quotas[0].thresholds == Thresholds{900'000, 1'000'000});
  }

  SECTION("a subject may have one quota per window") {
    auto r = parse(
        "[[quota]]\nscope = \"user\"\nsubject = \"a\"\ntokens = 10\n"
        "[[quota]]\nscope = \"user\"\nsubject = \"a\"\nwindow = \"week\"\ntokens = 5\n"
        "[[quota]]\nscope = \"user\"\nsubject = \"a\"\nwindow = \"day\"\ncost = \"1.5\"\n"
        "thresholds = [0.5, 0.8, \"0.9\", 1, 1.25]\n");
    REQUIRE(r.ok());
    REQUIRE(r->quotas.size() == 3);
    CHECK(r->quotas[1].window == Window::week);
    CHECK(r->quotas[2].window == Window::day);
    CHECK(r->quotas[2].thresholds == Thresholds{500'000, 800'000, 900'000, 1'000'000, 1'250'000});
    CHECK(limits_for(r->quotas, Scope::user, "a", Window::week).tokens == 5);
    CHECK(limits_for(r->quotas, Scope::user, "a", Window::day).cost == 1'500'000'000);
    CHECK(limits_for(r->quotas, Scope::user, "a").tokens == 10);
  }

  SECTION("refused, with the position and the setting") {
    struct Case {
      std::string toml, error;
    };
    const std::string q = "[[quota]]\nscope = \"user\"\ntokens = 1\n";
    const std::vector<Case> cases = {
        {q + "window = \"year\"",
         "test.toml:4:10: quota[0].window: expected \"day\", \"week\" or \"month\""},
        {q + "window = 7", "test.toml:4:10: quota[0].window: expected a string"},
        {q + "thresholds = []",
         "test.toml:4:14: quota[0].thresholds: expected an array of 1 to 16 fractions of the "
         "limit"},
        {q + "thresholds = 0.9",
         "test.toml:4:14: quota[0].thresholds: expected an array of 1 to 16 fractions of the "
         "limit"},
        {q + "thresholds = [0.9, 0.5]",
         "test.toml:4:20: quota[0].thresholds[1]: thresholds must be ascending and distinct"},
        {q + "thresholds = [0.9, 0.9]",
         "test.toml:4:20: quota[0].thresholds[1]: thresholds must be ascending and distinct"},
        {q + "thresholds = [0]",
         "test.toml:4:15: quota[0].thresholds[0]: expected a fraction in (0, 10] with at most 6 "
         "decimals"},
        {q + "thresholds = [\"0.1234567\"]",
         "test.toml:4:15: quota[0].thresholds[0]: expected a fraction in (0, 10] with at most 6 "
         "decimals"},
        {q + "thresholds = [11]", "test.toml:4:15: quota[0].thresholds[0]: must be at most 10"},
        {q + "thresholds = [-0.5]", "test.toml:4:15: quota[0].thresholds[0]: must not be negative"},
        {q + "thresholds = [\"x\"]",
         "test.toml:4:15: quota[0].thresholds[0]: expected a decimal number, got \"x\""},
        {q + "thresholds = [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1,2,3,4,5,6,7,8]",
         "test.toml:4:14: quota[0].thresholds: expected an array of 1 to 16 fractions of the "
         "limit"},
        {q + "window = \"week\"\n" + q + "window = \"week\"\ncost = 1",
         "test.toml:5:1: quota[1]: duplicate quota for user * (window week)"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.toml);
      auto r = parse(c.toml);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == c.error);
    }
  }
}
