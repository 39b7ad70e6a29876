#include "toml_values.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "aiusage/duration.hpp"

namespace aiusage::config_toml {

std::string where(const std::string& source, const toml::source_region& r) {
  return source + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

[[noreturn]] void fail(const std::string& source, const toml::node& node, const std::string& what) {
  throw ConfigError{where(source, node.source()) + ": " + what};
}

namespace {

template <class List>
void check_keys_in(const std::string& source, const toml::table& table, const std::string& path,
                   const List& allowed) {
  for (const auto& [key, value] : table) {
    bool ok = false;
    for (auto a : allowed) ok |= key.str() == a;
    if (!ok)
      fail(source, value,
           "unknown key \"" + (path.empty() ? "" : path + ".") + std::string(key.str()) + "\"");
  }
}

// A TOML float as the decimal it was written as: the shortest fixed text that reads back as the
// same double (what the file said, for up to 15 significant digits), read exactly.
Result<Nanos> decimal_of_float(double v) {
  if (!std::isfinite(v)) return Error{"number is not finite"};
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) return Error{"number too large"};
  return parse_decimal_nanos(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

}  // namespace

void check_keys(const std::string& source, const toml::table& table, const std::string& path,
                std::initializer_list<std::string_view> allowed) {
  check_keys_in(source, table, path, allowed);
}
void check_keys(const std::string& source, const toml::table& table, const std::string& path,
                const std::vector<std::string>& allowed) {
  check_keys_in(source, table, path, allowed);
}

std::string get_string(const std::string& source, const toml::node& node, const std::string& path) {
  if (auto s = node.as_string()) return s->get();
  fail(source, node, path + ": expected a string");
}

Nanos get_money(const std::string& source, const toml::node& node, const std::string& path,
                Nanos max) {
  Result<Nanos> r = Error{"expected a number"};
  if (auto i = node.as_integer())
    r = nanos_from_double(static_cast<double>(i->get()));
  else if (auto f = node.as_floating_point())
    r = decimal_of_float(f->get());
  else if (auto s = node.as_string())
    r = parse_decimal_nanos(s->get());
  if (!r) fail(source, node, path + ": " + r.error().message);
  if (*r < 0) fail(source, node, path + ": must not be negative");
  if (*r > max) fail(source, node, path + ": must be at most " + format_nanos(max, 0));
  return *r;
}

std::int64_t get_positive_int(const std::string& source, const toml::node& node,
                              const std::string& path) {
  auto i = node.as_integer();
  if (!i) fail(source, node, path + ": expected an integer");
  if (i->get() <= 0) fail(source, node, path + ": must be greater than 0");
  return i->get();
}

std::int64_t get_date(const std::string& source, const toml::node& node, const std::string& path,
                      const MonthCalendar& cal) {
  std::string text;
  if (auto d = node.as_date()) {
    std::ostringstream os;
    os << d->get();
    text = os.str();
  } else if (auto dt = node.as_date_time()) {
    std::ostringstream os;
    os << dt->get();
    text = os.str();
  } else if (auto s = node.as_string()) {
    text = s->get();
  } else {
    fail(source, node, path + ": expected a date (YYYY-MM-DD) or an RFC 3339 time stamp");
  }
  auto r = cal.parse_time(text);
  if (!r) fail(source, node, path + ": " + r.error().message);
  return *r;
}

std::int64_t get_duration(const std::string& source, const toml::node& node,
                          const std::string& path) {
  auto r = parse_duration_ms(get_string(source, node, path));
  if (!r) fail(source, node, path + ": " + r.error().message);
  return *r;
}

std::int64_t get_bounded_int(const std::string& source, const toml::node& node,
                             const std::string& path, std::int64_t max) {
  std::int64_t v = get_positive_int(source, node, path);
  if (v > max) fail(source, node, path + ": must be at most " + std::to_string(max));
  return v;
}

std::optional<std::int64_t> get_bound(const std::string& src, const toml::node& node,
                                      const std::string& path) {
  if (auto s = node.as_string(); s && s->get() == "none") return std::nullopt;
  return get_duration(src, node, path);
}

Sha256 get_sha256(const std::string& src, const toml::node& node, const std::string& path) {
  auto r = parse_sha256_hex(get_string(src, node, path));
  if (!r) fail(src, node, path + ": " + r.error().message);
  return *r;
}

const toml::array& get_tables(const std::string& src, const toml::node& node,
                              const std::string& path) {
  auto arr = node.as_array();
  if (!arr || !arr->is_array_of_tables())
    fail(src, node, path + ": expected [[" + path + "]] tables");
  return *arr;
}

std::vector<std::string> get_distinct_strings(const std::string& src, const toml::node& node,
                                              const std::string& path, bool allow_empty,
                                              const std::string& not_array,
                                              const std::string& empty_item) {
  auto arr = node.as_array();
  if (!arr || (!allow_empty && arr->empty())) fail(src, node, path + ": " + not_array);
  std::vector<std::string> out;
  for (const auto& v : *arr) {
    std::string s = get_string(src, v, path);
    if (s.empty()) fail(src, v, path + ": " + empty_item);
    if (std::find(out.begin(), out.end(), s) != out.end())
      fail(src, v, path + ": \"" + s + "\" is listed twice");
    out.push_back(std::move(s));
  }
  return out;
}

toml::table parse_toml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError{where(source, e.source()) + ": " + std::string(e.description())};
  }
}

// A fraction in [0, 10] (0 only if `zero`) with at most six decimals, read exactly as money
// is, in parts per million.
std::int32_t get_ppm(const std::string& src, const toml::node& node, const std::string& path,
                     bool zero) {
  const Nanos v = get_money(src, node, path, 10 * kNanosPerUnit);
  if ((v == 0 && !zero) || v % 1000 != 0)
    fail(src, node,
         path + ": expected a fraction in " + (zero ? "[0" : "(0") +
             ", 10] with at most 6 decimals");
  return static_cast<std::int32_t>(v / 1000);
}

}  // namespace aiusage::config_toml
