#pragma once
// Sums of usage records, keyed by who/what made the calls.
#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aiusage/money.hpp"
#include "aiusage/record.hpp"
#include "aiusage/tags.hpp"

namespace aiusage {

struct SeriesKey {
  std::string provider;
  std::string model;
  std::string project;
  std::string user;
  std::string tags = {};  // the tag labels' values (series_tags())
  auto operator<=>(const SeriesKey&) const = default;
};

// Which identity labels the usage series keep; a dropped label is summed away.
struct LabelSet {
  bool project = true;
  bool user = true;
  bool model = true;
  std::vector<std::string> tags = {};  // [metrics] tag_labels: tag keys kept as labels, ascending
  bool operator==(const LabelSet&) const = default;
};

// A series key borrowed from a key or a record, for lookups that copy no strings.
struct SeriesKeyView {
  std::string_view provider, model, project, user, tags;
  SeriesKeyView(std::string_view p, std::string_view m, std::string_view pr, std::string_view u,
                std::string_view t = {})
      : provider(p), model(m), project(pr), user(u), tags(t) {}
  SeriesKeyView(const SeriesKey& k)
      : provider(k.provider), model(k.model), project(k.project), user(k.user), tags(k.tags) {}
  explicit SeriesKeyView(const UsageRecord& r)
      : provider(r.provider),
        model(r.model),
        project(r.project),
        user(r.user),
        tags(r.series_tags) {}
  bool operator==(const SeriesKeyView&) const = default;
  SeriesKey owned() const {
    return {std::string(provider), std::string(model), std::string(project), std::string(user),
            std::string(tags)};
  }
};

// Hash and equality over SeriesKey and SeriesKeyView alike (heterogeneous lookup).
struct SeriesKeyHash {
  using is_transparent = void;
  std::size_t operator()(const SeriesKeyView& k) const {
    std::hash<std::string_view> h;
    return (((h(k.provider) * 1'000'003 ^ h(k.model)) * 1'000'003 ^ h(k.project)) * 1'000'003 ^
            h(k.user)) *
               1'000'003 ^
           h(k.tags);
  }
};
struct SeriesKeyEq {
  using is_transparent = void;
  bool operator()(const SeriesKeyView& a, const SeriesKeyView& b) const { return a == b; }
};

struct UsageSums {
  std::int64_t calls = 0;
  std::int64_t cache_hits = 0;
  std::int64_t unpriced = 0;
  std::int64_t prompt_tokens = 0;  // billed (non-cached) records only, cache classes included
  std::int64_t completion_tokens = 0;
  std::int64_t cache_read_tokens = 0;
  std::int64_t cache_write_tokens = 0;
  std::int64_t cached_tokens = 0;  // tokens of records answered from the response cache
  Nanos cost = 0;
  TokenDetails details{};  // billed records only, parts of prompt or completion tokens

  void add(const UsageRecord& r) {
    ++calls;
    if (r.cached) {
      ++cache_hits;
      cached_tokens += r.total_tokens();
    } else {
      prompt_tokens += r.prompt_tokens;
      completion_tokens += r.completion_tokens;
      cache_read_tokens += r.cache_read_tokens;
      cache_write_tokens += r.cache_write_tokens;
      for (std::size_t d = 0; d < kTokenDetails; ++d) details[d] += r.details[d];
    }
    if (!r.priced) ++unpriced;
    cost += r.cost;
  }
  UsageSums& operator+=(const UsageSums& o) {
    calls += o.calls;
    cache_hits += o.cache_hits;
    unpriced += o.unpriced;
    prompt_tokens += o.prompt_tokens;
    completion_tokens += o.completion_tokens;
    cache_read_tokens += o.cache_read_tokens;
    cache_write_tokens += o.cache_write_tokens;
    cached_tokens += o.cached_tokens;
    cost += o.cost;
    for (std::size_t d = 0; d < kTokenDetails; ++d) details[d] += o.details[d];
    return *this;
  }
  bool operator==(const UsageSums&) const = default;
  std::int64_t tokens() const { return prompt_tokens + completion_tokens; }
  // The uncached text part of the prompt tokens.
  std::int64_t input_tokens() const {
    std::int64_t n = prompt_tokens - cache_read_tokens - cache_write_tokens;
    for (std::size_t d = 0; d < kTokenDetails; ++d)
      if (kTokenDetailInfo[d].of_prompt) n -= details[d];
    return n;
  }
  // The completion tokens outside the detail classes.
  std::int64_t output_tokens() const {
    std::int64_t n = completion_tokens;
    for (std::size_t d = 0; d < kTokenDetails; ++d)
      if (!kTokenDetailInfo[d].of_prompt) n -= details[d];
    return n;
  }
};

// All-time calls of one tool of one model; `unpriced` of them had no price when stored.
struct ToolCallTotal {
  std::string provider, model, tool;
  std::int64_t calls = 0, unpriced = 0;
  bool operator==(const ToolCallTotal&) const = default;
};

struct SeriesSums {
  SeriesKey key;
  UsageSums sums;
};

// All-time and one period's sums of every series, by series id; rows list the series in key
// order, naming each label value by index (provider, model, project, user, tags), so no key is
// copied.
struct SeriesTable {
  struct Row {
    std::array<std::uint32_t, 5> names;
    std::uint32_t id;  // the series id (BatchOutcome::series), index into total and period
  };
  std::array<std::vector<std::string>, 5> names;
  std::vector<UsageSums> total, period;
  std::vector<Row> rows;
  SeriesKeyView key(const Row& r) const {
    return {names[0][r.names[0]], names[1][r.names[1]], names[2][r.names[2]], names[3][r.names[3]],
            names[4][r.names[4]]};
  }
};

// Sums over the records matching a filter, by each label on its own.
struct Breakdown {
  UsageSums total;
  std::map<std::string, UsageSums> by_provider;
  std::map<std::string, UsageSums> by_model;
  std::map<std::string, UsageSums> by_project;
  std::map<std::string, UsageSums> by_user;
  // By the value of the filter's by_tag, when it names one ("": records without that tag).
  std::optional<std::map<std::string, UsageSums>> by_tag;
};

// Keeps the `limit` entries of largest cost (ties: more tokens, more calls, then name order) and
// sums the rest into one kOtherLabel entry, so the entries still add up to the same total.
void keep_largest(std::map<std::string, UsageSums>& by, std::size_t limit);

// Selects records; unset fields match everything, [start_ms, end_ms) by record timestamp.
struct UsageFilter {
  std::optional<std::string> user;
  std::optional<std::string> project;
  std::optional<std::string> provider;
  std::optional<std::string> model;
  std::optional<std::int64_t> start_ms;
  std::optional<std::int64_t> end_ms;
  Tags tags;  // every one must be on the record (ascending keys); breakdown() only
  std::optional<std::string> by_tag;  // breakdown() also sums by this tag's value
};

}  // namespace aiusage
