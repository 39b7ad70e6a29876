#pragma once
// The cardinality governor of the usage metrics: which label values and which series are shown
// on their own, and which are summed into "__other__". Decisions are made in first-seen order
// (the order in which the store numbered the series) and never change, so a restart that
// replays that order makes the same ones and no shown series ever decreases.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "aiusage/aggregate.hpp"

namespace aiusage {

// Label positions of SeriesKey: provider, model, project, user.
inline constexpr std::array<const char*, 4> kSeriesLabels = {"provider", "model", "project",
                                                             "user"};

// The largest max_series and top_k a configuration may set.
inline constexpr std::int64_t kMaxSeriesLimit = 10'000'000;

struct GovernorLimits {
  // Rows of each usage family, the "__other__" rows included (at least 1).
  std::size_t max_series = 5000;
  // At most this many values of a label (indexed as kSeriesLabels) are shown; the empty value
  // ("none") is always shown and not counted.
  std::array<std::optional<std::size_t>, 4> top_k;
  // The same for tag labels, by tag key (a series without the tag is always shown).
  std::map<std::string, std::size_t, std::less<>> tag_top_k;
  bool operator==(const GovernorLimits&) const = default;
};

class SeriesGovernor {
 public:
  explicit SeriesGovernor(GovernorLimits limits) : limits_(limits) {}

  // Decides for a series, in first-seen order: its label values not yet decided are shown while
  // their label has room, then its row is shown on its own while max_series - 1 rows are not
  // taken. Observing a series again changes nothing.
  void observe(SeriesKeyView key);
  // The row a series is shown in: the series itself, the series with some labels "__other__",
  // or, when its row was refused, the row whose every label is "__other__" (no tags: its tag
  // labels are shown as "__other__" too).
  SeriesKey row_of(SeriesKeyView key) const;
  // Whether row_of(key) is the series itself.
  bool shown_apart(SeriesKeyView key) const;
  const GovernorLimits& limits() const { return limits_; }
  // Rows shown apart from the all-"__other__" row (at most max_series - 1).
  std::size_t rows() const { return rows_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Values = std::unordered_set<std::string, Hash, std::equal_to<>>;
  bool value_shown(std::size_t label, std::string_view value) const;
  // Whether a tag label's (escaped) value is shown.
  bool tag_shown(std::string_view key, std::string_view value) const;
  // `key` with the values not shown replaced by "__other__".
  SeriesKey fold_values(SeriesKeyView key) const;

  GovernorLimits limits_;
  std::array<Values, 4> values_;  // the shown values of labels with a top_k
  std::map<std::string, Values, std::less<>> tag_values_;           // of tag labels with a top_k
  std::unordered_set<SeriesKey, SeriesKeyHash, SeriesKeyEq> rows_;  // the all-"__other__" row not
};

}  // namespace aiusage
