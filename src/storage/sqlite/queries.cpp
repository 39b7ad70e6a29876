#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <array>
#include <map>
#include <stdexcept>

#include "aiusage/sqlite_store.hpp"
#include "reader.hpp"

namespace aiusage {

std::vector<SeriesSums> SqliteStore::aggregate(const UsageFilter& f) const {
  if (!f.tags.empty() || f.by_tag) throw std::logic_error("aggregate() by tags");
  std::lock_guard lock(reader_mutex_);
  std::vector<UsageSums> acc = reader_->accumulate(f, nullptr);
  std::vector<SeriesSums> rows;
  for (std::size_t id = 0; id < acc.size(); ++id)
    if (acc[id].calls != 0)
      rows.push_back({reader_->key_of(static_cast<std::int64_t>(id)), acc[id]});
  std::sort(rows.begin(), rows.end(),
            [](const SeriesSums& a, const SeriesSums& b) { return a.key < b.key; });
  return rows;
}

Breakdown SqliteStore::breakdown(const UsageFilter& f) const {
  std::lock_guard lock(reader_mutex_);
  const Reader& r = *reader_;
  // Folds by name index first, so each name is looked up in a map once, not once per series.
  std::vector<UsageSums> by[kDims];
  Breakdown out;
  const bool tagged = !f.tags.empty() || f.by_tag;
  if (f.by_tag) out.by_tag.emplace();
  std::map<std::string, UsageSums>* by_value = out.by_tag ? &*out.by_tag : nullptr;
  std::vector<UsageSums> acc;
  if (tagged) {  // from the rollups when the series were kept by the tags, else from the records
    UsageFilter labels_only = f;
    labels_only.tags.clear();
    labels_only.by_tag.reset();
    acc = reader_->accumulate(labels_only, nullptr);
    if (!reader_->tagged_from_series(f, acc, by_value))
      acc = reader_->accumulate_tagged(f, by_value);
  } else {
    acc = reader_->accumulate(f, by);
  }
  for (int d = 0; d < kDims; ++d) by[d].resize(r.names[d].size());
  // Per-series sums may be signed corrections (zero calls, nonzero tokens): fold all of them.
  const UsageSums zero;
  for (std::size_t id = 0; id < acc.size(); ++id) {
    if (acc[id] == zero) continue;
    for (int d = 0; d < kDims; ++d) by[d][static_cast<std::size_t>(r.dims[id][d])] += acc[id];
  }
  for (const UsageSums& s : by[kProvider]) out.total += s;
  std::map<std::string, UsageSums>* maps[kDims] = {&out.by_provider, &out.by_model, &out.by_project,
                                                   &out.by_user};
  for (int d = 0; d < kDims; ++d)
    for (std::size_t i = 0; i < by[d].size(); ++i)
      if (by[d][i].calls != 0) maps[d]->emplace(r.names[d][i], by[d][i]);
  return out;
}

std::vector<SeriesSums> SqliteStore::series_totals() const {
  std::lock_guard lock(reader_mutex_);
  std::vector<UsageSums> acc = reader_->accumulate({}, nullptr);
  std::vector<SeriesSums> rows;
  rows.reserve(acc.size());
  for (std::size_t id = 0; id < acc.size(); ++id)
    if (acc[id].calls != 0)
      rows.push_back({reader_->key_of(static_cast<std::int64_t>(id)), acc[id]});
  return rows;
}

SeriesTable SqliteStore::series_table(const UsageFilter& period) const {
  std::lock_guard lock(reader_mutex_);
  const Reader& r = *reader_;
  SeriesTable out;
  {
    SQLite::Transaction tx(reader_->db);  // one snapshot for both
    out.total = reader_->accumulate_in({}, nullptr);
    out.period = reader_->accumulate_in(period, nullptr);
    tx.commit();
  }
  const std::size_t ids = std::max(out.total.size(), out.period.size());
  out.total.resize(ids);
  out.period.resize(ids);
  // Names sorted per label, rows then named by rank: comparing ranks orders rows as their keys.
  std::array<std::vector<std::uint32_t>, kDims + 1> rank;
  for (int d = 0; d <= kDims; ++d) {
    const std::vector<std::string>& names = d < kDims ? r.names[d] : r.tag_names;
    std::vector<std::uint32_t> order(names.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return names[a] < names[b]; });
    rank[d].resize(names.size());
    out.names[d].reserve(names.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) {
      rank[d][order[i]] = i;
      out.names[d].push_back(names[order[i]]);
    }
  }
  out.rows.reserve(ids);
  for (std::size_t id = 0; id < ids; ++id) {
    if (out.total[id].calls == 0 && out.period[id].calls == 0) continue;
    const auto& dims = r.dims[id];
    out.rows.push_back(
        {{rank[0][static_cast<std::size_t>(dims[0])], rank[1][static_cast<std::size_t>(dims[1])],
          rank[2][static_cast<std::size_t>(dims[2])], rank[3][static_cast<std::size_t>(dims[3])],
          rank[kDims][static_cast<std::size_t>(r.tags_of[id])]},
         static_cast<std::uint32_t>(id)});
  }
  std::sort(out.rows.begin(), out.rows.end(),
            [](const SeriesTable::Row& a, const SeriesTable::Row& b) { return a.names < b.names; });
  return out;
}

std::int64_t SqliteStore::record_count() const {
  std::lock_guard lock(reader_mutex_);
  return reader_->db.execAndGet("SELECT count(*) FROM ai_usage").getInt64();
}

std::vector<ToolCallTotal> SqliteStore::tool_call_totals() const {
  std::lock_guard lock(reader_mutex_);
  SQLite::Statement st(reader_->db,
                       "SELECT s.provider, s.model, t.tool, sum(t.calls), sum(CASE WHEN t.priced "
                       "THEN 0 ELSE t.calls END) FROM record_tools t JOIN ai_usage a ON a.seq = "
                       "t.seq JOIN series s ON s.id = a.series_id WHERE NOT a.cached GROUP BY 1, "
                       "2, 3");
  std::vector<ToolCallTotal> out;
  while (st.executeStep())
    out.push_back({st.getColumn(0).getString(), st.getColumn(1).getString(),
                   st.getColumn(2).getString(), st.getColumn(3).getInt64(),
                   st.getColumn(4).getInt64()});
  return out;
}

TagUsage SqliteStore::tag_usage(const std::string& key, const Period& period,
                                std::int64_t after_seq) const {
  std::lock_guard lock(reader_mutex_);
  SQLite::Database& db = reader_->db;
  SQLite::Transaction tx(db);  // the newest record and the sums of one snapshot
  TagUsage out;
  out.through_seq = db.execAndGet("SELECT coalesce(max(seq), 0) FROM ai_usage").getInt64();
  // By the tags' primary key (seq, key): only the records after `after_seq` are read.
  SQLite::Statement st(db,
                       "SELECT t.value, sum(CASE WHEN a.cached THEN 0 ELSE a.prompt_tokens + "
                       "a.completion_tokens END), sum(a.cost_nanos) FROM record_tags t CROSS JOIN "
                       "ai_usage a ON a.seq = t.seq WHERE t.seq > ? AND t.seq <= ? AND t.key = ? "
                       "AND a.timestamp_ms >= ? AND a.timestamp_ms < ? GROUP BY t.value");
  st.bind(1, static_cast<std::int64_t>(after_seq));
  st.bind(2, static_cast<std::int64_t>(out.through_seq));
  st.bind(3, key);
  st.bind(4, static_cast<std::int64_t>(period.start_ms));
  st.bind(5, static_cast<std::int64_t>(period.end_ms));
  while (st.executeStep())
    out.by_value[st.getColumn(0).getString()] = {st.getColumn(1).getInt64(),
                                                 st.getColumn(2).getInt64()};
  tx.commit();
  return out;
}

std::string SqliteStore::integrity_check() const {
  std::lock_guard lock(reader_mutex_);
  return reader_->db.execAndGet("PRAGMA integrity_check").getString();
}

}  // namespace aiusage
