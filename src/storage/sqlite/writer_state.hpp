#pragma once
// The writer connection's statements, its map of series ids (read by resolve_series() on any
// thread) and the all-time totals commit() checks StoreLimits against.
#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/container/flat_hash_map.h>

#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "aiusage/sqlite_store.hpp"
#include "recent.hpp"

namespace aiusage {

struct SqliteStore::Writer {
  explicit Writer(SQLite::Database& database)
      : db(database),
        insert(
            db,
            "INSERT INTO ai_usage (id, user_id, project_id, provider, model, prompt_tokens, "
            "completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, cost_nanos, "
            "priced, cached, timestamp_ms, received_ms, fingerprint, series_id, "
            "cache_write_1h_tokens, audio_input_tokens, image_input_tokens, reasoning_tokens, "
            "audio_output_tokens, image_output_tokens, service_tier) VALUES (?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, id) DO "
            "NOTHING"),
        insert_tool(db, "INSERT INTO record_tools (seq, tool, calls, priced) VALUES (?, ?, ?, ?)"),
        insert_tag(db, "INSERT INTO record_tags (seq, key, value) VALUES (?, ?, ?)"),
        lookup(db,
               "SELECT fingerprint, cost_nanos, priced FROM ai_usage WHERE project_id = ? AND "
               "id = ?"),
        new_series(db,
                   "INSERT INTO series (provider, model, project_id, user_id, tags) VALUES (?, ?, "
                   "?, ?, ?)"),
        begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        rollback(db, "ROLLBACK") {}

  // Runs a prepared statement without rows (BEGIN, COMMIT, ROLLBACK) again; throws as exec does.
  static void run(SQLite::Statement& st) {
    (void)st.tryReset();  // the previous run's error, if any, was thrown then
    st.exec();
  }

  // The strings are bound without a copy: `r` outlives the statement's execution.
  void insert_record(const UsageRecord& r, std::int64_t series) {
    insert.reset();
    insert.bindNoCopy(1, r.id);
    insert.bindNoCopy(2, r.user);
    insert.bindNoCopy(3, r.project);
    insert.bindNoCopy(4, r.provider);
    insert.bindNoCopy(5, r.model);
    insert.bind(6, static_cast<std::int64_t>(r.prompt_tokens));
    insert.bind(7, static_cast<std::int64_t>(r.completion_tokens));
    insert.bind(8, static_cast<std::int64_t>(r.total_tokens()));
    insert.bind(9, static_cast<std::int64_t>(r.cache_read_tokens));
    insert.bind(10, static_cast<std::int64_t>(r.cache_write_tokens));
    insert.bind(11, static_cast<std::int64_t>(r.cost));
    insert.bind(12, r.priced ? 1 : 0);
    insert.bind(13, r.cached ? 1 : 0);
    insert.bind(14, static_cast<std::int64_t>(r.timestamp_ms));
    insert.bind(15, static_cast<std::int64_t>(r.received_ms));
    insert.bindNoCopy(16, r.fingerprint);
    insert.bind(17, static_cast<std::int64_t>(series));
    for (std::size_t d = 0; d < kTokenDetails; ++d)
      insert.bind(18 + static_cast<int>(d), static_cast<std::int64_t>(r.details[d]));
    const std::string_view tier = to_string(r.service_tier);
    insert.bindNoCopy(24, tier.data());  // a NUL-terminated literal
    insert.exec();
  }

  // The tool calls of the record just inserted as `seq`.
  void insert_tools(const UsageRecord& r, std::int64_t seq) {
    for (const ToolCall& t : r.tool_calls) {
      insert_tool.reset();
      insert_tool.bind(1, static_cast<std::int64_t>(seq));
      insert_tool.bindNoCopy(2, t.name);
      insert_tool.bind(3, static_cast<std::int64_t>(t.calls));
      insert_tool.bind(4, t.priced ? 1 : 0);
      insert_tool.exec();
    }
  }

  // The tags of the record just inserted as `seq`.
  void insert_tags(const UsageRecord& r, std::int64_t seq) {
    for (const Tag& t : r.tags) {
      insert_tag.reset();
      insert_tag.bind(1, static_cast<std::int64_t>(seq));
      insert_tag.bindNoCopy(2, t.key);
      insert_tag.bindNoCopy(3, t.value);
      insert_tag.exec();
    }
  }

  // The series' id; a new series gets its row now and is listed in `added`.
  std::int64_t series_id(const SeriesKeyView& key, std::vector<const SeriesKey*>& added) {
    // Read without the lock: only this thread changes `ids`.
    if (auto it = ids.find(key); it != ids.end()) return it->second;
    if (auto it = new_ids.find(key); it != new_ids.end()) return it->second;
    SeriesKey owned = key.owned();
    new_series.reset();
    new_series.bind(1, owned.provider);
    new_series.bind(2, owned.model);
    new_series.bind(3, owned.project);
    new_series.bind(4, owned.user);
    new_series.bind(5, owned.tags);
    new_series.exec();
    const std::int64_t id = db.getLastInsertRowid();
    added.push_back(&new_ids.emplace(std::move(owned), id).first->first);
    return id;
  }

  // Adds a record the open transaction stored to its totals, unless that would take one past its
  // limit; a record that adds nothing always fits.
  BatchOutcome::Total admit(const UsageRecord& r, const StoreLimits& limits) {
    const std::int64_t tokens = r.total_tokens();
    if (tokens > 0 && tokens > limits.tokens - open.tokens) return BatchOutcome::Total::tokens;
    if (r.cost > 0 && r.cost > limits.cost - open.cost) return BatchOutcome::Total::cost;
    open.tokens += tokens;
    open.cost += r.cost;
    return BatchOutcome::Total::none;
  }

  // What one attempt at the transaction stored; forgotten when it is rolled back.
  struct Attempt {
    std::vector<const SeriesKey*> added;  // series it created
    std::vector<Recent::Record> fresh;    // records it stored, for the recent log
    std::size_t inserted = 0;
    std::int64_t last_seq = 0;
  };
  // Forgets the series `a` created (their rows were rolled back) and starts it over.
  void forget(Attempt& a);
  // Stores `records` in the open transaction; false when the batch must be left out (a conflict
  // or a total past `limits`, said in `out`) and the transaction rolled back.
  bool store_batch(std::vector<UsageRecord>& records, BatchOutcome& out, Attempt& a,
                   const StoreLimits& limits);
  // For a record the insert ignored: whether the stored record of its id has the same content
  // (its stored cost and priced flag are copied back); false for a conflict.
  bool same_as_stored(UsageRecord& r);

  // After COMMIT: the transaction's new series become visible to resolve_series().
  void publish() {
    if (new_ids.empty()) return;
    std::unique_lock lock(ids_mutex);
    for (const auto& [key, id] : new_ids) ids.emplace(key, id);
    new_ids.clear();
  }

  SQLite::Database& db;
  SQLite::Statement insert, insert_tool, insert_tag, lookup, new_series;
  SQLite::Statement begin, commit, rollback;  // prepared once: not parsed again per transaction
  // Open addressing: a lookup costs one or two cache misses, and resolve_series() prefetches them.
  using Ids = absl::flat_hash_map<SeriesKey, std::int64_t, SeriesKeyHash, SeriesKeyEq>;
  Ids ids;  // committed series; changed by the writer's thread under ids_mutex
  // Series created by the open transaction (node-based: `added` points into it).
  std::unordered_map<SeriesKey, std::int64_t, SeriesKeyHash, SeriesKeyEq> new_ids;
  mutable std::shared_mutex ids_mutex;
  bool ready = false;  // ids holds every series committed before; guarded by ids_mutex
  // All-time tokens and cost of what is committed (set with ready) and of the open transaction.
  struct Totals {
    std::int64_t tokens = 0;
    Nanos cost = 0;
  };
  Totals committed, open;
};

}  // namespace aiusage
