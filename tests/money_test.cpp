// Exact money arithmetic: decimal text <-> nano-units, half-even division, config floats.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "aiusage/money.hpp"

using namespace aiusage;

namespace {

// Catch2 v2 cannot print __int128; compare through a string.
std::string i128(Int128 v) {
  if (v == 0) return "0";
  bool negative = v < 0;
  std::string out;
  while (v != 0) {
    int digit = static_cast<int>(v % 10);
    out.insert(out.begin(), static_cast<char>('0' + (digit < 0 ? -digit : digit)));
    v /= 10;
  }
  return negative ? "-" + out : out;
}

}  // namespace

TEST_CASE("money - parse_decimal_nanos") {
  SECTION("valid decimals are exact") {
    struct Case {
      const char* text;
      Nanos expected;
    };
    const Case cases[] = {
        {"0", 0},
        {"3", 3'000'000'000},
        {"0.075", 75'000'000},  // 75 thousandths = 75'000'000 nanos
        {"-1.5", -1'500'000'000},
        {"+2.25", 2'250'000'000},
        {"0.000000001", 1},  // smallest unit: 1 nano
        {"-0.000000001", -1},
        {"123.456789012", 123'456'789'012},  // all 9 fraction digits kept
        {"0.1", 100'000'000},                // exact, unlike the double 0.1
        {"0.138", 138'000'000},
        {"10000", 10'000'000'000'000},
        {"007", 7'000'000'000},               // leading zeros are just digits
        {"1.", 1'000'000'000},                // no fraction digits after the point
        {".5", 500'000'000},                  // no whole digits before the point
        {"1.000000000", 1'000'000'000},       // 9 trailing zeros are still 9 digits
        {"9223372036.854775807", INT64_MAX},  // largest representable amount
        {"-9223372036.854775807", -INT64_MAX},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      auto r = parse_decimal_nanos(c.text);
      REQUIRE(r.ok());
      CHECK(*r == c.expected);
    }
  }

  SECTION("malformed text is rejected with the exact message") {
    struct Case {
      const char* text;
      const char* message;
    };
    const Case cases[] = {
        {"", "expected a decimal number, got \"\""},
        {"-", "expected a decimal number, got \"-\""},
        {"+", "expected a decimal number, got \"+\""},
        {".", "expected a decimal number, got \".\""},
        {"-.", "expected a decimal number, got \"-.\""},
        {"abc", "expected a decimal number, got \"abc\""},
        {"1e3", "expected a decimal number, got \"1e3\""},      // no exponents
        {"1,5", "expected a decimal number, got \"1,5\""},      // no decimal comma
        {"1.2.3", "expected a decimal number, got \"1.2.3\""},  // one point at most
        {"--1", "expected a decimal number, got \"--1\""},      // one sign at most
        {"+-1", "expected a decimal number, got \"+-1\""},
        {" 1", "expected a decimal number, got \" 1\""},  // no surrounding blanks
        {"1 ", "expected a decimal number, got \"1 \""},
        {"0x10", "expected a decimal number, got \"0x10\""},
        {"1_000", "expected a decimal number, got \"1_000\""},
        {"inf", "expected a decimal number, got \"inf\""},
        {"NaN", "expected a decimal number, got \"NaN\""},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      auto r = parse_decimal_nanos(c.text);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == c.message);
    }
  }

  SECTION("at most 9 fraction digits") {
    struct Case {
      const char* text;
      const char* message;
    };
    const Case cases[] = {
        {"0.0000000001", "more than 9 decimal places in \"0.0000000001\""},
        {"1.1234567891", "more than 9 decimal places in \"1.1234567891\""},
        // Even a zero tenth digit would silently change nothing, but it is not accepted.
        {"1.0000000000", "more than 9 decimal places in \"1.0000000000\""},
        {"-0.1234567890", "more than 9 decimal places in \"-0.1234567890\""},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      auto r = parse_decimal_nanos(c.text);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == c.message);
    }
  }

  SECTION("amounts beyond int64 nanos are rejected") {
    // INT64_MAX nanos = 9223372036.854775807 units.
    struct Case {
      const char* text;
      const char* message;
    };
    const Case cases[] = {
        {"9223372037", "number too large: \"9223372037\""},  // whole part alone too large
        {"9223372036.854775808", "number too large: \"9223372036.854775808\""},  // INT64_MAX + 1
        {"9223372036.9", "number too large: \"9223372036.9\""},
        {"-9223372037", "number too large: \"-9223372037\""},
        // Far beyond even 128 bits: must be caught early, not wrap around.
        {"999999999999999999999999999999999999999999",
         "number too large: \"999999999999999999999999999999999999999999\""},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      auto r = parse_decimal_nanos(c.text);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == c.message);
    }
  }
}

TEST_CASE("money - format_nanos") {
  SECTION("default: at least 2 decimals, trailing zeros trimmed beyond that") {
    struct Case {
      Nanos nanos;
      const char* expected;
    };
    const Case cases[] = {
        {0, "0.00"},
        {1, "0.000000001"},
        {10'500'000, "0.0105"},  // 10'500'000 / 1e9
        {105'000'000'000, "105.00"},
        {1'500'000'000, "1.50"},
        {123'456'789'012, "123.456789012"},
        {100'000'000, "0.10"},
        {-1'500'000'000, "-1.50"},
        {-1, "-0.000000001"},
        {-999'999'999, "-0.999999999"},
        {INT64_MAX, "9223372036.854775807"},
        {INT64_MIN, "-9223372036.854775808"},  // negating INT64_MIN must not overflow
    };
    for (const auto& c : cases) {
      CAPTURE(c.nanos);
      CHECK(format_nanos(c.nanos) == c.expected);
    }
  }

  SECTION("min_decimals") {
    struct Case {
      Nanos nanos;
      int min_decimals;
      const char* expected;
    };
    const Case cases[] = {
        {3'000'000'000, 0, "3"},  // no point at all for a whole number
        {3'500'000'000, 0, "3.5"},
        {0, 0, "0"},
        {-7'000'000'000, 0, "-7"},
        {10'000'000'000'000, 0, "10000"},  // the config's "must be at most 10000"
        {1'200'000'000, 4, "1.2000"},
        {1'000'000'000, 9, "1.000000000"},
        {1'234'567'891, 2, "1.234567891"},  // more digits than the minimum are kept
        {1'234'567'891, 0, "1.234567891"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.nanos, c.min_decimals);
      CHECK(format_nanos(c.nanos, c.min_decimals) == c.expected);
    }
  }

  SECTION("format and parse round-trip exactly") {
    const Nanos values[] = {0,
                            1,
                            -1,
                            75'000'000,
                            3'000'000'000,
                            -1'500'000'000,
                            123'456'789'012,
                            999'999'999,
                            INT64_MAX,
                            -INT64_MAX};
    for (Nanos v : values) {
      CAPTURE(v);
      for (int min_decimals : {0, 2, 9}) {
        CAPTURE(min_decimals);
        auto back = parse_decimal_nanos(format_nanos(v, min_decimals));
        REQUIRE(back.ok());
        CHECK(*back == v);
      }
    }
  }
}

TEST_CASE("money - div_round_half_even") {
  SECTION("ties go to the even neighbour, for both signs") {
    struct Case {
      long long num;
      long long den;
      long long expected;
      const char* why;
    };
    const Case cases[] = {
        {1, 2, 0, "0.5 -> 0"},
        {3, 2, 2, "1.5 -> 2"},
        {5, 2, 2, "2.5 -> 2"},
        {7, 2, 4, "3.5 -> 4"},
        {-1, 2, 0, "-0.5 -> 0"},
        {-3, 2, -2, "-1.5 -> -2"},
        {-5, 2, -2, "-2.5 -> -2"},
        {-7, 2, -4, "-3.5 -> -4"},
        {15, 10, 2, "1.5 -> 2"},
        {25, 10, 2, "2.5 -> 2"},
        {500'000, 1'000'000, 0, "0.5 nano -> 0"},
        {1'500'000, 1'000'000, 2, "1.5 nanos -> 2"},
        {2'500'000, 1'000'000, 2, "2.5 nanos -> 2"},
    };
    for (const auto& c : cases) {
      INFO(c.num << " / " << c.den << ": " << c.why);
      CHECK(i128(div_round_half_even(c.num, c.den)) == i128(c.expected));
    }
  }

  SECTION("non-ties round to the nearest integer") {
    struct Case {
      long long num;
      long long den;
      long long expected;
      const char* why;
    };
    const Case cases[] = {
        {0, 5, 0, "0"},
        {6, 3, 2, "exact"},
        {-6, 3, -2, "exact, negative"},
        {1, 3, 0, "0.333 -> 0"},
        {2, 3, 1, "0.667 -> 1"},
        {4, 3, 1, "1.333 -> 1"},
        {5, 3, 2, "1.667 -> 2"},
        {-4, 3, -1, "-1.333 -> -1"},
        {-5, 3, -2, "-1.667 -> -2"},
        {-2, 3, -1, "-0.667 -> -1"},
        {249, 100, 2, "2.49 -> 2"},
        {251, 100, 3, "2.51 -> 3"},
        {-251, 100, -3, "-2.51 -> -3"},
        {500'001, 1'000'000, 1, "0.500001 -> 1 (just above the tie)"},
        {499'999, 1'000'000, 0, "0.499999 -> 0 (just below the tie)"},
        {-500'001, 1'000'000, -1, "-0.500001 -> -1"},
    };
    for (const auto& c : cases) {
      INFO(c.num << " / " << c.den << ": " << c.why);
      CHECK(i128(div_round_half_even(c.num, c.den)) == i128(c.expected));
    }
  }

  SECTION("operands beyond 64 bits") {
    const Int128 e18 = 1'000'000'000'000'000'000;
    // (1e18 × 1e18 + 0.5e18) / 1e18 = 1e18 + 0.5 → 1e18 (even)
    CHECK(i128(div_round_half_even(e18 * e18 + e18 / 2, e18)) == "1000000000000000000");
    // (1e18 × (1e18 + 1) + 0.5e18) / 1e18 = 1e18 + 1.5 → 1e18 + 2
    CHECK(i128(div_round_half_even(e18 * (e18 + 1) + e18 / 2, e18)) == "1000000000000000002");
    CHECK(i128(div_round_half_even(-(e18 * (e18 + 1) + e18 / 2), e18)) == "-1000000000000000002");
  }
}

TEST_CASE("money - nanos_from_double") {
  SECTION("rounds to the nearest nano") {
    struct Case {
      double units;
      Nanos expected;
    };
    const Case cases[] = {
        {0.0, 0},
        {1.0, 1'000'000'000},
        {0.1, 100'000'000},    // 0.1 is 0.1000000000000000055… as a double
        {0.138, 138'000'000},  // the example CNY rate
        {0.0028, 2'800'000},
        {0.003625, 3'625'000},
        {2.5, 2'500'000'000},
        {18.75, 18'750'000'000},
        {-0.075, -75'000'000},
        {1e-9, 1},
        {4e-10, 0},  // 0.4 nano
        {6e-10, 1},  // 0.6 nano
        {10000.0, 10'000'000'000'000},
        {9e9, 9'000'000'000'000'000'000},  // still below the 9.2e18 limit
    };
    for (const auto& c : cases) {
      CAPTURE(c.units);
      auto r = nanos_from_double(c.units);
      REQUIRE(r.ok());
      CHECK(*r == c.expected);
    }
  }

  SECTION("errors") {
    struct Case {
      double units;
      const char* message;
    };
    const Case cases[] = {
        {std::numeric_limits<double>::quiet_NaN(), "number is not finite"},
        {std::numeric_limits<double>::infinity(), "number is not finite"},
        {-std::numeric_limits<double>::infinity(), "number is not finite"},
        {1e10, "number too large"},  // 1e19 nanos > INT64_MAX
        {-1e10, "number too large"},
        {9.3e9, "number too large"},
        {1e300, "number too large"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.units);
      auto r = nanos_from_double(c.units);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == c.message);
    }
  }
}

TEST_CASE("money - nanos_to_units") {
  CHECK(nanos_to_units(0) == 0.0);
  CHECK(nanos_to_units(1'500'000'000) == 1.5);
  CHECK(nanos_to_units(-2'250'000'000) == -2.25);
  CHECK(nanos_to_units(10'500'000) == Approx(0.0105));
  // Whole units stay exact far beyond 2^53 nanos.
  CHECK(nanos_to_units(9'000'000'000'000'000'000) == 9'000'000'000.0);
  CHECK(nanos_to_units(INT64_MAX) == Approx(9223372036.854775807));
}
