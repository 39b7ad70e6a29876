#pragma once
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "aiusage/aggregate.hpp"
#include "schema.hpp"

namespace aiusage {

// Prepared statement read through the C API: SQLiteCpp's Column copies a shared_ptr per value,
// which dominates scans of 100k rollup rows.
class RawStatement {
 public:
  RawStatement(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st_, nullptr) !=
        SQLITE_OK)
      throw SQLite::Exception(db, sqlite3_errcode(db));
  }
  ~RawStatement() { sqlite3_finalize(st_); }
  RawStatement(const RawStatement&) = delete;
  RawStatement& operator=(const RawStatement&) = delete;

  // Rebinds the integer parameters 1..n and rewinds.
  void start(std::initializer_list<std::int64_t> params) {
    sqlite3_reset(st_);
    int i = 0;
    for (std::int64_t p : params) sqlite3_bind_int64(st_, ++i, p);
  }
  // Rewinds; then bind() sets parameter `i` (from 1) to an integer or a text (copied).
  void reset() { sqlite3_reset(st_); }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(st_, i, v); }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  // Releases the statement's read of the database without stepping to its end.
  void finish() { sqlite3_reset(st_); }
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw SQLite::Exception(sqlite3_db_handle(st_), rc);
  }
  std::int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    return std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st_, col)));
  }
  UsageSums sums(int first, std::int64_t sign = 1) const {
    UsageSums s;
    std::int64_t* f[] = {&s.calls,
                         &s.cache_hits,
                         &s.unpriced,
                         &s.prompt_tokens,
                         &s.completion_tokens,
                         &s.cache_read_tokens,
                         &s.cache_write_tokens,
                         &s.cached_tokens,
                         &s.cost,
                         &s.details[kCacheWrite1h],
                         &s.details[kAudioInput],
                         &s.details[kImageInput],
                         &s.details[kReasoning],
                         &s.details[kAudioOutput],
                         &s.details[kImageOutput]};
    static_assert(std::size(f) == kSums);
    for (int i = 0; i < kSums; ++i) *f[i] = sign * sqlite3_column_int64(st_, first + i);
    return s;
  }

 private:
  sqlite3_stmt* st_ = nullptr;
};

}  // namespace aiusage
