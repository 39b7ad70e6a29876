// Quotas: rule selection by window, how full a quota is, the alert it raises, the forecast.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "aiusage/money.hpp"
#include "aiusage/quota.hpp"

using namespace aiusage;

namespace {

constexpr Nanos kUnit = kNanosPerUnit;

QuotaRule rule(Scope scope, std::string subject, std::optional<std::int64_t> tokens,
               std::optional<Nanos> cost) {
  QuotaRule r;
  r.scope = scope;
  r.subject = std::move(subject);
  r.tokens = tokens;
  r.cost = cost;
  return r;
}

}  // namespace

TEST_CASE("quota - names") {
  CHECK(std::string(to_string(Scope::user)) == "user");
  CHECK(std::string(to_string(Scope::project)) == "project");
  CHECK(std::string(to_string(Scope::global)) == "global");
  CHECK(std::string(to_string(AlertLevel::none)) == "none");
  CHECK(std::string(to_string(AlertLevel::warning)) == "warning");
  CHECK(std::string(to_string(AlertLevel::critical)) == "critical");
}

TEST_CASE("quota - limits_for") {
  const std::vector<QuotaRule> rules = {
      rule(Scope::user, "*", 1000, std::nullopt),
      rule(Scope::user, "alice", std::nullopt, 5 * kUnit),  // after "*" in the list, still wins
      rule(Scope::project, "p1", 3000, std::nullopt),       // before "*" in the list
      rule(Scope::project, "*", 2000, 20 * kUnit),
      rule(Scope::global, "*", 10'000, 100 * kUnit),
  };

  struct Case {
    Scope scope;
    const char* subject;
    std::optional<std::int64_t> tokens;
    std::optional<Nanos> cost;
    const char* why;
  };
  const Case cases[] = {
      // The chosen rule applies whole: alice has no token limit, even though "*" has one.
      {Scope::user, "alice", std::nullopt, 5 * kUnit, "specific subject beats \"*\""},
      {Scope::user, "bob", 1000, std::nullopt, "everyone else: \"*\""},
      {Scope::user, "Alice", 1000, std::nullopt, "subjects are case-sensitive"},
      {Scope::user, "p1", 1000, std::nullopt, "a project's name means nothing in the user scope"},
      {Scope::project, "p1", 3000, std::nullopt, "specific project"},
      {Scope::project, "alice", 2000, 20 * kUnit,
       "a user's name means nothing in the project scope"},
      {Scope::project, "p2", 2000, 20 * kUnit, "project \"*\""},
      {Scope::project, "", 2000, 20 * kUnit, "no project name: still \"*\""},
      {Scope::global, "", 10'000, 100 * kUnit, "global"},
      {Scope::global, "anything", 10'000, 100 * kUnit, "global ignores the subject"},
  };
  for (const auto& c : cases) {
    INFO(to_string(c.scope) << " " << c.subject << ": " << c.why);
    QuotaLimits l = limits_for(rules, c.scope, c.subject);
    CHECK(l.tokens == c.tokens);
    CHECK(l.cost == c.cost);
  }

  SECTION("no rule for the scope: no limits") {
    const std::vector<QuotaRule> only_alice = {rule(Scope::user, "alice", 10, std::nullopt)};
    struct Empty {
      Scope scope;
      const char* subject;
    };
    const Empty empty_cases[] = {
        {Scope::user, "bob"}, {Scope::project, "alice"}, {Scope::global, ""}};
    for (const auto& c : empty_cases) {
      INFO(to_string(c.scope) << " " << c.subject);
      QuotaLimits l = limits_for(only_alice, c.scope, c.subject);
      CHECK_FALSE(l.tokens.has_value());
      CHECK_FALSE(l.cost.has_value());
    }
    QuotaLimits none = limits_for({}, Scope::user, "alice");
    CHECK_FALSE(none.tokens.has_value());
    CHECK_FALSE(none.cost.has_value());
  }
}

TEST_CASE("quota - thresholds") {
  // Warning at ≥ 90 % of a limit, critical at ≥ 100 %; the thresholds themselves count.
  struct Case {
    MonthUsage usage;
    QuotaLimits limits;
    AlertLevel level;
    bool exceeded;
    const char* message;
  };
  const std::optional<std::int64_t> no_tokens;
  const std::optional<Nanos> no_cost;
  // clang-format off
  const Case cases[] = {
      // tokens, limit 10'000
      {{0, 0}, {10'000, no_cost}, AlertLevel::none, false, ""},
      {{8'990, 0}, {10'000, no_cost}, AlertLevel::none, false, ""},  // 89.9 %
      {{9'000, 0}, {10'000, no_cost}, AlertLevel::warning, false,    // 90 % exactly
       "AI usage quota nearly exhausted! tokens: 90.0%"},
      {{9'990, 0}, {10'000, no_cost}, AlertLevel::warning, false,
       "AI usage quota nearly exhausted! tokens: 99.9%"},
      {{10'000, 0}, {10'000, no_cost}, AlertLevel::critical, true,   // 100 % exactly
       "AI usage quota exceeded! tokens: 10000/10000"},
      {{10'010, 0}, {10'000, no_cost}, AlertLevel::critical, true,   // 100.1 %
       "AI usage quota exceeded! tokens: 10010/10000"},

      // cost, limit 100.00
      {{0, 89'900'000'000}, {no_tokens, 100 * kUnit}, AlertLevel::none, false, ""},  // 89.9 %
      {{0, 90 * kUnit}, {no_tokens, 100 * kUnit}, AlertLevel::warning, false,
       "AI usage quota nearly exhausted! cost: 90.0%"},
      // Percentages are truncated: 1 nano short of the limit reads 99.9 %, never 100.0 %.
      {{0, 100 * kUnit - 1}, {no_tokens, 100 * kUnit}, AlertLevel::warning, false,
       "AI usage quota nearly exhausted! cost: 99.9%"},
      {{9'999, 0}, {10'000, no_cost}, AlertLevel::warning, false,  // 99.99 %
       "AI usage quota nearly exhausted! tokens: 99.9%"},
      {{9'509, 0}, {10'000, no_cost}, AlertLevel::warning, false,  // 95.09 %: truncated, not 95.1
       "AI usage quota nearly exhausted! tokens: 95.0%"},
      {{0, 100 * kUnit}, {no_tokens, 100 * kUnit}, AlertLevel::critical, true,
       "AI usage quota exceeded! cost: 100.00/100.00 USD"},
      {{0, 100'100'000'000}, {no_tokens, 100 * kUnit}, AlertLevel::critical, true,  // 100.1 %
       "AI usage quota exceeded! cost: 100.10/100.00 USD"},
      {{0, 123'456'789'012}, {no_tokens, 100 * kUnit}, AlertLevel::critical, true,  // nanos shown
       "AI usage quota exceeded! cost: 123.456789012/100.00 USD"},

      // The threshold is exact, not the rounded percentage: 90 % of 1'000'000'001 tokens is
      // 900'000'000.9, so 900'000'000 (89.99999999 %, shown as 90.0) is below it.
      {{900'000'000, 0}, {1'000'000'001, no_cost}, AlertLevel::none, false, ""},
      {{900'000'001, 0}, {1'000'000'001, no_cost}, AlertLevel::warning, false,
       "AI usage quota nearly exhausted! tokens: 90.0%"},
      // 90 % of 0.000000011 is 9.9 nanos: 9 is below, 10 is above.
      {{0, 9}, {no_tokens, 11}, AlertLevel::none, false, ""},
      {{0, 10}, {no_tokens, 11}, AlertLevel::warning, false,
       "AI usage quota nearly exhausted! cost: 90.9%"},

      // both limits: the fuller one decides, the message names both
      {{9'500, 5 * kUnit}, {10'000, 10 * kUnit}, AlertLevel::warning, false,
       "AI usage quota nearly exhausted! tokens: 95.0%, cost: 50.0%"},
      {{1'000, 9'500'000'000}, {10'000, 10 * kUnit}, AlertLevel::warning, false,
       "AI usage quota nearly exhausted! tokens: 10.0%, cost: 95.0%"},
      {{5'000, 10 * kUnit}, {10'000, 10 * kUnit}, AlertLevel::critical, true,
       "AI usage quota exceeded! tokens: 5000/10000, cost: 10.00/10.00 USD"},
      {{10'000, 9 * kUnit}, {10'000, 10 * kUnit}, AlertLevel::critical, true,
       "AI usage quota exceeded! tokens: 10000/10000, cost: 9.00/10.00 USD"},
      {{8'000, 8 * kUnit}, {10'000, 10 * kUnit}, AlertLevel::none, false, ""},

      // no limits at all: never an alert
      {{1'000'000'000, 1'000 * kUnit}, {no_tokens, no_cost}, AlertLevel::none, false, ""},
  };
  // clang-format on
  for (const auto& c : cases) {
    INFO("usage " << c.usage.tokens << " tokens, " << format_nanos(c.usage.cost) << "; limits "
                  << (c.limits.tokens ? std::to_string(*c.limits.tokens) : "-") << " tokens, "
                  << (c.limits.cost ? format_nanos(*c.limits.cost) : "-"));
    QuotaStatus s = evaluate_quota(c.usage, c.limits);
    CHECK(s.exceeded == c.exceeded);
    CHECK(s.usage.tokens == c.usage.tokens);
    CHECK(s.usage.cost == c.usage.cost);
    CHECK(s.limits.tokens == c.limits.tokens);
    CHECK(s.limits.cost == c.limits.cost);
    CHECK(s.token_percent.has_value() == c.limits.tokens.has_value());
    CHECK(s.cost_percent.has_value() == c.limits.cost.has_value());
    Alert a = alert_for(s, "USD");
    CHECK(a.level == c.level);
    CHECK(a.message == c.message);
  }
}

TEST_CASE("quota - displayed percentages are exact one-decimal values") {
  // Truncation must not turn an exact 92.5 % into 92.4 % through floating-point error:
  // for every d in 900..999, usage = limit × d / 1000 is exactly d/10 percent.
  struct Limit {
    std::int64_t tokens;
    Nanos cost;
  };
  const Limit limits[] = {
      {1000, 1000 * kUnit}, {1'000'000, 7 * kUnit}, {3000, 3 * kUnit}, {10'000, 123 * kUnit}};
  for (const auto& l : limits) {
    for (int d = 900; d < 1000; ++d) {
      const MonthUsage u{l.tokens * d / 1000, l.cost / 1000 * d};
      const std::string expected = std::to_string(d / 10) + "." + std::to_string(d % 10) + "%";
      CAPTURE(l.tokens, l.cost, d);
      Alert a = alert_for(evaluate_quota(u, {l.tokens, l.cost}), "USD");
      CHECK(a.level == AlertLevel::warning);
      CHECK(a.message ==
            "AI usage quota nearly exhausted! tokens: " + expected + ", cost: " + expected);
    }
  }
}

TEST_CASE("quota - percentages") {
  struct Case {
    MonthUsage usage;
    QuotaLimits limits;
    double token_percent;
    double cost_percent;
  };
  const Case cases[] = {
      {{0, 0}, {1000, 10 * kUnit}, 0.0, 0.0},
      {{899, 8'990'000'000}, {1000, 10 * kUnit}, 89.9, 89.9},
      {{900, 9 * kUnit}, {1000, 10 * kUnit}, 90.0, 90.0},
      {{1000, 10 * kUnit}, {1000, 10 * kUnit}, 100.0, 100.0},
      {{1001, 10'010'000'000}, {1000, 10 * kUnit}, 100.1, 100.1},
      {{3000, 25 * kUnit}, {1000, 10 * kUnit}, 300.0, 250.0},
      {{1, 1}, {3, 3}, 100.0 / 3, 100.0 / 3},
  };
  for (const auto& c : cases) {
    CAPTURE(c.usage.tokens, c.usage.cost);
    QuotaStatus s = evaluate_quota(c.usage, c.limits);
    REQUIRE(s.token_percent.has_value());
    REQUIRE(s.cost_percent.has_value());
    CHECK(*s.token_percent == Approx(c.token_percent));
    CHECK(*s.cost_percent == Approx(c.cost_percent));
  }
}

TEST_CASE("quota - alert currency and usage sums") {
  SECTION("the billing currency is named in a critical cost message") {
    QuotaStatus s = evaluate_quota({0, 700 * kUnit}, {std::nullopt, 500 * kUnit});
    Alert a = alert_for(s, "CNY");
    CHECK(a.level == AlertLevel::critical);
    CHECK(a.message == "AI usage quota exceeded! cost: 700.00/500.00 CNY");
  }
  SECTION("MonthUsage adds up") {
    MonthUsage u{100, 1'500'000'000};
    u += MonthUsage{50, 250'000'000};
    u += MonthUsage{};
    CHECK(u.tokens == 150);
    CHECK(u.cost == 1'750'000'000);
  }
  SECTION("usage summed from records reaches the limit exactly") {
    // 9 records of 0.1 → exactly 0.9 of a 1.00 limit: exact nanos, so exactly 90 %.
    MonthUsage u;
    for (int i = 0; i < 9; ++i) u += MonthUsage{0, 100'000'000};
    Alert a = alert_for(evaluate_quota(u, {std::nullopt, kUnit}), "USD");
    CHECK(a.level == AlertLevel::warning);
    CHECK(a.message == "AI usage quota nearly exhausted! cost: 90.0%");
    u += MonthUsage{0, 100'000'000};
    QuotaStatus s = evaluate_quota(u, {std::nullopt, kUnit});
    CHECK(s.exceeded);
    CHECK(alert_for(s, "USD").message == "AI usage quota exceeded! cost: 1.00/1.00 USD");
  }
}

TEST_CASE("quota - configured thresholds") {
  const Thresholds four = {500'000, 800'000, 900'000, 1'000'000};
  struct Case {
    MonthUsage usage;
    Thresholds thresholds;
    AlertLevel level;
    std::optional<std::int32_t> threshold;
  };
  // A cost limit of 10.00; 4.999999999 is one nano below 50 %.
  // clang-format off
  const Case cases[] = {
      {{0, 4'999'999'999}, four, AlertLevel::none, std::nullopt},
      {{0, 5 * kUnit}, four, AlertLevel::warning, 500'000},              // exactly at 50 %
      {{0, 7'999'999'999}, four, AlertLevel::warning, 500'000},          // just below 80 %
      {{0, 8 * kUnit}, four, AlertLevel::warning, 800'000},
      {{0, 9 * kUnit}, four, AlertLevel::warning, 900'000},
      {{0, 9'999'999'999}, four, AlertLevel::warning, 900'000},
      {{0, 10 * kUnit}, four, AlertLevel::critical, 1'000'000},
      {{0, 25 * kUnit}, four, AlertLevel::critical, 1'000'000},
      {{0, 9 * kUnit}, default_thresholds(), AlertLevel::warning, 900'000},
      {{0, 8'999'999'999}, default_thresholds(), AlertLevel::none, std::nullopt},
      // a threshold above the limit: critical from 100 %, and 150 % is the level past it
      {{0, 15 * kUnit}, {1'000'000, 1'500'000}, AlertLevel::critical, 1'500'000},
      // no threshold at or above the limit: an exceeded quota stays a warning, and says so
      {{0, 12 * kUnit}, {500'000}, AlertLevel::warning, 500'000},
  };
  // clang-format on
  for (const Case& c : cases) {
    CAPTURE(c.usage.cost, c.thresholds);
    QuotaLimits limits{std::nullopt, 10 * kUnit, c.thresholds};
    const Alert a = alert_for(evaluate_quota(c.usage, limits), "USD");
    CHECK(a.level == c.level);
    CHECK(a.threshold_ppm == c.threshold);
  }
  SECTION("either limit reaches a threshold") {
    QuotaLimits limits{1000, 10 * kUnit, four};
    CHECK(alert_for(evaluate_quota({800, kUnit}, limits), "USD").threshold_ppm == 800'000);
    CHECK(alert_for(evaluate_quota({100, 9 * kUnit}, limits), "USD").threshold_ppm == 900'000);
  }
  SECTION("an exceeded quota below every critical threshold still says exceeded") {
    QuotaLimits limits{std::nullopt, 10 * kUnit, {500'000}};
    CHECK(alert_for(evaluate_quota({0, 12 * kUnit}, limits), "USD").message ==
          "AI usage quota exceeded! cost: 12.00/10.00 USD");
  }
}

TEST_CASE("quota - rules by window") {
  QuotaRule month_all = rule(Scope::user, "*", 1000, std::nullopt);
  QuotaRule day_alice = rule(Scope::user, "alice", 10, std::nullopt);
  day_alice.window = Window::day;
  QuotaRule week_all = rule(Scope::user, "*", 100, std::nullopt);
  week_all.window = Window::week;
  week_all.thresholds = {500'000, 1'000'000};
  const std::vector<QuotaRule> rules = {month_all, day_alice, week_all};
  struct Case {
    const char* subject;
    Window window;
    std::optional<std::int64_t> tokens;
  } cases[] = {
      {"alice", Window::month, 1000},     {"alice", Window::day, 10},
      {"alice", Window::week, 100},       {"bob", Window::month, 1000},
      {"bob", Window::day, std::nullopt}, {"bob", Window::week, 100},
  };
  for (const Case& c : cases) {
    CAPTURE(c.subject, to_string(c.window));
    CHECK(limits_for(rules, Scope::user, c.subject, c.window).tokens == c.tokens);
  }
  CHECK(limits_for(rules, Scope::user, "bob", Window::week).thresholds == week_all.thresholds);
  CHECK(limits_for(rules, Scope::user, "bob").thresholds == default_thresholds());
}

TEST_CASE("quota - forecast") {
  constexpr std::int64_t kHourMs = 3'600'000;
  const Period day{0, 24 * kHourMs};
  const QuotaLimits cost_limit{std::nullopt, 10 * kUnit, default_thresholds()};
  SECTION("the recent rate carried to the window's end") {
    // 6 hours in: 3.00 spent, 2.00 of it in the last 4 hours -> 0.50/h for 18 h more = 12.00.
    const auto f =
        forecast({{600, 3 * kUnit}, {400, 2 * kUnit}, 2 * kHourMs, 6 * kHourMs, day}, cost_limit);
    REQUIRE(f.has_value());
    CHECK(f->projected.cost == 12 * kUnit);
    CHECK(f->projected.tokens == 600 + 100 * 18);
    // 7.00 left at 0.50/h: 14 h from now.
    CHECK(f->exhausted_at_ms == 20 * kHourMs);
  }
  SECTION("no exhaustion when the projection stays under the limit") {
    const auto f = forecast({{0, kUnit}, {0, kUnit}, 0, 12 * kHourMs, day}, cost_limit);
    REQUIRE(f.has_value());
    CHECK(f->projected.cost == 2 * kUnit);
    CHECK_FALSE(f->exhausted_at_ms.has_value());
  }
  SECTION("reaching the limit exactly at the window's end is not exhaustion inside it") {
    const auto f = forecast({{0, 5 * kUnit}, {0, 5 * kUnit}, 0, 12 * kHourMs, day}, cost_limit);
    REQUIRE(f.has_value());
    CHECK(f->projected.cost == 10 * kUnit);
    CHECK_FALSE(f->exhausted_at_ms.has_value());
  }
  SECTION("an exhausted quota is exhausted now") {
    const auto f = forecast({{0, 11 * kUnit}, {0, kUnit}, 0, 2 * kHourMs, day}, cost_limit);
    REQUIRE(f.has_value());
    CHECK(f->exhausted_at_ms == 2 * kHourMs);
  }
  SECTION("exhaustion rounds up to the millisecond that reaches the limit") {
    // 1 nano per 3 ms of recent rate; 1 nano short of the limit -> 3 ms.
    const QuotaLimits tiny{std::nullopt, 10, default_thresholds()};
    const auto f = forecast({{0, 9}, {0, kHourMs / 3}, 0, kHourMs, day}, tiny);
    REQUIRE(f.has_value());
    CHECK(f->exhausted_at_ms == kHourMs + 3);
  }
  SECTION("no forecast before an hour of data, or with spend from outside the window") {
    CHECK_FALSE(forecast({{0, kUnit}, {0, kUnit}, 0, kHourMs - 1, day}, cost_limit));
    CHECK(forecast({{0, kUnit}, {0, kUnit}, 0, kHourMs, day}, cost_limit));
    const Period second_day{24 * kHourMs, 48 * kHourMs};
    CHECK_FALSE(
        forecast({{0, kUnit}, {0, kUnit}, 20 * kHourMs, 26 * kHourMs, second_day}, cost_limit));
    CHECK_FALSE(
        forecast({{0, kUnit}, {0, kUnit}, 24 * kHourMs, 49 * kHourMs, second_day}, cost_limit));
  }
  SECTION("a huge rate saturates instead of wrapping") {
    const Period month{0, 31 * 24 * kHourMs};
    const std::int64_t big = std::numeric_limits<std::int64_t>::max() / 2;
    const auto f = forecast({{big, big}, {big, big}, 0, kHourMs, month}, cost_limit);
    REQUIRE(f.has_value());
    CHECK(f->projected.cost == std::numeric_limits<std::int64_t>::max());
    CHECK(f->projected.tokens == std::numeric_limits<std::int64_t>::max());
  }
}
