// The group-commit writer over a real SQLite file: checkpoint policy while a reader holds the WAL.
#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>

#include "aiusage/ledger.hpp"
#include "aiusage/sqlite_store.hpp"
#include "aiusage/writer.hpp"
#include "support/records.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using namespace aiusage::testing;

TEST_CASE("writer - a reader holding the WAL back does not make checkpoints spin") {
  TempDir dir;
  const std::string path = dir.file("usage.db");
  SqliteStore store({path, true});
  store.start_maintenance();  // its checkpoint policy, as in service
  Ledger ledger(LabelSet{});
  GroupCommitWriter writer(store, ledger, 4096);
  // An open read transaction: no checkpoint can copy frames committed after it.
  SQLite::Database reader(path, SQLite::OPEN_READONLY);
  reader.exec("BEGIN");
  CHECK(reader.execAndGet("SELECT count(*) FROM ai_usage").getInt64() == 0);
  int next = 0;
  auto submit = [&](int n) {
    std::vector<UsageRecord> batch;
    for (int i = 0; i < n; ++i, ++next)
      batch.push_back(make_record("w" + std::to_string(next * 7919 % 1000003), "u", "", "m",
                                  1000 + next, 10, 1));
    REQUIRE(writer.submit(batch).ok());
  };
  while (store.wal_frames() < SqliteStore::kCheckpointFrames) submit(500);
  // Past the threshold, 100 more commits add far fewer frames than a retry waits for.
  const int frames = store.wal_frames();
  for (int i = 0; i < 100; ++i) submit(1);
  CHECK(store.wal_frames() - frames < SqliteStore::kCheckpointRetryFrames);
  // One round of checkpoints at the threshold (the thread's rounds and the writer's finish), and
  // not one per commit.
  CHECK(store.checkpoints() <= SqliteStore::kCheckpointRounds + 2);
  reader.exec("COMMIT");
}
