#include "aiusage/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>

#include "aiusage/build_info.hpp"
#include "aiusage/duration.hpp"
#include "aiusage/ingest.hpp"
#include "catalog_toml.hpp"
#include "config_file.hpp"
#include "metrics_toml.hpp"
#include "pricing_toml.hpp"
#include "toml_values.hpp"

namespace aiusage {

using namespace config_toml;

namespace {

// Collects what the files say before the price book is assembled.
struct Draft {
  std::function<std::string(const std::string&)> read_file;  // resolves `include` entries
  Config config;
  PriceDraft pricing;
};

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

void parse_ingest(const std::string& src, const toml::table& t, Config& c) {
  check_keys(src, t, "ingest", {"max_future", "max_age"});
  if (auto n = t.get("max_future"))
    c.window.max_future_ms = get_bound(src, *n, "ingest.max_future");
  if (auto n = t.get("max_age")) c.window.max_age_ms = get_bound(src, *n, "ingest.max_age");
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
  check_keys(src, t, "billing", {"currency", "timezone", "rates", "unknown_models"});
  if (auto n = t.get("unknown_models")) {
    const std::string v = get_string(src, *n, "billing.unknown_models");
    if (v != "store" && v != "reject")
      fail(src, *n, "billing.unknown_models: expected \"store\" or \"reject\", not \"" + v + "\"");
    d.config.reject_unknown_models = v == "reject";
  }
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
      d.pricing.rates[std::string(cur.str())] = rate;
    }
  }
}

// Alert thresholds: 1..16 fractions of the limit, ascending, each in (0, 10] with at most six
// decimals (read exactly, as money is), as parts per million.
Thresholds get_thresholds(const std::string& src, const toml::node& node, const std::string& path) {
  const std::string at = path + ".thresholds";
  auto arr = node.as_array();
  if (!arr || arr->empty() || arr->size() > kMaxThresholds)
    fail(src, node, at + ": expected an array of 1 to 16 fractions of the limit");
  Thresholds out;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string item = at + "[" + std::to_string(i) + "]";
    const std::int32_t ppm = get_ppm(src, (*arr)[i], item, false);
    if (!out.empty() && ppm <= out.back())
      fail(src, (*arr)[i], item + ": thresholds must be ascending and distinct");
    out.push_back(ppm);
  }
  return out;
}

void parse_quotas(const std::string& src, const toml::node& node, Config& c) {
  auto arr = node.as_array();
  if (!arr) fail(src, node, "quota: expected [[quota]] tables");
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string path = "quota[" + std::to_string(i) + "]";
    auto t = (*arr)[i].as_table();
    if (!t) fail(src, (*arr)[i], path + ": expected a table");
    check_keys(src, *t, path,
               {"scope", "subject", "tag", "window", "tokens", "cost", "thresholds"});
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
    else if (scope == "tag")
      rule.scope = Scope::tag;
    else
      fail(src, *scope_node,
           path + ".scope: expected \"user\", \"project\", \"global\" or \"tag\"");
    if (auto n = t->get("subject")) rule.subject = get_string(src, *n, path + ".subject");
    if (rule.subject.empty()) fail(src, *t, path + ".subject: must not be empty");
    if (auto n = t->get("tag")) {
      if (rule.scope != Scope::tag) fail(src, *n, path + ".tag: only for scope = \"tag\"");
      rule.tag = get_string(src, *n, path + ".tag");
      if (!valid_tag_key(rule.tag))
        fail(src, *n,
             path + ".tag: \"" + rule.tag + "\" is not a tag key (1 to " +
                 std::to_string(kMaxTagKeyBytes) + " of A-Z a-z 0-9 _)");
    } else if (rule.scope == Scope::tag) {
      fail(src, *t, path + ".tag: missing (the tag key, e.g. tag = \"feature\")");
    }
    if (rule.scope == Scope::global && rule.subject != "*")
      fail(src, *t, path + ".subject: a global quota has no subject");
    if (auto n = t->get("tokens")) rule.tokens = get_positive_int(src, *n, path + ".tokens");
    if (auto n = t->get("cost")) {
      rule.cost = get_money(src, *n, path + ".cost", INT64_MAX);
      if (*rule.cost == 0) fail(src, *n, path + ".cost: must be greater than 0");
    }
    if (!rule.tokens && !rule.cost) fail(src, *t, path + ": needs tokens, cost or both");
    if (auto n = t->get("window")) {
      auto w = parse_window(get_string(src, *n, path + ".window"));
      if (!w) fail(src, *n, path + ".window: expected \"day\", \"week\" or \"month\"");
      rule.window = *w;
    }
    if (auto n = t->get("thresholds")) rule.thresholds = get_thresholds(src, *n, path);
    for (const auto& other : c.quotas)
      if (other.scope == rule.scope && other.tag == rule.tag && other.subject == rule.subject &&
          other.window == rule.window)
        fail(src, *t,
             path + ": duplicate quota for " + scope + " " + rule.subject + " (window " +
                 to_string(rule.window) + ")");
    c.quotas.push_back(rule);
  }
}

// A configuration file's text (config_file.cpp); throws ConfigError with the reason alone.
std::string read_file(const std::string& path) {
  auto text = read_config_file(path);
  if (!text) throw ConfigError{text.error().message};
  return std::move(*text);
}

Config assemble(Draft& d) {
  d.config.prices = assemble_prices(d.pricing, d.config.currency);
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
               {"include", "server", "storage", "billing", "metrics", "ingest", "otlp", "auth",
                "pricing", "quota", "catalog"});
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
    if (auto t = section("otlp")) parse_otlp(source, *t, d.config);
    if (auto t = section("auth")) parse_auth(source, *t, d.config);
    // Catalogs first: the files' own [[pricing]] entries replace theirs.
    if (auto n = root.get("catalog")) parse_catalogs(source, *n, base_dir, d.read_file, d.pricing);
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
  if (auto n = root.get("pricing")) parse_prices(source, *n, d.config.currency, *cal, d.pricing);
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

std::vector<std::string> restart_required(const StaticConfig& a, const StaticConfig& b) {
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
      {a.labels.tags != b.labels.tags, "metrics.tag_labels"},
      {a.series_limits.max_series != b.series_limits.max_series, "metrics.max_series"},
      {a.series_limits.top_k != b.series_limits.top_k ||
           a.series_limits.tag_top_k != b.series_limits.tag_top_k,
       "metrics.top_k"},
  };
  std::vector<std::string> changed;
  for (const auto& [differs, name] : checks)
    if (differs) changed.emplace_back(name);
  // A member added to StaticConfig without a name above is still never reloaded silently.
  if (changed.empty() && !(a == b)) changed.emplace_back("a setting that needs a restart");
  return changed;
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
