#pragma once
// The query strings of the read API: decoded strictly, then turned into the service's questions.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "aiusage/auth.hpp"
#include "aiusage/service.hpp"

namespace aiusage {

using Query = std::map<std::string, std::string>;

// Decodes a raw query string (%XX, '+' for space); refuses parameters not in `allowed`, empty,
// repeated or not valid UTF-8 ones, naming the parameter.
Result<Query> parse_query(std::string_view raw, const std::set<std::string>& allowed);

// In an allowed set: every parameter tag.KEY is allowed.
inline constexpr const char* kTagParams = "tag.*";
// userId, projectId, provider, model, start, end, tag.KEY.
extern const std::set<std::string> kFilterParams;
// kFilterParams, limit and byTag.
extern const std::set<std::string> kStatisticsParams;
// userId, projectId or one tag.KEY (scope tag, subject "KEY=VALUE"), window, monthlyTokenLimit,
// monthlyCostLimit.
extern const std::set<std::string> kQuotaParams;

Result<UsageFilter> filter_from(const Query& q, const MonthCalendar& cal);

// How many entries of each statistics group are shown on their own (`limit`, 1 to 1,000,000).
inline constexpr std::size_t kDefaultGroupLimit = 1000;
inline constexpr std::size_t kMaxGroupLimit = 1'000'000;
Result<std::size_t> group_limit_from(const Query& q);

struct QuotaQuery {
  Scope scope = Scope::global;
  std::string subject;
  std::optional<QuotaLimits> overrides;  // replace the limits of the window asked for
  std::optional<Window> window;          // the month for a quota; the highest for an alert
};
Result<QuotaQuery> quota_query_from(const Query& q);

// A project-bound token reads its own project only. `narrow`: a filter without a project is
// narrowed to it; otherwise the request must name it (a quota is one subject's). The refusal
// (403) says why not.
enum class Binding { narrow, exact };
std::optional<std::string> bind_project(const Principal& who, std::optional<std::string>& project,
                                        Binding binding);

}  // namespace aiusage
