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

bool SeriesGovernor::tag_shown(std::string_view key, std::string_view value) const {
  auto values = tag_values_.find(key);
  return value.empty() || !limits_.tag_top_k.contains(key) ||
         (values != tag_values_.end() && values->second.contains(value));
}

SeriesKey SeriesGovernor::fold_values(SeriesKeyView key) const {
  SeriesKey out = key.owned();
  for (std::size_t i = 0; i < 4; ++i)
    if (!value_shown(i, label_of(key, i))) label_of(out, i) = kOtherLabel;
  if (!limits_.tag_top_k.empty() && !key.tags.empty()) {
    out.tags = fold_tag_values(
        key.tags, [this](std::string_view k, std::string_view v) { return tag_shown(k, v); });
    // Every label and tag label "__other__": the all-"__other__" row, shown the same.
    bool all = out.provider == kOtherLabel && out.model == kOtherLabel &&
               out.project == kOtherLabel && out.user == kOtherLabel;
    for_each_tag(out.tags,
                 [&](std::string_view, std::string_view v) { all = all && v == kOtherLabel; });
    if (all) return all_other();
  }
  return out;
}

void SeriesGovernor::observe(SeriesKeyView key) {
  for (std::size_t i = 0; i < 4; ++i) {
    const std::string_view v = label_of(key, i);
    if (!value_shown(i, v) && values_[i].size() < *limits_.top_k[i]) values_[i].emplace(v);
  }
  if (!limits_.tag_top_k.empty())
    for_each_tag(key.tags, [this](std::string_view k, std::string_view v) {
      auto limit = limits_.tag_top_k.find(k);
      if (limit == limits_.tag_top_k.end() || tag_shown(k, v)) return;
      auto values = tag_values_.find(k);
      if (values == tag_values_.end()) values = tag_values_.emplace(std::string(k), Values{}).first;
      if (values->second.size() < limit->second) values->second.emplace(v);
    });
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
  bool tags_shown = true;
  if (!limits_.tag_top_k.empty())
    for_each_tag(key.tags, [&](std::string_view k, std::string_view v) {
      tags_shown = tags_shown && tag_shown(k, v);
    });
  return tags_shown && rows_.contains(key);
}

}  // namespace aiusage
