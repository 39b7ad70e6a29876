#pragma once
// Reading TOML values for the configuration: each error names file:line:col and the setting.
#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aiusage/auth.hpp"
#include "aiusage/calendar.hpp"
#include "aiusage/money.hpp"

namespace aiusage::config_toml {

// Why a configuration was refused, "file:line:col: setting: reason"; parse_config returns it.
struct ConfigError {
  std::string message;
};

// "file:line:col" of a node.
std::string where(const std::string& source, const toml::source_region& r);
[[noreturn]] void fail(const std::string& source, const toml::node& node, const std::string& what);
// Refuses a key of `table` that `allowed` does not name; `path` prefixes it in the error.
void check_keys(const std::string& source, const toml::table& table, const std::string& path,
                std::initializer_list<std::string_view> allowed);
void check_keys(const std::string& source, const toml::table& table, const std::string& path,
                const std::vector<std::string>& allowed);
std::string get_string(const std::string& source, const toml::node& node, const std::string& path);
// Money and prices: TOML integer, float, or a decimal string (exact); 0..max.
Nanos get_money(const std::string& source, const toml::node& node, const std::string& path,
                Nanos max);
std::int64_t get_positive_int(const std::string& source, const toml::node& node,
                              const std::string& path);
// 1..max.
std::int64_t get_bounded_int(const std::string& source, const toml::node& node,
                             const std::string& path, std::int64_t max);
// A TOML date, date-time or string, as milliseconds in `cal`'s zone.
std::int64_t get_date(const std::string& source, const toml::node& node, const std::string& path,
                      const MonthCalendar& cal);
// A duration string ("10s", "500ms"), in milliseconds.
std::int64_t get_duration(const std::string& source, const toml::node& node,
                          const std::string& path);
// A duration, or "none" for no bound.
std::optional<std::int64_t> get_bound(const std::string& src, const toml::node& node,
                                      const std::string& path);
Sha256 get_sha256(const std::string& src, const toml::node& node, const std::string& path);
// An array of tables ([[path]]).
const toml::array& get_tables(const std::string& src, const toml::node& node,
                              const std::string& path);
// An array of distinct strings: `not_array` when the node is no array (or is empty, unless
// `allow_empty`), `empty_item` for an empty string; a repeated string is named "listed twice".
std::vector<std::string> get_distinct_strings(const std::string& src, const toml::node& node,
                                              const std::string& path, bool allow_empty,
                                              const std::string& not_array,
                                              const std::string& empty_item);
// Parses TOML text; a syntax error becomes a ConfigError at its position.
toml::table parse_toml(std::string_view text, const std::string& source);

// A fraction in [0, 10] (0 only if `zero`) with at most six decimals, read exactly as money
// is, in parts per million.
std::int32_t get_ppm(const std::string& src, const toml::node& node, const std::string& path,
                     bool zero);

}  // namespace aiusage::config_toml
