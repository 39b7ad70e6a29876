#include "aiusage/config.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <functional>
#include <set>
#include <sstream>

#include "aiusage/build_info.hpp"
#include "aiusage/duration.hpp"
#include "aiusage/ingest.hpp"
#include "config_file.hpp"

namespace aiusage {

namespace {

struct ConfigError {
  std::string message;
};

// Collects what the files say before the price book is assembled.
struct Draft {
  std::function<std::string(const std::string&)> read_file;  // resolves `include` entries
  Config config;
  std::vector<Price> prices;
  std::vector<std::string> price_sources;  // "file:line:col" of each price, for later errors
  std::map<std::string, Nanos> rates;
};

std::string where(const std::string& source, const toml::source_region& r) {
  return source + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

[[noreturn]] void fail(const std::string& source, const toml::node& node, const std::string& what) {
  throw ConfigError{where(source, node.source()) + ": " + what};
}

void check_keys(const std::string& source, const toml::table& table, const std::string& path,
                std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : table) {
    bool ok = false;
    for (auto a : allowed) ok |= key.str() == a;
    if (!ok)
      fail(source, value,
           "unknown key \"" + (path.empty() ? "" : path + ".") + std::string(key.str()) + "\"");
  }
}

std::string get_string(const std::string& source, const toml::node& node, const std::string& path) {
  if (auto s = node.as_string()) return s->get();
  fail(source, node, path + ": expected a string");
}

// Money and prices: TOML integer, float, or a decimal string (exact).
Nanos get_money(const std::string& source, const toml::node& node, const std::string& path,
                Nanos max) {
  Result<Nanos> r = Error{"expected a number"};
  if (auto i = node.as_integer())
    r = nanos_from_double(static_cast<double>(i->get()));
  else if (auto f = node.as_floating_point())
    r = nanos_from_double(f->get());
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

void parse_server(const std::string& src, const toml::table& t, Config& c) {
  check_keys(src, t, "server",
             {"listen", "threads", "max_body_bytes", "body_timeout", "request_timeout",
              "max_header_bytes", "drain_timeout", "tls_certificate", "body_memory_budget"});
  if (auto n = t.get("listen")) c.listen = get_string(src, *n, "server.listen");
  if (auto n = t.get("threads"))
    c.http_threads = static_cast<int>(get_bounded_int(src, *n, "server.threads", 4096));
  if (auto n = t.get("max_body_bytes"))
    c.max_body_bytes =
        static_cast<std::size_t>(get_bounded_int(src, *n, "server.max_body_bytes", INT32_MAX));
  if (auto n = t.get("body_memory_budget"))
    c.body_memory_budget = static_cast<std::size_t>(
        get_bounded_int(src, *n, "server.body_memory_budget", std::int64_t{1} << 40));
  // One body of the largest size must fit in the budget on its own.
  if (c.body_memory_budget < ingest_memory_bound(c.max_body_bytes)) {
    const toml::node* at = t.get("body_memory_budget");
    fail(src, at != nullptr ? *at : *t.get("max_body_bytes"),
         "server.body_memory_budget: must be at least " +
             std::to_string(ingest_memory_bound(c.max_body_bytes)) +
             " (what one body of server.max_body_bytes may need)");
  }
  if (auto n = t.get("max_header_bytes"))
    c.max_header_bytes =
        static_cast<std::size_t>(get_bounded_int(src, *n, "server.max_header_bytes", 1 << 20));
  if (auto n = t.get("body_timeout"))
    c.body_timeout_ms = get_duration(src, *n, "server.body_timeout");
  if (auto n = t.get("request_timeout"))
    c.request_timeout_ms = get_duration(src, *n, "server.request_timeout");
  if (auto n = t.get("drain_timeout"))
    c.drain_timeout_ms = get_duration(src, *n, "server.drain_timeout");
  if (auto n = t.get("tls_certificate")) {
    c.tls_certificate = get_string(src, *n, "server.tls_certificate");
    if (c.tls_certificate.empty()) fail(src, *n, "server.tls_certificate: must not be empty");
  }
}

// A duration, or "none" for no bound.
std::optional<std::int64_t> get_bound(const std::string& src, const toml::node& node,
                                      const std::string& path) {
  if (auto s = node.as_string(); s && s->get() == "none") return std::nullopt;
  return get_duration(src, node, path);
}

void parse_ingest(const std::string& src, const toml::table& t, Config& c) {
  check_keys(src, t, "ingest", {"max_future", "max_age"});
  if (auto n = t.get("max_future"))
    c.window.max_future_ms = get_bound(src, *n, "ingest.max_future");
  if (auto n = t.get("max_age")) c.window.max_age_ms = get_bound(src, *n, "ingest.max_age");
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

void parse_auth(const std::string& src, const toml::table& t, Config& c) {
  check_keys(src, t, "auth", {"tokens", "metrics_users"});
  std::set<std::string> names;
  if (auto n = t.get("tokens")) {
    const toml::array& arr = get_tables(src, *n, "auth.tokens");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string path = "auth.tokens[" + std::to_string(i) + "]";
      const toml::table& tt = *arr[i].as_table();
      check_keys(src, tt, path, {"name", "sha256", "scopes", "project"});
      auto required = [&](const char* key) -> const toml::node& {
        if (auto k = tt.get(key)) return *k;
        fail(src, tt, path + "." + key + ": missing");
      };
      ApiToken token;
      token.name = get_string(src, required("name"), path + ".name");
      if (token.name.empty()) fail(src, tt, path + ".name: must not be empty");
      if (!names.insert(token.name).second)
        fail(src, tt, path + ".name: duplicate token name \"" + token.name + "\"");
      token.hash = get_sha256(src, required("sha256"), path + ".sha256");
      for (const ApiToken& other : c.auth.tokens)
        if (other.hash == token.hash)
          fail(src, tt, path + ".sha256: same token as \"" + other.name + "\"");
      const toml::node& scopes = required("scopes");
      auto list = scopes.as_array();
      if (!list || list->empty())
        fail(src, scopes, path + ".scopes: expected a non-empty array such as [\"ingest\"]");
      for (const auto& v : *list) {
        std::string s = get_string(src, v, path + ".scopes");
        Permission p;
        if (s == "ingest")
          p = Permission::ingest;
        else if (s == "read")
          p = Permission::read;
        else if (s == "metrics")
          p = Permission::metrics;
        else if (s == "admin")
          p = Permission::admin;
        else
          fail(src, v,
               path + ".scopes: unknown scope \"" + s +
                   "\" (expected ingest, read, metrics, admin)");
        token.scopes |= static_cast<unsigned>(p);
      }
      if (auto p = tt.get("project")) {
        token.project = get_string(src, *p, path + ".project");
        if (token.project->empty()) fail(src, *p, path + ".project: must not be empty");
      }
      c.auth.tokens.push_back(std::move(token));
    }
  }
  if (auto n = t.get("metrics_users")) {
    const toml::array& arr = get_tables(src, *n, "auth.metrics_users");
    std::set<std::string> users;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string path = "auth.metrics_users[" + std::to_string(i) + "]";
      const toml::table& ut = *arr[i].as_table();
      check_keys(src, ut, path, {"name", "password_sha256", "password_bcrypt"});
      MetricsUser user;
      auto name = ut.get("name");
      if (!name) fail(src, ut, path + ".name: missing");
      user.name = get_string(src, *name, path + ".name");
      if (user.name.empty() || user.name.find(':') != std::string::npos)
        fail(src, *name, path + ".name: must be non-empty and without ':'");
      if (!users.insert(user.name).second)
        fail(src, *name, path + ".name: duplicate user \"" + user.name + "\"");
      auto sha = ut.get("password_sha256");
      auto bcrypt = ut.get("password_bcrypt");
      if ((sha == nullptr) == (bcrypt == nullptr))
        fail(src, ut, path + ": needs exactly one of password_sha256 and password_bcrypt");
      if (sha) user.password_sha256 = get_sha256(src, *sha, path + ".password_sha256");
      if (bcrypt) {
        user.password_bcrypt = get_string(src, *bcrypt, path + ".password_bcrypt");
        const std::string& h = user.password_bcrypt;
        if (h.size() != 60 ||
            (h.rfind("$2a$", 0) != 0 && h.rfind("$2b$", 0) != 0 && h.rfind("$2y$", 0) != 0))
          fail(src, *bcrypt,
               path + ".password_bcrypt: expected a bcrypt hash ($2b$..., 60 characters)");
      }
      c.auth.metrics_users.push_back(std::move(user));
    }
  }
}

void parse_storage(const std::string& src, const toml::table& t, Config& c) {
  check_keys(src, t, "storage", {"path", "synchronous", "group_commit"});
  if (auto n = t.get("path")) c.storage_path = get_string(src, *n, "storage.path");
  if (auto n = t.get("synchronous")) {
    std::string mode = get_string(src, *n, "storage.synchronous");
    if (mode != "full" && mode != "normal")
      fail(src, *n, "storage.synchronous: expected \"full\" or \"normal\"");
    c.synchronous_full = mode == "full";
  }
  if (auto n = t.get("group_commit")) {
    auto b = n->as_boolean();
    if (!b) fail(src, *n, "storage.group_commit: expected true or false");
    c.group_commit = b->get();
  }
}

void parse_billing(const std::string& src, const toml::table& t, Draft& d) {
  check_keys(src, t, "billing", {"currency", "timezone", "rates"});
  if (auto n = t.get("currency")) d.config.currency = get_string(src, *n, "billing.currency");
  if (auto n = t.get("timezone")) {
    d.config.timezone = get_string(src, *n, "billing.timezone");
    if (!MonthCalendar::make(d.config.timezone))
      fail(src, *n, "billing.timezone: unknown time zone \"" + d.config.timezone + "\"");
  }
  if (auto n = t.get("rates")) {
    auto rates = n->as_table();
    if (!rates) fail(src, *n, "billing.rates: expected a table such as { CNY = 0.138 }");
    for (const auto& [cur, value] : *rates) {
      Nanos rate = get_money(src, value, "billing.rates." + std::string(cur.str()), kMaxRateNanos);
      if (rate == 0)
        fail(src, value, "billing.rates." + std::string(cur.str()) + ": must be greater than 0");
      d.rates[std::string(cur.str())] = rate;
    }
  }
}

void parse_metrics(const std::string& src, const toml::table& t, Config& c) {
  check_keys(src, t, "metrics", {"labels"});
  if (auto n = t.get("labels")) {
    auto arr = n->as_array();
    if (!arr) fail(src, *n, "metrics.labels: expected an array of label names");
    c.labels = {false, false, false};
    for (const auto& v : *arr) {
      std::string name = get_string(src, v, "metrics.labels");
      if (name == "project")
        c.labels.project = true;
      else if (name == "user")
        c.labels.user = true;
      else if (name == "model")
        c.labels.model = true;
      else if (name != "provider")
        fail(src, v,
             "metrics.labels: unknown label \"" + name +
                 "\" (expected provider, model, project, user)");
    }
  }
}

void parse_prices(const std::string& src, const toml::node& node, Draft& d,
                  const MonthCalendar& cal) {
  auto arr = node.as_array();
  if (!arr) fail(src, node, "pricing: expected [[pricing]] tables");
  std::set<std::tuple<std::string, std::string, std::int64_t>> seen;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string path = "pricing[" + std::to_string(i) + "]";
    auto t = (*arr)[i].as_table();
    if (!t) fail(src, (*arr)[i], path + ": expected a table");
    check_keys(src, *t, path,
               {"provider", "model", "currency", "input", "output", "cache_read", "cache_write",
                "effective_from"});
    Price p;
    auto required = [&](const char* key) -> const toml::node& {
      if (auto n = t->get(key)) return *n;
      fail(src, *t, path + "." + key + ": missing");
    };
    p.provider = get_string(src, required("provider"), path + ".provider");
    p.model = get_string(src, required("model"), path + ".model");
    if (p.provider.empty()) fail(src, *t, path + ".provider: must not be empty");
    if (p.model.empty()) fail(src, *t, path + ".model: must not be empty");
    p.currency = d.config.currency;
    if (auto n = t->get("currency")) p.currency = get_string(src, *n, path + ".currency");
    p.input = get_money(src, required("input"), path + ".input", kMaxPriceNanos);
    p.output = get_money(src, required("output"), path + ".output", kMaxPriceNanos);
    p.cache_read = p.cache_write = p.input;
    if (auto n = t->get("cache_read"))
      p.cache_read = get_money(src, *n, path + ".cache_read", kMaxPriceNanos);
    if (auto n = t->get("cache_write"))
      p.cache_write = get_money(src, *n, path + ".cache_write", kMaxPriceNanos);
    if (auto n = t->get("effective_from"))
      p.effective_from_ms = get_date(src, *n, path + ".effective_from", cal);
    if (!seen.insert({p.provider, p.model, p.effective_from_ms}).second)
      fail(src, *t, path + ": duplicate price for " + p.provider + "/" + p.model);
    // A later file (the including one) overrides an earlier price for the same model and date.
    bool replaced = false;
    for (std::size_t k = 0; k < d.prices.size(); ++k) {
      if (d.prices[k].provider == p.provider && d.prices[k].model == p.model &&
          d.prices[k].effective_from_ms == p.effective_from_ms) {
        d.prices[k] = p;
        d.price_sources[k] = where(src, t->source());
        replaced = true;
      }
    }
    if (!replaced) {
      d.prices.push_back(std::move(p));
      d.price_sources.push_back(where(src, t->source()));
    }
  }
}

void parse_quotas(const std::string& src, const toml::node& node, Config& c) {
  auto arr = node.as_array();
  if (!arr) fail(src, node, "quota: expected [[quota]] tables");
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string path = "quota[" + std::to_string(i) + "]";
    auto t = (*arr)[i].as_table();
    if (!t) fail(src, (*arr)[i], path + ": expected a table");
    check_keys(src, *t, path, {"scope", "subject", "tokens", "cost"});
    QuotaRule rule;
    auto scope_node = t->get("scope");
    if (!scope_node) fail(src, *t, path + ".scope: missing");
    std::string scope = get_string(src, *scope_node, path + ".scope");
    if (scope == "user")
      rule.scope = Scope::user;
    else if (scope == "project")
      rule.scope = Scope::project;
    else if (scope == "global")
      rule.scope = Scope::global;
    else
      fail(src, *scope_node, path + ".scope: expected \"user\", \"project\" or \"global\"");
    if (auto n = t->get("subject")) rule.subject = get_string(src, *n, path + ".subject");
    if (rule.subject.empty()) fail(src, *t, path + ".subject: must not be empty");
    if (rule.scope == Scope::global && rule.subject != "*")
      fail(src, *t, path + ".subject: a global quota has no subject");
    if (auto n = t->get("tokens")) rule.tokens = get_positive_int(src, *n, path + ".tokens");
    if (auto n = t->get("cost")) {
      rule.cost = get_money(src, *n, path + ".cost", INT64_MAX);
      if (*rule.cost == 0) fail(src, *n, path + ".cost: must be greater than 0");
    }
    if (!rule.tokens && !rule.cost) fail(src, *t, path + ": needs tokens, cost or both");
    for (const auto& other : c.quotas)
      if (other.scope == rule.scope && other.subject == rule.subject)
        fail(src, *t, path + ": duplicate quota for " + scope + " " + rule.subject);
    c.quotas.push_back(rule);
  }
}

toml::table parse_toml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError{where(source, e.source()) + ": " + std::string(e.description())};
  }
}

// A configuration file's text (config_file.cpp); throws ConfigError with the reason alone.
std::string read_file(const std::string& path) {
  auto text = read_config_file(path);
  if (!text) throw ConfigError{text.error().message};
  return std::move(*text);
}

Config assemble(Draft& d) {
  for (std::size_t k = 0; k < d.prices.size(); ++k) {
    const Price& p = d.prices[k];
    if (p.currency != d.config.currency && !d.rates.count(p.currency))
      throw ConfigError{d.price_sources[k] + ": pricing.currency: no exchange rate for " +
                        p.currency + " in billing.rates (billing currency is " + d.config.currency +
                        ")"};
  }
  d.config.prices = PriceBook(std::move(d.prices), d.config.currency, std::move(d.rates));
  return std::move(d.config);
}

void parse_into(std::string_view text, const std::string& source, const std::string& base_dir,
                Draft& d);

void parse_table(const toml::table& root, const std::string& source, const std::string& base_dir,
                 Draft& d, bool is_include) {
  if (is_include) {
    check_keys(source, root, "", {"pricing", "quota"});
  } else {
    check_keys(source, root, "",
               {"include", "server", "storage", "billing", "metrics", "ingest", "auth", "pricing",
                "quota"});
    auto section = [&](const char* name) -> const toml::table* {
      auto n = root.get(name);
      if (!n) return nullptr;
      if (auto t = n->as_table()) return t;
      fail(source, *n, std::string(name) + ": expected a table");
    };
    if (auto t = section("server")) parse_server(source, *t, d.config);
    if (auto t = section("storage")) parse_storage(source, *t, d.config);
    if (auto t = section("billing")) parse_billing(source, *t, d);
    if (auto t = section("metrics")) parse_metrics(source, *t, d.config);
    if (auto t = section("ingest")) parse_ingest(source, *t, d.config);
    if (auto t = section("auth")) parse_auth(source, *t, d.config);
    if (auto n = root.get("include")) {
      auto arr = n->as_array();
      if (!arr) fail(source, *n, "include: expected an array of file names");
      for (const auto& v : *arr) {
        std::filesystem::path p = get_string(source, v, "include");
        if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
        std::string text;
        try {
          text = d.read_file(p.string());
        } catch (const ConfigError& e) {
          fail(source, v, "include \"" + p.string() + "\": " + e.message);
        }
        toml::table inc = parse_toml(text, p.string());
        parse_table(inc, p.string(), p.parent_path().string(), d, true);
      }
    }
  }
  auto cal = MonthCalendar::make(d.config.timezone);
  if (auto n = root.get("pricing")) parse_prices(source, *n, d, *cal);
  if (auto n = root.get("quota")) parse_quotas(source, *n, d.config);
}

void parse_into(std::string_view text, const std::string& source, const std::string& base_dir,
                Draft& d) {
  toml::table root = parse_toml(text, source);
  parse_table(root, source, base_dir, d, false);
}

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& source,
                            const std::string& base_dir) {
  return parse_config(text, source, base_dir, read_file);
}

Result<Config> parse_config(std::string_view text, const std::string& source,
                            const std::string& base_dir,
                            const std::function<std::string(const std::string&)>& reader) {
  try {
    Draft d;
    d.read_file = [&reader](const std::string& path) {
      try {
        return reader(path);
      } catch (const ConfigError&) {
        throw;
      } catch (const std::exception& e) {
        throw ConfigError{e.what()};
      }
    };
    parse_into(text, source, base_dir, d);
    return assemble(d);
  } catch (const ConfigError& e) {
    return Error{e.message};
  }
}

Result<Config> load_config_file(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const ConfigError& e) {
    return Error{path + ": " + e.message};
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  return parse_config(text, path, dir.empty() ? "." : dir);
}

std::optional<std::string> restart_required(const Config& a, const Config& b) {
  const std::pair<bool, const char*> checks[] = {
      {a.listen != b.listen, "server.listen"},
      {a.http_threads != b.http_threads, "server.threads"},
      {a.max_body_bytes != b.max_body_bytes, "server.max_body_bytes"},
      {a.body_timeout_ms != b.body_timeout_ms, "server.body_timeout"},
      {a.request_timeout_ms != b.request_timeout_ms, "server.request_timeout"},
      {a.max_header_bytes != b.max_header_bytes, "server.max_header_bytes"},
      {a.body_memory_budget != b.body_memory_budget, "server.body_memory_budget"},
      {a.drain_timeout_ms != b.drain_timeout_ms, "server.drain_timeout"},
      {a.tls_certificate != b.tls_certificate, "server.tls_certificate"},
      {a.storage_path != b.storage_path, "storage.path"},
      {a.synchronous_full != b.synchronous_full, "storage.synchronous"},
      {a.group_commit != b.group_commit, "storage.group_commit"},
      {a.currency != b.currency, "billing.currency"},
      {a.timezone != b.timezone, "billing.timezone"},
      {a.labels.project != b.labels.project || a.labels.user != b.labels.user ||
           a.labels.model != b.labels.model,
       "metrics.labels"},
  };
  for (const auto& [differs, name] : checks)
    if (differs) return std::string(name);
  return std::nullopt;
}

Config default_config() {
  auto embedded = [](const std::string& path) -> std::string {
    if (path == "embedded/pricing.toml") return kDefaultPricingToml;
    throw ConfigError{"not embedded"};
  };
  auto r = parse_config(kDefaultConfigToml, "embedded/example.toml", "embedded", embedded);
  if (!r) throw std::logic_error("embedded configuration is invalid: " + r.error().message);
  return std::move(r.value());
}

}  // namespace aiusage
