#pragma once
#include <algorithm>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "aiusage/aggregate.hpp"
#include "aiusage/sqlite_store.hpp"

namespace aiusage {

// Committed records not yet rolled up, as roll_up() and reads need them: every record with seq in
// (base, top] is in `log`, in seq order. Past `limit` all are dropped (read back from the file).
struct SqliteStore::Recent {
  struct Record {
    std::int64_t seq, series, timestamp_ms;
    UsageSums sums;
  };

  explicit Recent(std::int64_t last_seq, std::size_t limit)
      : base(last_seq), top(last_seq), limit(limit) {}

  // After each commit that stored records, `last_seq` the last of them; one writer, commit order.
  void append(const std::vector<Record>& records, std::int64_t last_seq) {
    std::lock_guard lock(mutex);
    if (log.size() + records.size() > limit) {
      log.clear();
      base = last_seq;
    } else {
      log.insert(log.end(), records.begin(), records.end());
    }
    top = last_seq;
  }

  // After the records through `seq` were rolled up.
  void drop_through(std::int64_t seq) {
    std::lock_guard lock(mutex);
    while (!log.empty() && log.front().seq <= seq) log.pop_front();
    base = std::max(base, seq);
    top = std::max(top, base);
  }

  // Appends to `out` up to `max` kept records with seq in (after, upto], kChunk per hold of the
  // lock; returns the seq through which `out` now holds every record, `after` when the log does
  // not reach back to it.
  std::int64_t copy(std::int64_t after, std::int64_t upto, std::size_t max,
                    std::vector<Record>& out) {
    for (std::int64_t through = after;;) {
      std::lock_guard lock(mutex);
      if (base > through || max == 0) return through;
      auto it = std::upper_bound(log.begin(), log.end(), through,
                                 [](std::int64_t seq, const Record& r) { return seq < r.seq; });
      for (std::size_t n = std::min(max, kChunk); n > 0 && it != log.end() && it->seq <= upto;
           --n, --max, ++it)
        out.push_back(*it);
      if (it == log.end() || it->seq > upto) return std::max(through, std::min(upto, top));
      through = out.back().seq;
    }
  }

  // Records after this seq are kept (through top); those before it are read from the file.
  std::int64_t kept_after() {
    std::lock_guard lock(mutex);
    return base;
  }

  // Records copied per hold of the lock the writer appends under.
  static constexpr std::size_t kChunk = 4096;
  std::mutex mutex;
  std::deque<Record> log;
  std::int64_t base, top;
  const std::size_t limit;
};

}  // namespace aiusage
