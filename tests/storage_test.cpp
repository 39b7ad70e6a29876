// The store opened read-only (what a restart on a full disk serves from): exact reads of what was
// committed, the WAL included, with no -shm index and nothing written to the disk.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "aiusage/calendar.hpp"
#include "aiusage/sqlite_store.hpp"
#include "support/answers.hpp"
#include "support/printers.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using namespace aiusage::testing;
namespace fs = std::filesystem;

namespace {

// Record `i` of four series, every 3 hours from 2026-10-20 (so across a month boundary).
UsageRecord record(int i) {
  UsageRecord r;
  r.id = "r" + std::to_string(i);
  r.user = "u" + std::to_string(i % 2);
  r.project = i % 3 ? "web" : "";
  r.provider = "openai";
  r.model = i % 4 ? "gpt-4o" : "gpt-4o-mini";
  r.prompt_tokens = 100 + i;
  r.completion_tokens = i % 50;
  r.cached = i % 7 == 0;
  r.timestamp_ms = at("2026-10-20T00:00:00Z") + i * 3 * 3'600'000LL;
  r.received_ms = r.timestamp_ms;
  r.cost = 1000 * i;
  r.priced = true;
  r.fingerprint = "fp-" + r.id;
  return r;
}

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

StoreOptions read_only(const std::string& path) {
  StoreOptions o{path};
  o.read_only = true;
  return o;
}

}  // namespace

TEST_CASE("store - read-only: exact reads from the records, the WAL included, writing nothing") {
  TempDir live, copy;
  const std::string path = live.file("usage.db");
  std::vector<UsageRecord> all;
  // Open while the files are copied: the copy is what a crash leaves, less the -shm index.
  SqliteStore store({path, false});
  for (int b = 0; b < 3; ++b) {
    std::vector<UsageRecord> batch;
    for (int i = 0; i < 100; ++i) batch.push_back(record(b * 100 + i));
    std::vector<UsageRecord>* batches[] = {&batch};
    REQUIRE(store.commit(batches).ok());
    all.insert(all.end(), batch.begin(), batch.end());
  }
  REQUIRE(*store.roll_up(120) == 120);  // the rest is pending: read from the records
  REQUIRE(store.wal_frames() > 0);      // not checkpointed: the records are in the WAL
  std::vector<std::string> files = {"usage.db", "usage.db-wal"};
  SECTION("with its rollup file") {
    files.push_back("usage.db-rollups");
    files.push_back("usage.db-rollups-wal");
  }
  SECTION("without a rollup file: every record counts from the records file") {}
  SECTION("with another store's rollup file: the same") {
    SqliteStore other({copy.file("other.db"), false});
    fs::copy_file(copy.file("other.db-rollups"), copy.file("usage.db-rollups"));
  }
  std::map<std::string, std::string> before;
  for (const std::string& f : files) {
    fs::copy_file(live.file(f), copy.file(f), fs::copy_options::overwrite_existing);
    before[f] = contents(copy.file(f));
  }
  if (fs::exists(copy.file("usage.db-rollups")))
    before["usage.db-rollups"] = contents(copy.file("usage.db-rollups"));
  REQUIRE_FALSE(fs::exists(copy.file("usage.db-shm")));
  {
    SqliteStore ro(read_only(copy.file("usage.db")));
    CHECK(ro.record_count() == 300);
    UsageSums want, november;
    UsageFilter nov;
    nov.start_ms = at("2026-11-01T00:00:00Z");
    nov.end_ms = at("2026-12-01T00:00:00Z");
    for (const UsageRecord& r : all) {
      want.add(r);
      if (r.timestamp_ms >= *nov.start_ms && r.timestamp_ms < *nov.end_ms) november.add(r);
    }
    CHECK(ro.breakdown({}).total == want);
    CHECK(ro.breakdown(nov).total == november);
    UsageSums series;
    for (const SeriesSums& s : ro.series_totals()) series += s.sums;
    CHECK(series == want);
    CHECK(ro.integrity_check() == "ok");
  }
  for (const auto& [f, bytes] : before) {
    INFO(f);
    CHECK(contents(copy.file(f)) == bytes);  // nothing written
  }
  CHECK(fs::file_size(copy.file("usage.db-shm")) == 0);  // only created empty, for readonly_shm
}

TEST_CASE("store - read-only: refused without a database of the current schema") {
  TempDir dir;
  CHECK_THROWS(SqliteStore(read_only(dir.file("missing.db"))));
  std::ofstream(dir.file("empty.db")).close();  // a first start that could not write the schema
  CHECK_THROWS_WITH(SqliteStore(read_only(dir.file("empty.db"))),
                    Catch::Contains("has schema version 0") && Catch::Contains("until migrated"));
}
