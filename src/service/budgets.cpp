// The budgets of UsageService: the tracked day, week and month windows, quota reports and alerts.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "aiusage/service.hpp"
#include "aiusage/storage.hpp"
#include "aiusage/writer.hpp"
#include "service_detail.hpp"

namespace aiusage {

using service_detail::month_filter;
using service_detail::reading;

void UsageService::ensure_current_month() {
  Period now_month = calendar_.month_of(clock_());
  if (now_month == ledger_.month()) return;
  auto roll = [&](const UsageStore& store) {
    if (now_month != ledger_.month())
      ledger_.reset_month(now_month, store.aggregate(month_filter(now_month)));
  };
  if (GroupCommitWriter* writer = storage_->writer()) {
    writer->exclusive([&] { roll(*storage_->read()); });
    return;
  }
  // No writer: nothing commits meanwhile.
  if (Storage::Reading store = storage_->read()) roll(*store);
}

namespace {

bool window_used(const std::vector<QuotaRule>& rules, Window w) {
  return std::any_of(rules.begin(), rules.end(), [w](const QuotaRule& r) { return r.window == w; });
}

MonthUsage subject_usage(const std::vector<SeriesSums>& rows, Scope scope,
                         const std::string& subject) {
  MonthUsage u;
  for (const SeriesSums& row : rows)
    if (scope == Scope::global ||
        (scope == Scope::user ? row.key.user : row.key.project) == subject)
      u += {row.sums.tokens(), row.sums.cost};
  return u;
}

}  // namespace

void UsageService::ensure_current_windows() {
  ensure_current_month();
  const std::shared_ptr<const LiveConfig> live = current();
  for (Window w : {Window::day, Window::week}) {
    if (!window_used(live->quotas, w)) {
      if (ledger_.period(w).end_ms != 0) ledger_.untrack(w);
      continue;
    }
    const Period now = calendar_.window_of(w, clock_());
    if (ledger_.period(w) == now) continue;
    auto roll = [&](const UsageStore& store) {
      if (ledger_.period(w) != now)
        ledger_.reset_window(w, now, store.aggregate(month_filter(now)));
    };
    if (GroupCommitWriter* writer = storage_->writer())
      writer->exclusive([&] { roll(*storage_->read()); });
    else if (Storage::Reading store = storage_->read())
      roll(*store);
  }
}

void UsageService::with_tag_usage(
    Window w, const std::string& key, const Period& period,
    const std::function<void(const std::map<std::string, MonthUsage>&)>& fn) {
  std::lock_guard lock(tag_mutex_);
  TagWindow& t = tag_windows_[{w, key}];
  if (t.period != period) t = TagWindow{period, 0, {}};
  TagUsage added = reading(*storage_)->tag_usage(key, period, t.through_seq);
  for (const auto& [value, usage] : added.by_value) t.by_value[value] += usage;
  t.through_seq = added.through_seq;
  fn(t.by_value);
}

QuotaReport UsageService::quota(Scope scope, const std::string& subject,
                                const std::optional<QuotaLimits>& overrides, Window window) {
  ensure_current_windows();
  const std::shared_ptr<const LiveConfig> live = current();
  QuotaLimits limits = limits_for(live->quotas, scope, subject, window);
  if (overrides) {
    if (overrides->tokens) limits.tokens = overrides->tokens;
    if (overrides->cost) limits.cost = overrides->cost;
  }
  QuotaReport r;
  r.scope = scope;
  r.subject = scope == Scope::global ? "all" : subject;
  r.window = window;
  const std::int64_t now = clock_();
  r.period = calendar_.window_of(window, now);
  MonthUsage used;
  const auto tag = scope == Scope::tag ? split_tag_subject(subject) : std::nullopt;
  if (scope == Scope::tag) {
    if (tag)
      with_tag_usage(window, std::string(tag->first), r.period, [&](const auto& by_value) {
        if (auto it = by_value.find(std::string(tag->second)); it != by_value.end())
          used = it->second;
      });
  } else if (ledger_.period(window) == r.period) {
    used = ledger_.usage(window, scope, subject);
  } else {  // a window no quota uses: from the store
    used = subject_usage(reading(*storage_)->aggregate(month_filter(r.period)), scope, subject);
  }
  r.status = evaluate_quota(used, limits);
  // The estimator: the window's own rate so far (used / elapsed), carried to its end.
  r.forecast = forecast({used, used, r.period.start_ms, now, r.period}, limits);
  r.configured = std::any_of(live->quotas.begin(), live->quotas.end(), [&](const QuotaRule& q) {
    if (q.scope != scope || q.window != window) return false;
    if (scope == Scope::tag) return tag && q.tag == tag->first && q.subject == tag->second;
    return scope == Scope::global || q.subject == subject;
  });
  return r;
}

namespace {

// Orders alerts: level first, then the threshold reached.
bool higher(const Alert& a, const Alert& b) {
  if (a.level != b.level) return a.level > b.level;
  return a.threshold_ppm.value_or(0) > b.threshold_ppm.value_or(0);
}

}  // namespace

SubjectAlert UsageService::alert(Scope scope, const std::string& subject,
                                 const std::optional<QuotaLimits>& overrides,
                                 std::optional<Window> window) {
  SubjectAlert best;
  best.report = quota(scope, subject, overrides, window.value_or(Window::month));
  best.alert = alert_for(best.report.status, config_.currency);
  if (window) return best;
  for (Window w : {Window::week, Window::day}) {
    QuotaReport r = quota(scope, subject, overrides, w);
    if (!r.status.limits.tokens && !r.status.limits.cost) continue;
    Alert a = alert_for(r.status, config_.currency);
    if (higher(a, best.alert)) best = {std::move(r), std::move(a)};
  }
  return best;
}

std::vector<QuotaReport> UsageService::quota_reports() {
  ensure_current_windows();
  std::set<std::tuple<Window, Scope, std::string>> subjects;
  std::set<std::pair<Window, Scope>> wildcards;
  const std::shared_ptr<const LiveConfig> live = current();
  for (const QuotaRule& rule : live->quotas) {
    if (rule.scope == Scope::global) {
      subjects.insert({rule.window, Scope::global, ""});
    } else if (rule.scope == Scope::tag && rule.subject != "*") {
      subjects.insert({rule.window, Scope::tag, tag_subject(rule.tag, rule.subject)});
    } else if (rule.scope == Scope::tag) {  // every value seen in the window
      with_tag_usage(rule.window, rule.tag, calendar_.window_of(rule.window, clock_()),
                     [&](const auto& by_value) {
                       for (const auto& [value, usage] : by_value)
                         subjects.insert({rule.window, Scope::tag, tag_subject(rule.tag, value)});
                     });
    } else if (rule.subject != "*") {
      subjects.insert({rule.window, rule.scope, rule.subject});
    } else {
      wildcards.insert({rule.window, rule.scope});
    }
  }
  if (!wildcards.empty()) {
    ledger_.read([&](const LedgerState& st) {
      for (const auto& [window, scope] : wildcards) {
        const WindowUsage& u = st.window(window);
        for (const auto& [name, usage] : scope == Scope::user ? u.users : u.projects)
          subjects.insert({window, scope, name});
      }
    });
  }
  std::vector<QuotaReport> reports;
  for (const auto& [window, scope, subject] : subjects) {
    QuotaReport r = quota(scope, subject, std::nullopt, window);
    if (r.status.limits.tokens || r.status.limits.cost) reports.push_back(std::move(r));
  }
  return reports;
}

std::vector<SubjectAlert> UsageService::alerts(std::optional<Window> only) {
  std::map<std::pair<Scope, std::string>, SubjectAlert> best;
  for (QuotaReport& r : quota_reports()) {
    if (only && r.window != *only) continue;
    Alert a = alert_for(r.status, config_.currency);
    if (a.level == AlertLevel::none) continue;
    auto [it, fresh] = best.try_emplace({r.scope, r.subject});
    if (fresh || higher(a, it->second.alert)) it->second = {std::move(r), std::move(a)};
  }
  std::vector<SubjectAlert> out;
  for (auto& [key, a] : best) out.push_back(std::move(a));
  return out;
}

}  // namespace aiusage
