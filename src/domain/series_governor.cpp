#include "aiusage/series_governor.hpp"

namespace aiusage {

namespace {

// The labels of a key and of a view, in kSeriesLabels order.
constexpr std::string SeriesKey::*kKeyLabels[] = {&SeriesKey::provider, &SeriesKey::model,
                                                  &SeriesKey::project, &SeriesKey::user};
constexpr std::string_view SeriesKeyView::*kViewLabels[] = {
    &SeriesKeyView::provider, &SeriesKeyView::model, &SeriesKeyView::project, &SeriesKeyView::user};

std::string_view label_of(SeriesKeyView k, std::size_t i) { return k.*kViewLabels[i]; }
std::string& label_of(SeriesKey& k, std::size_t i) { return k.*kKeyLabels[i]; }

const SeriesKey& all_other() {
  static const SeriesKey k{std::string(kOtherLabel), std::string(kOtherLabel),
                           std::string(kOtherLabel), std::string(kOtherLabel)};
  return k;
}

}  // namespace

bool SeriesGovernor::value_shown(std::size_t label, std::string_view value) const {
  return !limits_.top_k[label] || value.empty() || values_[label].contains(value);
}

SeriesKey SeriesGovernor::fold_values(SeriesKeyView key) const {
  SeriesKey out = key.owned();
  for (std::size_t i = 0; i < 4; ++i)
    if (!value_shown(i, label_of(key, i))) label_of(out, i) = kOtherLabel;
  return out;
}

void SeriesGovernor::observe(SeriesKeyView key) {
  for (std::size_t i = 0; i < 4; ++i) {
    const std::string_view v = label_of(key, i);
    if (!value_shown(i, v) && values_[i].size() < *limits_.top_k[i]) values_[i].emplace(v);
  }
  // One row is kept for the all-"__other__" row, so at most max_series are shown.
  SeriesKey row = fold_values(key);
  if (row != all_other() && rows_.size() + 1 < limits_.max_series) rows_.insert(std::move(row));
}

SeriesKey SeriesGovernor::row_of(SeriesKeyView key) const {
  SeriesKey row = fold_values(key);
  if (rows_.contains(SeriesKeyView(row))) return row;
  return all_other();
}

bool SeriesGovernor::shown_apart(SeriesKeyView key) const {
  for (std::size_t i = 0; i < 4; ++i)
    if (!value_shown(i, label_of(key, i))) return false;
  return rows_.contains(key);
}

}  // namespace aiusage
