#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "aiusage/aggregate.hpp"
#include "raw_statement.hpp"
#include "schema.hpp"

namespace aiusage {

// The label values of every series by id, loaded from the series table as it grows.
struct SeriesNames {
  // The query load() reads, on the series table of `schema`.
  static std::string select(const std::string& schema) {
    return "SELECT id, provider, model, project_id, user_id, tags FROM " + schema +
           ".series WHERE id > ?";
  }
  // Loads the series added since the last call, through `st` (select()); inside a transaction.
  void load(RawStatement& st) {
    st.start({max_id});
    while (st.step()) {
      const std::int64_t id = st.i64(0);
      if (static_cast<std::size_t>(id) >= dims.size()) {
        dims.resize(static_cast<std::size_t>(id) + 1, {-1, -1, -1, -1});
        tags_of.resize(dims.size(), 0);
      }
      const auto at = static_cast<std::size_t>(id);
      for (int d = 0; d < kDims; ++d) dims[at][d] = intern(st.text(d + 1), names[d], index[d]);
      tags_of[at] = intern(st.text(kDims + 1), tag_names, tag_index);
      max_id = std::max(max_id, id);
    }
  }
  // The index of `value` in `n`, added when new.
  static int intern(std::string value, std::vector<std::string>& n,
                    std::unordered_map<std::string, int>& at) {
    auto [it, added] = at.try_emplace(value, static_cast<int>(n.size()));
    if (added) n.push_back(std::move(value));
    return it->second;
  }
  SeriesKey key_of(std::int64_t id) const {
    const auto& d = dims[static_cast<std::size_t>(id)];
    return {names[kProvider][d[kProvider]], names[kModel][d[kModel]], names[kProject][d[kProject]],
            names[kUser][d[kUser]], tag_names[tags_of[static_cast<std::size_t>(id)]]};
  }

  std::int64_t max_id = 0;
  std::vector<std::array<int, kDims>> dims;  // by series id: index into names, -1 for no series
  std::vector<std::string> names[kDims];
  std::unordered_map<std::string, int> index[kDims];
  // The series' tags (SeriesKey::tags), kept apart from the label dimensions the rollups sum by.
  std::vector<int> tags_of;  // by series id: index into tag_names
  std::vector<std::string> tag_names;
  std::unordered_map<std::string, int> tag_index;
};

}  // namespace aiusage
