#include "handlers.hpp"
#include "query.hpp"
#include "responses.hpp"

namespace aiusage {

namespace {

// The filter of /api/v1/statistics and /api/v1/cache-hit-rate, or the answer refusing it.
Result<UsageFilter, Response> filter_of(HandlerContext& c, const Query& q, const Principal& who) {
  auto f = filter_from(q, c.service.calendar());
  if (!f) return json_error(400, f.error().message);
  if (auto refused = bind_project(who, f->project, Binding::narrow))
    return json_error(403, *refused);
  return *f;
}

struct QuotaAsk {
  QuotaQuery query;
  bool bare = false;  // no subject and no limits: every subject (of `window`, if given)
};

// The subject and limits of /api/v1/quota and /api/v1/alerts, or the answer refusing them.
Result<QuotaAsk, Response> quota_of(Exchange& ex, const Principal& who) {
  auto q = parse_query(ex.query(), kQuotaParams);
  if (!q) return json_error(400, q.error().message);
  auto qq = quota_query_from(*q);
  if (!qq) return json_error(400, qq.error().message);
  std::optional<std::string> project;
  if (qq->scope == Scope::project) project = qq->subject;
  if (auto refused = bind_project(who, project, Binding::exact)) return json_error(403, *refused);
  const bool bare =
      qq->scope == Scope::global && !q->count("userId") && !q->count("projectId") && !qq->overrides;
  return QuotaAsk{*qq, bare};
}

}  // namespace

// Each group keeps its `limit` largest entries; the rest are summed into "__other__".
Response statistics(HandlerContext& c, Exchange& ex, const Principal& who) {
  auto q = parse_query(ex.query(), kStatisticsParams);
  if (!q) return json_error(400, q.error().message);
  auto limit = group_limit_from(*q);
  if (!limit) return json_error(400, limit.error().message);
  auto f = filter_of(c, *q, who);
  if (!f) return f.error();
  Statistics s = c.service.statistics(*f);
  for (auto* by : {&s.by_provider, &s.by_model, &s.by_project, &s.by_user})
    keep_largest(*by, *limit);
  if (s.by_tag) keep_largest(*s.by_tag, *limit);
  return json_response(200, json::statistics(s, c.service.config().currency));
}

Response cache_hit_rate(HandlerContext& c, Exchange& ex, const Principal& who) {
  auto q = parse_query(ex.query(), kFilterParams);
  if (!q) return json_error(400, q.error().message);
  auto f = filter_of(c, *q, who);
  if (!f) return f.error();
  return json_response(200, json::cache_hit_rate(c.service.cache_hit_rate(*f)));
}

Response quota(HandlerContext& c, Exchange& ex, const Principal& who) {
  auto ask = quota_of(ex, who);
  if (!ask) return ask.error();
  const QuotaQuery& q = ask->query;
  return json_response(200, json::quota(c.service.quota(q.scope, q.subject, q.overrides,
                                                        q.window.value_or(Window::month)),
                                        c.service.calendar(), c.service.config().currency));
}

// Without parameters: every subject's alert; else the one subject's.
Response alerts(HandlerContext& c, Exchange& ex, const Principal& who) {
  auto ask = quota_of(ex, who);
  if (!ask) return ask.error();
  const QuotaQuery& q = ask->query;
  if (ask->bare)
    return json_response(200, json::alerts(c.service.alerts(q.window), c.service.calendar(),
                                           c.service.config().currency));
  return json_response(200,
                       json::alert(c.service.alert(q.scope, q.subject, q.overrides, q.window)));
}

}  // namespace aiusage
