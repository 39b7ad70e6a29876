#include "query.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "aiusage/money.hpp"
#include "aiusage/utf8.hpp"

namespace aiusage {

namespace {

int hex_value(char c) {
  return std::isdigit(static_cast<unsigned char>(c))
             ? c - '0'
             : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

// Form decoding: "%XX" is the byte XX, '+' a space; a '%' without two hex digits stays as it is.
std::string decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::optional<std::string> get(const Query& q, const char* name) {
  auto it = q.find(name);
  if (it == q.end()) return std::nullopt;
  return it->second;
}

// The KEY of a parameter tag.KEY, or the refusal naming it.
Result<std::string_view> tag_key_of(const std::string& name) {
  const std::string_view key = std::string_view(name).substr(4);
  if (!valid_tag_key(key))
    return Error{"query parameter \"" + name + "\": not a tag key (tag.KEY, KEY 1 to " +
                 std::to_string(kMaxTagKeyBytes) + " of A-Z a-z 0-9 _)"};
  return key;
}

}  // namespace

const std::set<std::string> kFilterParams = {"userId", "projectId", "provider", "model",
                                             "start",  "end",       kTagParams};
const std::set<std::string> kStatisticsParams = {
    "userId", "projectId", "provider", "model", "start", "end", "limit", "byTag", kTagParams};
const std::set<std::string> kQuotaParams = {
    "userId", "projectId", "window", "monthlyTokenLimit", "monthlyCostLimit", kTagParams};

Result<Query> parse_query(std::string_view s, const std::set<std::string>& allowed) {
  Query q;
  while (!s.empty()) {
    std::size_t amp = s.find('&');
    std::string_view part = s.substr(0, amp);
    s = amp == std::string_view::npos ? std::string_view{} : s.substr(amp + 1);
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    std::string k = decode(part.substr(0, eq));
    std::string v = eq == std::string_view::npos ? std::string{} : decode(part.substr(eq + 1));
    if (!allowed.count(k) && !(k.starts_with("tag.") && allowed.count(kTagParams)))
      return Error{"unknown query parameter \"" + k + "\""};
    if (v.empty()) return Error{"query parameter \"" + k + "\" must not be empty"};
    if (!valid_utf8(v)) return Error{"query parameter \"" + k + "\" must be valid UTF-8"};
    if (!q.emplace(k, v).second) return Error{"query parameter \"" + k + "\" is repeated"};
  }
  return q;
}

Result<UsageFilter> filter_from(const Query& q, const MonthCalendar& cal) {
  UsageFilter f;
  f.user = get(q, "userId");
  f.project = get(q, "projectId");
  f.provider = get(q, "provider");
  f.model = get(q, "model");
  for (const char* name : {"start", "end"}) {
    if (auto v = get(q, name)) {
      auto t = cal.parse_time(*v);
      if (!t) return Error{"query parameter \"" + std::string(name) + "\": " + t.error().message};
      (std::string(name) == "start" ? f.start_ms : f.end_ms) = *t;
    }
  }
  if (f.start_ms && f.end_ms && *f.start_ms > *f.end_ms)
    return Error{"query parameter \"end\" must not be before \"start\""};
  for (const auto& [name, value] : q) {  // in name order, so the tags in key order
    if (!name.starts_with("tag.")) continue;
    auto key = tag_key_of(name);
    if (!key) return key.error();
    f.tags.push_back({std::string(*key), value});
  }
  if (auto by = get(q, "byTag")) {
    if (!valid_tag_key(*by))
      return Error{"query parameter \"byTag\": \"" + *by + "\" is not a tag key (1 to " +
                   std::to_string(kMaxTagKeyBytes) + " of A-Z a-z 0-9 _)"};
    f.by_tag = *by;
  }
  return f;
}

Result<std::size_t> group_limit_from(const Query& q) {
  auto v = get(q, "limit");
  if (!v) return kDefaultGroupLimit;
  std::size_t n = 0;
  bool digits = v->size() <= 7;
  for (char ch : *v) {
    digits = digits && ch >= '0' && ch <= '9';
    if (digits) n = n * 10 + static_cast<std::size_t>(ch - '0');
  }
  if (!digits || n < 1 || n > kMaxGroupLimit)
    return Error{"query parameter \"limit\" must be an integer from 1 to " +
                 std::to_string(kMaxGroupLimit)};
  return n;
}

Result<QuotaQuery> quota_query_from(const Query& q) {
  QuotaQuery out;
  auto user = get(q, "userId");
  auto project = get(q, "projectId");
  if (user && project) return Error{"give query parameter \"userId\" or \"projectId\", not both"};
  if (user) out.scope = Scope::user, out.subject = *user;
  if (project) out.scope = Scope::project, out.subject = *project;
  for (const auto& [name, value] : q) {
    if (!name.starts_with("tag.")) continue;
    if (user || project || out.scope == Scope::tag)
      return Error{"give one of query parameters \"userId\", \"projectId\" or one tag.KEY"};
    auto key = tag_key_of(name);
    if (!key) return key.error();
    out.scope = Scope::tag;
    out.subject = tag_subject(*key, value);
  }
  if (auto v = get(q, "window")) {
    auto w = parse_window(*v);
    if (!w) return Error{"query parameter \"window\" must be \"day\", \"week\" or \"month\""};
    out.window = *w;
  }
  QuotaLimits limits;
  if (auto v = get(q, "monthlyTokenLimit")) {
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || n <= 0)
      return Error{"query parameter \"monthlyTokenLimit\" must be a positive integer"};
    limits.tokens = n;
  }
  if (auto v = get(q, "monthlyCostLimit")) {
    auto n = parse_decimal_nanos(*v);
    if (!n || *n <= 0)
      return Error{"query parameter \"monthlyCostLimit\" must be a positive decimal number"};
    limits.cost = *n;
  }
  if (limits.tokens || limits.cost) out.overrides = limits;
  return out;
}

std::optional<std::string> bind_project(const Principal& who, std::optional<std::string>& project,
                                        Binding binding) {
  if (!who.project) return std::nullopt;
  const std::string refusal =
      "token \"" + who.name + "\" may only read project \"" + *who.project + "\"";
  if (binding == Binding::exact && project != who.project)
    return refusal + "; give projectId=" + *who.project;
  if (project && *project != *who.project) return refusal;
  project = who.project;
  return std::nullopt;
}

}  // namespace aiusage
