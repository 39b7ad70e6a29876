#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>
#include <stdexcept>

#include "aiusage/sqlite_store.hpp"
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

void SqliteStore::prepare_writer() {
  Writer& w = *writer_;
  std::lock_guard prepare(prepare_mutex_);  // the maintenance thread's, or the first commit's
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

void SqliteStore::resolve_series(std::span<UsageRecord> records) const {
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

void SqliteStore::Writer::forget(Attempt& a) {
  for (const SeriesKey* key : a.added) new_ids.erase(*key);
  a = {};
}

bool SqliteStore::Writer::same_as_stored(UsageRecord& r) {
  // The record of the same id in the same project: ids are keys within a project.
  lookup.reset();
  lookup.bindNoCopy(1, r.project);
  lookup.bindNoCopy(2, r.id);
  if (!lookup.executeStep())
    throw std::logic_error("insert ignored but id not found: " + r.id + " in project \"" +
                           r.project + "\"");
  if (lookup.getColumn(0).getString() != r.fingerprint) return false;
  r.cost = lookup.getColumn(1).getInt64();
  r.priced = lookup.getColumn(2).getInt() != 0;
  return true;
}

bool SqliteStore::Writer::store_batch(std::vector<UsageRecord>& records, BatchOutcome& out,
                                      Attempt& a, const StoreLimits& limits) {
  out.duplicate.assign(records.size(), false);
  out.series.assign(records.size(), 0);
  for (std::size_t i = 0; i < records.size(); ++i) {
    UsageRecord& r = records[i];
    const std::int64_t series =
        r.series_id > 0 ? r.series_id : series_id(SeriesKeyView(r), a.added);
    insert_record(r, series);
    if (db.getChanges() == 1) {
      if (const auto over = admit(r, limits); over != BatchOutcome::Total::none) {
        out.over_limit = over;
        out.over_limit_index = i;
        return false;
      }
      out.series[i] = series;
      ++a.inserted;
      a.last_seq = db.getLastInsertRowid();
      if (!r.tool_calls.empty()) insert_tools(r, a.last_seq);
      if (!r.tags.empty()) insert_tags(r, a.last_seq);
      a.fresh.push_back({a.last_seq, series, r.timestamp_ms, {}});
      a.fresh.back().sums.add(r);
    } else if (same_as_stored(r)) {
      out.duplicate[i] = true;
    } else {
      out.conflict = true;
      out.conflict_index = i;
      return false;
    }
  }
  return true;
}

Result<std::vector<BatchOutcome>> SqliteStore::commit(
    std::span<std::vector<UsageRecord>* const> batches) {
  SQLite::Database& db = *writer_db_;
  Writer& w = *writer_;
  std::vector<BatchOutcome> outcomes(batches.size());
  Writer::Attempt a;
  bool in_tx = false;
  try {
    prepare_writer();
    // No savepoint per batch (it copies every page the batch changes into a statement journal):
    // a conflicting batch rolls the transaction back and the rest are stored again without it.
    for (bool again = true; again;) {
      again = false;
      w.forget(a);
      w.open = w.committed;
      Writer::run(w.begin);
      in_tx = true;
      for (std::size_t b = 0; b < batches.size() && !again; ++b)
        if (!outcomes[b].refused())  // else left out since an earlier attempt
          again = !w.store_batch(*batches[b], outcomes[b], a, limits_);
      if (again) {
        Writer::run(w.rollback);
        in_tx = false;
      }
    }
    Writer::run(w.commit);
    w.committed = w.open;
    w.publish();
    if (!a.fresh.empty()) recent_->append(a.fresh, a.last_seq);
    pending_ += a.inserted;
    if (a.last_seq > committed_seq_.load(std::memory_order_relaxed)) {
      committed_seq_.store(a.last_seq, std::memory_order_release);
      if (!full_sync_) synced_seq_.store(a.last_seq, std::memory_order_release);
    }
    return outcomes;
  } catch (const SQLite::Exception& e) {
    std::string message = e.what();
    w.forget(a);
    if (in_tx && sqlite3_get_autocommit(db.getHandle()) == 0) {
      try {
        Writer::run(w.rollback);
      } catch (const SQLite::Exception&) {
      }
    }
    return Error{message};
  }
}

}  // namespace aiusage
