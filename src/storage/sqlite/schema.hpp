#pragma once
// The records file's schema and its migrations (PRAGMA user_version), and the rollup file's
// schema and position: what identifies the rollup file of a records file.
#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace aiusage {

// The sum columns of rollups and answers, in the order of UsageSums' fields; the detail classes
// (kTokenDetailInfo, "<name>_tokens") last. Stores of schema v6 and older had the first 9.
constexpr const char* kSumColumns =
    "calls, cache_hits, unpriced, prompt_tokens, completion_tokens, cache_read_tokens, "
    "cache_write_tokens, cached_tokens, cost_nanos, cache_write_1h_tokens, audio_input_tokens, "
    "image_input_tokens, reasoning_tokens, audio_output_tokens, image_output_tokens";
constexpr const char* kLegacySumColumns =
    "calls, cache_hits, unpriced, prompt_tokens, completion_tokens, cache_read_tokens, "
    "cache_write_tokens, cached_tokens, cost_nanos";
constexpr int kLegacySums = 9;
constexpr int kSums = 15;
constexpr const char* kSumNames[kSums] = {"calls",
                                          "cache_hits",
                                          "unpriced",
                                          "prompt_tokens",
                                          "completion_tokens",
                                          "cache_read_tokens",
                                          "cache_write_tokens",
                                          "cached_tokens",
                                          "cost_nanos",
                                          "cache_write_1h_tokens",
                                          "audio_input_tokens",
                                          "image_input_tokens",
                                          "reasoning_tokens",
                                          "audio_output_tokens",
                                          "image_output_tokens"};

// The sum columns of one record as select columns (see kSumNames), each summed when `summed`.
std::string record_columns(bool summed);

// Label columns of `series`, in the order of the `dim` numbers of usage_monthly_label.
enum Dim { kProvider, kModel, kProject, kUser, kDims };

// Creates or migrates the records file open in `db` (at `path`) to SqliteStore::kSchemaVersion;
// throws when it is newer. Migration v5 moves the rollups to `path + "-rollups"`.
void migrate(SQLite::Database& db, const std::string& path);

// The rollup file: derived from the records, so it is rebuilt (empty, then rolled up again) when
// its version, its store id or its position does not match the records file.
constexpr int kRollupVersion = 2;  // 2: the detail token classes

// Version 1 of the rollup file to 2 in place: the detail sum columns, 0 (no record had them).
void upgrade_rollups_v2(SQLite::Database& db);

// The rollup tables in schema `s`, dropped first when they exist.
std::string rollup_schema(const std::string& s);

void attach(SQLite::Database& db, const std::string& path, const char* as);

// What identifies a record: ids are unique within a project.
struct RecordKey {
  std::string project, id;
};

// Whether the rollup file in schema `s` names its last record's project (files of v5 stores do
// not).
bool rollup_names_project(SQLite::Database& db, const std::string& s);

// Up to which record the rollup file in schema `s` is complete, when it is the rollup file of the
// records file with `store_id` (its last rolled-up record, `last_key`, still there); else nullopt.
std::optional<std::int64_t> rollup_position(SQLite::Database& db, const std::string& s,
                                            const std::string& store_id,
                                            const std::function<RecordKey(std::int64_t)>& last_key);

}  // namespace aiusage
