#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>
#include <stdexcept>

#include "aiusage/store.hpp"
#include "reader.hpp"
#include "recent.hpp"
#include "writer_state.hpp"

namespace aiusage {

namespace {

// A total past its limit (or negative) reads as limit + 1: nothing more that adds to it fits.
std::int64_t clamp_total(Int128 v, bool negative, std::int64_t limit) {
  return negative || v > limit ? limit + 1 : static_cast<std::int64_t>(v);
}

}  // namespace

void Store::prepare_writer() {
  Writer& w = *writer_;
  if (w.ready) return;
  std::lock_guard lock(reader_mutex_);
  // Before any commit of this store: the last all-time read (the service's at startup) counted
  // everything committed unless a commit came since.
  if (reader_->all_time.through != committed_seq_.load()) (void)reader_->accumulate({}, nullptr);
  const WideTotals& all = reader_->all_time;
  w.committed = {clamp_total(all.tokens, all.negative, limits_.tokens),
                 clamp_total(all.cost, all.negative, limits_.cost)};
  SQLite::Transaction tx(reader_->db);
  reader_->refresh();
  tx.commit();
  Writer::Ids ids;
  ids.reserve(reader_->dims.size());
  for (std::size_t id = 1; id < reader_->dims.size(); ++id)
    if (reader_->dims[id][0] >= 0)
      ids.emplace(reader_->key_of(static_cast<std::int64_t>(id)), static_cast<std::int64_t>(id));
  std::unique_lock ids_lock(w.ids_mutex);
  w.ids.swap(ids);
  w.ready = true;
}

void Store::resolve_series(std::span<UsageRecord> records) const {
  const Writer& w = *writer_;
  // Short holds: the writer waits for the lock to publish new series.
  constexpr std::size_t kChunk = 64;
  for (std::size_t i = 0; i < records.size(); i += kChunk) {
    std::shared_lock lock(w.ids_mutex);
    if (!w.ready) return;
    const std::size_t end = std::min(records.size(), i + kChunk);
    // The chunk's slots are fetched together, not one cache miss after the other.
    for (std::size_t j = i; j < end; ++j) w.ids.prefetch(SeriesKeyView(records[j]));
    for (std::size_t j = i; j < end; ++j) {
      auto it = w.ids.find(SeriesKeyView(records[j]));
      records[j].series_id = it == w.ids.end() ? 0 : it->second;
    }
  }
}

Result<std::vector<BatchOutcome>> Store::commit(
    std::span<std::vector<UsageRecord>* const> batches) {
  SQLite::Database& db = *writer_db_;
  Writer& w = *writer_;
  std::vector<BatchOutcome> outcomes(batches.size());
  std::vector<const SeriesKey*> added;
  std::vector<Recent::Record> fresh;
  std::size_t inserted = 0;
  std::int64_t last_seq = 0;
  // Forgets the series created by the open transaction: their rows were rolled back.
  auto forget = [&] {
    for (const SeriesKey* key : added) w.new_ids.erase(*key);
    added.clear();
  };
  bool in_tx = false;
  try {
    prepare_writer();
    // No savepoint per batch (it copies every page the batch changes into a statement journal):
    // a conflicting batch rolls the transaction back and the rest are stored again without it.
    for (bool again = true; again;) {
      again = false;
      forget();
      fresh.clear();
      inserted = 0;
      last_seq = 0;
      w.open = w.committed;
      db.exec("BEGIN IMMEDIATE");
      in_tx = true;
      for (std::size_t b = 0; b < batches.size() && !again; ++b) {
        BatchOutcome& out = outcomes[b];
        if (out.refused()) continue;  // left out since an earlier attempt
        std::vector<UsageRecord>& records = *batches[b];
        out.duplicate.assign(records.size(), false);
        out.series.assign(records.size(), 0);
        for (std::size_t i = 0; i < records.size(); ++i) {
          UsageRecord& r = records[i];
          const std::int64_t series =
              r.series_id > 0 ? r.series_id : w.series_id(SeriesKeyView(r), added);
          w.insert_record(r, series);
          if (db.getChanges() == 1) {
            if (const auto over = w.admit(r, limits_); over != BatchOutcome::Total::none) {
              out.over_limit = over;
              out.over_limit_index = i;
              again = true;
              break;
            }
            out.series[i] = series;
            ++inserted;
            last_seq = db.getLastInsertRowid();
            fresh.push_back({last_seq, series, r.timestamp_ms, {}});
            fresh.back().sums.add(r);
            continue;
          }
          // The record of the same id in the same project: ids are keys within a project.
          w.lookup.reset();
          w.lookup.bindNoCopy(1, r.project);
          w.lookup.bindNoCopy(2, r.id);
          if (!w.lookup.executeStep())
            throw std::logic_error("insert ignored but id not found: " + r.id + " in project \"" +
                                   r.project + "\"");
          if (w.lookup.getColumn(0).getString() != r.fingerprint) {
            out.conflict = true;
            out.conflict_index = i;
            again = true;
            break;
          }
          out.duplicate[i] = true;
          r.cost = w.lookup.getColumn(1).getInt64();
          r.priced = w.lookup.getColumn(2).getInt() != 0;
        }
      }
      if (again) {
        db.exec("ROLLBACK");
        in_tx = false;
      }
    }
    db.exec("COMMIT");
    w.committed = w.open;
    w.publish();
    if (!fresh.empty()) recent_->append(fresh, last_seq);
    pending_ += inserted;
    if (last_seq > committed_seq_.load(std::memory_order_relaxed)) {
      committed_seq_.store(last_seq, std::memory_order_release);
      if (!full_sync_) synced_seq_.store(last_seq, std::memory_order_release);
    }
    return outcomes;
  } catch (const SQLite::Exception& e) {
    std::string message = e.what();
    forget();
    if (in_tx && sqlite3_get_autocommit(db.getHandle()) == 0) {
      try {
        db.exec("ROLLBACK");
      } catch (const SQLite::Exception&) {
      }
    }
    return Error{message};
  }
}

}  // namespace aiusage
