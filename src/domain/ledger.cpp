#include "aiusage/ledger.hpp"

#include <mutex>
#include <thread>

#include "aiusage/utf8.hpp"

namespace aiusage {

std::unique_lock<std::shared_mutex> Ledger::write_lock() {
  writers_waiting_.fetch_add(1, std::memory_order_acq_rel);
  std::unique_lock lock(mutex_);
  writers_waiting_.fetch_sub(1, std::memory_order_acq_rel);
  return lock;
}

SeriesKeyView Ledger::fold_view(SeriesKeyView key) const {
  if (!labels_.model) key.model = {};
  if (!labels_.project) key.project = {};
  if (!labels_.user) key.user = {};
  return key;
}

SeriesUsage& Ledger::slot(SeriesKeyView key, bool at_end) {
  key = fold_view(key);
  if (auto it = series_index_.find(key); it != series_index_.end()) return it->second->second;
  SeriesKey owned{std::string(key.provider), std::string(key.model), std::string(key.project),
                  std::string(key.user)};
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
    s.user = &subject(state_.month_users, key.user);
    s.project = key.project.empty() ? nullptr : &subject(state_.month_projects, key.project);
    s.month_gen = month_gen_;
  }
  const MonthUsage billed{sums.tokens(), sums.cost};
  s.sums->month += sums;
  *s.user += billed;
  if (s.project) *s.project += billed;
  state_.month_global += billed;
}

void Ledger::clear_all_time() {
  slots_.clear();
  state_.series.clear();
  series_index_.clear();
  state_.unpriced.clear();
  state_.records = 0;
}

void Ledger::clear_month(Period month) {
  state_.month = month;
  ++month_gen_;
  for (auto& [key, sums] : state_.series) sums.month = {};
  state_.month_users.clear();
  state_.month_projects.clear();
  state_.month_global = {};
}

void Ledger::reset(const SeriesTable& stored, Period month) {
  const std::optional<SeriesTable> fixed = with_valid_labels(stored);
  const SeriesTable& table = fixed ? *fixed : stored;
  auto lock = write_lock();
  clear_all_time();
  clear_month(month);
  series_index_.reserve(table.rows.size());
  slots_.resize(table.total.size());
  for (const SeriesTable::Row& row : table.rows) {
    const UsageSums &total = table.total[row.id], &period = table.period[row.id];
    if (total.calls == 0 && period.calls == 0) continue;
    const SeriesKeyView key = table.key(row);
    Slots& s = slots_[row.id];
    s.sums = &slot(key, true);
    s.sums->total += total;
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

void Ledger::apply(const std::vector<const UsageRecord*>& records,
                   std::span<const std::int64_t> series) {
  auto lock = write_lock();
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
    if (s->sums == nullptr) s->sums = &slot(key);
    s->sums->total += one;
    if (!r.priced) ++state_.unpriced[{r.provider, r.model}];
    ++state_.records;
    if (r.timestamp_ms < state_.month.start_ms || r.timestamp_ms >= state_.month.end_ms) continue;
    add_month(*s, key, one);
  }
}

Period Ledger::month() const {
  std::shared_lock lock(mutex_);
  return state_.month;
}

MonthUsage Ledger::month_usage(Scope scope, const std::string& subject) const {
  std::shared_lock lock(mutex_);
  switch (scope) {
    case Scope::global:
      return state_.month_global;
    case Scope::user: {
      auto it = state_.month_users.find(subject);
      return it == state_.month_users.end() ? MonthUsage{} : it->second;
    }
    case Scope::project: {
      auto it = state_.month_projects.find(subject);
      return it == state_.month_projects.end() ? MonthUsage{} : it->second;
    }
  }
  return {};
}

}  // namespace aiusage
