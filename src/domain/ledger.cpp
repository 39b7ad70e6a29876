#include "aiusage/ledger.hpp"

#include <mutex>
#include <stdexcept>
#include <thread>

#include "aiusage/utf8.hpp"

namespace aiusage {

std::unique_lock<std::shared_mutex> Ledger::write_lock() {
  writers_waiting_.fetch_add(1, std::memory_order_acq_rel);
  std::unique_lock lock(mutex_);
  writers_waiting_.fetch_sub(1, std::memory_order_acq_rel);
  return lock;
}

SeriesKeyView Ledger::fold_view(SeriesKeyView key, std::string& scratch) const {
  if (!labels_.model) key.model = {};
  if (!labels_.project) key.project = {};
  if (!labels_.user) key.user = {};
  if (!has_just(key.tags, labels_.tags)) {
    scratch = for_keys(key.tags, labels_.tags);
    key.tags = scratch;
  }
  return key;
}

SeriesUsage& Ledger::slot(SeriesKeyView key, bool at_end) {
  std::string tags;
  key = fold_view(key, tags);
  if (auto it = series_index_.find(key); it != series_index_.end()) return it->second->second;
  SeriesKey owned = key.owned();
  SeriesMap& map = state_.series;
  auto at = at_end ? map.emplace_hint(map.end(), std::move(owned), SeriesUsage{})
                   : map.emplace(std::move(owned), SeriesUsage{}).first;
  series_index_.emplace(SeriesKeyView(at->first), at);
  return at->second;
}

namespace {

MonthUsage& subject(std::map<std::string, MonthUsage, std::less<>>& map, std::string_view name) {
  auto it = map.find(name);
  if (it == map.end()) it = map.emplace(std::string(name), MonthUsage{}).first;
  return it->second;
}

// Labels stored by versions that took invalid UTF-8 (a lone surrogate escape) are read as
// to_valid_utf8 makes them: series that then read the same are one series.
std::optional<SeriesTable> with_valid_labels(const SeriesTable& table) {
  std::optional<SeriesTable> out;
  for (std::size_t d = 0; d < table.names.size(); ++d)
    for (std::size_t i = 0; i < table.names[d].size(); ++i)
      if (!valid_utf8(table.names[d][i])) {
        if (!out) out = table;
        out->names[d][i] = to_valid_utf8(table.names[d][i]);
      }
  return out;
}

std::optional<SeriesKey> with_valid_labels(const SeriesKey& key) {
  std::optional<SeriesKey> out;
  for (auto label :
       {&SeriesKey::provider, &SeriesKey::model, &SeriesKey::project, &SeriesKey::user})
    if (!valid_utf8(key.*label)) {
      if (!out) out = key;
      (*out).*label = to_valid_utf8(key.*label);
    }
  return out;
}

}  // namespace

void Ledger::add_month(Slots& s, SeriesKeyView key, const UsageSums& sums) {
  if (s.month_gen != month_gen_) {
    WindowUsage& m = state_.window(Window::month);
    s.user = &subject(m.users, key.user);
    s.project = key.project.empty() ? nullptr : &subject(m.projects, key.project);
    s.month_gen = month_gen_;
  }
  const MonthUsage billed{sums.tokens(), sums.cost};
  s.sums->month += sums;
  *s.user += billed;
  if (s.project) *s.project += billed;
  state_.window(Window::month).global += billed;
}

namespace {

void add_subjects(WindowUsage& w, SeriesKeyView key, const MonthUsage& billed) {
  subject(w.users, key.user) += billed;
  if (!key.project.empty()) subject(w.projects, key.project) += billed;
  w.global += billed;
}

void note_id(SeriesUsage& u, std::int64_t id) {
  if (id > 0 && (u.first_id == 0 || id < u.first_id)) u.first_id = id;
}

bool holds(const Period& p, std::int64_t at_ms) { return at_ms >= p.start_ms && at_ms < p.end_ms; }

}  // namespace

void Ledger::add_short_windows(SeriesKeyView key, std::int64_t at_ms, const MonthUsage& billed) {
  for (Window w : {Window::day, Window::week})
    if (WindowUsage& u = state_.window(w); holds(u.period, at_ms)) add_subjects(u, key, billed);
}

void Ledger::reset_tools(const std::vector<ToolCallTotal>& totals) {
  auto lock = write_lock();
  state_.tools.clear();
  for (const ToolCallTotal& t : totals) {
    auto& [calls, unpriced] = state_.tools[{t.provider, t.model, t.tool}];
    calls += t.calls;
    unpriced += t.unpriced;
  }
}

void Ledger::clear_all_time() {
  slots_.clear();
  state_.series.clear();
  series_index_.clear();
  state_.unpriced.clear();
  state_.tools.clear();
  state_.records = 0;
}

void Ledger::clear_month(Period month) {
  ++month_gen_;
  for (auto& [key, sums] : state_.series) sums.month = {};
  state_.window(Window::month) = WindowUsage{month};
}

void Ledger::reset(const SeriesTable& stored, Period month) {
  const std::optional<SeriesTable> fixed = with_valid_labels(stored);
  const SeriesTable& table = fixed ? *fixed : stored;
  auto lock = write_lock();
  clear_all_time();
  clear_month(month);
  for (Window w : {Window::day, Window::week}) state_.window(w) = {};
  series_index_.reserve(table.rows.size());
  slots_.resize(table.total.size());
  for (const SeriesTable::Row& row : table.rows) {
    const UsageSums &total = table.total[row.id], &period = table.period[row.id];
    if (total.calls == 0 && period.calls == 0) continue;
    const SeriesKeyView key = table.key(row);
    Slots& s = slots_[row.id];
    s.sums = &slot(key, true);
    s.sums->total += total;
    note_id(*s.sums, row.id);
    if (period.calls != 0) add_month(s, key, period);
    if (total.unpriced > 0)
      state_.unpriced[{std::string(key.provider), std::string(key.model)}] += total.unpriced;
    state_.records += total.calls;
  }
}

void Ledger::reset_month(Period month, const std::vector<SeriesSums>& month_rows) {
  auto lock = write_lock();
  clear_month(month);
  for (const auto& row : month_rows) {
    const std::optional<SeriesKey> fixed = with_valid_labels(row.key);
    const SeriesKey& key = fixed ? *fixed : row.key;
    Slots s{&slot(key)};
    add_month(s, key, row.sums);
  }
}

void Ledger::reset_window(Window w, Period period, const std::vector<SeriesSums>& rows) {
  if (w == Window::month) throw std::logic_error("reset_window: the month has reset_month");
  auto lock = write_lock();
  WindowUsage& u = state_.window(w);
  u = WindowUsage{period};
  for (const auto& row : rows) {
    const std::optional<SeriesKey> fixed = with_valid_labels(row.key);
    const SeriesKey& key = fixed ? *fixed : row.key;
    add_subjects(u, key, MonthUsage{row.sums.tokens(), row.sums.cost});
  }
}

void Ledger::untrack(Window w) {
  if (w == Window::month) throw std::logic_error("untrack: the month is always tracked");
  auto lock = write_lock();
  state_.window(w) = {};
}

Period Ledger::period(Window w) const {
  std::shared_lock lock(mutex_);
  return state_.window(w).period;
}

void Ledger::apply(const std::vector<const UsageRecord*>& records,
                   std::span<const std::int64_t> series) {
  auto lock = write_lock();
  const Period month = state_.window(Window::month).period;
  const bool short_windows = state_.window(Window::day).period.end_ms != 0 ||
                             state_.window(Window::week).period.end_ms != 0;
  Slots scratch;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const UsageRecord& r = *records[i];
    const SeriesKeyView key(r);
    Slots* s = &scratch;
    if (i < series.size() && series[i] > 0) {
      const auto n = static_cast<std::size_t>(series[i]);
      if (n >= slots_.size()) slots_.resize(n + 1);
      s = &slots_[n];
    } else {
      scratch = {};
    }
    UsageSums one;
    one.add(r);
    if (s->sums == nullptr) {
      s->sums = &slot(key);
      if (i < series.size()) note_id(*s->sums, series[i]);
    }
    s->sums->total += one;
    if (!r.priced) ++state_.unpriced[{r.provider, r.model}];
    if (!r.cached)
      for (const ToolCall& t : r.tool_calls) {
        auto& [calls, unpriced] = state_.tools[{r.provider, r.model, t.name}];
        calls += t.calls;
        if (!t.priced) unpriced += t.calls;
      }
    ++state_.records;
    if (short_windows) add_short_windows(key, r.timestamp_ms, {one.tokens(), one.cost});
    if (!holds(month, r.timestamp_ms)) continue;
    add_month(*s, key, one);
  }
}

Period Ledger::month() const { return period(Window::month); }

MonthUsage Ledger::usage(Window w, Scope scope, const std::string& subject) const {
  std::shared_lock lock(mutex_);
  const WindowUsage& u = state_.window(w);
  auto find = [&](const std::map<std::string, MonthUsage, std::less<>>& m) {
    auto it = m.find(subject);
    return it == m.end() ? MonthUsage{} : it->second;
  };
  switch (scope) {
    case Scope::global:
      return u.global;
    case Scope::user:
      return find(u.users);
    case Scope::project:
      return find(u.projects);
    case Scope::tag:  // not kept here: UsageService reads tag usage from the store
      return {};
  }
  return {};
}

}  // namespace aiusage
