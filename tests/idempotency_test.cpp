// Record ids are idempotency keys within a project (issue 16 item 5): the same id in two projects
// is two records, a replay within one is a duplicate or 409, and a store of schema version 5 (ids
// unique across projects) is migrated in place.
#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/VariadicBind.h>
#include <rapidjson/document.h>

#include <array>
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "aiusage/calendar.hpp"
#include "aiusage/digest.hpp"
#include "aiusage/ingest.hpp"
#include "aiusage/range_plan.hpp"
#include "aiusage/sqlite_store.hpp"
#include "support/answers.hpp"
#include "support/http_client.hpp"
#include "support/live_server.hpp"
#include "support/temp_dir.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

// A record's project in JSON: absent (nullptr), null (kNull), or a name. Absent and null are the
// records without a project (an empty string is refused).
using Project = const char*;
const Project kNull = "null";

// Content A or B of one gpt-4o call (only the tokens differ), as JSON.
std::string record_json(const std::string& id, Project project, char content) {
  const std::string p = !project           ? ""
                        : project == kNull ? R"(,"projectId":null)"
                                           : R"(,"projectId":")" + std::string(project) + "\"";
  return R"({"id":")" + id + R"(","userId":"u")" + p +
         R"(,"provider":"openai","model":"gpt-4o","timestamp":"2026-11-15T11:00:00Z","usage":{"promptTokens":)" +
         (content == 'A' ? "1000" : "2000") + R"(,"completionTokens":100}})";
}
// 1000 × 2.50 + 100 × 10.00 and 2000 × 2.50 + 100 × 10.00 per 1M tokens, in nanos.
std::int64_t cost_of(char content) { return content == 'A' ? 3'500'000 : 6'000'000; }

// Tokens are "<name>-token": web and mobile bound to their project, gw unbound, dash reads all.
std::string tokens_toml() {
  std::string toml;
  auto token = [&](const std::string& name, const std::string& scopes, const char* project) {
    toml += "\n[[auth.tokens]]\nname = \"" + name + "\"\nsha256 = \"" +
            to_hex(sha256(name + "-token")) + "\"\nscopes = [" + scopes + "]\n" +
            (project ? "project = \"" + std::string(project) + "\"\n" : "");
  };
  token("web", R"("ingest", "read")", "web");
  token("mobile", R"("ingest", "read")", "mobile");
  token("gw", R"("ingest")", nullptr);
  token("dash", R"("read")", nullptr);
  return toml;
}

// The token that may write a record of `project`: its bound token, else the unbound one.
std::string writer_of(Project project) {
  if (project && std::string(project) == "web") return "web-token";
  if (project && std::string(project) == "mobile") return "mobile-token";
  return "gw-token";
}

struct Api {
  LiveServer& server;
  HttpResponse post(const std::string& body, const std::string& token) const {
    return http_request(
        server.port(), "POST", "/api/v1/usage", body,
        {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}});
  }
  HttpResponse get(const std::string& target, const std::string& token) const {
    return http_request(server.port(), "GET", target, "", {{"Authorization", "Bearer " + token}});
  }
  std::int64_t stored_calls() const {
    return parse(get("/api/v1/statistics", "dash-token").body)["totalCalls"].GetInt64();
  }
};

UsageRecord make_record(const std::string& id, const std::string& project, char content,
                        Nanos cost) {
  UsageRecord r;
  r.id = id;
  r.user = "u";
  r.project = project;
  r.provider = "openai";
  r.model = "gpt-4o";
  r.prompt_tokens = content == 'A' ? 1000 : 2000;
  r.completion_tokens = 100;
  r.timestamp_ms = r.received_ms = at("2026-11-15T11:00:00Z");
  r.cost = cost;
  r.priced = true;
  r.fingerprint = content_fingerprint(r, true);
  return r;
}

}  // namespace

TEST_CASE("idempotency - an id is a key within its project, over HTTP with project-bound tokens") {
  struct Rec {
    Project project;
    char content;
  };
  enum Outcome { two_records, duplicate, conflict };
  struct Case {
    Rec first, second;
    bool one_batch;  // both in one request (the unbound token), else one request each
    Outcome outcome;
  };
  const Case cases[] = {
      {{"web", 'A'}, {"web", 'A'}, false, duplicate},
      {{"web", 'A'}, {"web", 'B'}, false, conflict},
      {{"web", 'A'}, {"mobile", 'A'}, false, two_records},
      {{"web", 'A'}, {"mobile", 'B'}, false, two_records},
      {{"mobile", 'B'}, {"web", 'A'}, false, two_records},
      {{"web", 'A'}, {nullptr, 'A'}, false, two_records},
      {{nullptr, 'B'}, {"mobile", 'B'}, false, two_records},
      {{nullptr, 'A'}, {nullptr, 'A'}, false, duplicate},
      {{nullptr, 'A'}, {nullptr, 'B'}, false, conflict},
      {{nullptr, 'A'}, {kNull, 'A'}, false, duplicate},  // absent and null: the same scope
      {{kNull, 'A'}, {nullptr, 'B'}, false, conflict},
      {{"web", 'A'}, {"web", 'A'}, true, duplicate},
      {{"web", 'A'}, {"web", 'B'}, true, conflict},
      {{"web", 'A'}, {"mobile", 'A'}, true, two_records},
      {{"web", 'A'}, {"mobile", 'B'}, true, two_records},
      {{nullptr, 'A'}, {"web", 'A'}, true, two_records},
      {{"mobile", 'B'}, {kNull, 'B'}, true, two_records},
      {{nullptr, 'A'}, {kNull, 'A'}, true, duplicate},
      {{kNull, 'A'}, {nullptr, 'B'}, true, conflict},
  };
  for (const Case& c : cases) {
    auto name = [](Rec r) {
      return std::string(r.project ? r.project : "absent") + " " + r.content;
    };
    const std::string first = name(c.first), second = name(c.second);
    CAPTURE(first, second, c.one_batch, c.outcome);
    TempDir dir;
    FakeClock clock;
    clock.set(at("2026-11-15T12:00:00Z"));
    LiveServer server(live_config(dir.file("usage.db"), tokens_toml()), clock.clock());
    const Api api{server};
    const std::string a = record_json("req-42", c.first.project, c.first.content);
    const std::string b = record_json("req-42", c.second.project, c.second.content);
    HttpResponse last;
    if (c.one_batch) {
      last = api.post("[" + a + "," + b + "]", "gw-token");
    } else {
      REQUIRE(api.post(a, writer_of(c.first.project)).status == 200);
      last = api.post(b, writer_of(c.second.project));
    }
    if (c.outcome == conflict) {
      CHECK(last.status == 409);
      CHECK(last.body.find(R"("field":"id")") != std::string::npos);
      CHECK(api.stored_calls() == (c.one_batch ? 0 : 1));
      continue;
    }
    CHECK(last.status == 200);
    if (last.status != 200) continue;
    auto d = parse(last.body);
    const auto& records = d["records"];
    const rapidjson::SizeType at_second = c.one_batch ? 1 : 0;
    REQUIRE(records.Size() == at_second + 1);
    CHECK(records[at_second]["duplicate"].GetBool() == (c.outcome == duplicate));
    // A duplicate answers with the cost stored for its own project's record.
    CHECK(records[at_second]["costNanos"].GetInt64() == cost_of(c.second.content));
    CHECK(d["duplicates"].GetInt() == (c.outcome == duplicate ? 1 : 0));
    CHECK(api.stored_calls() == (c.outcome == two_records ? 2 : 1));
  }
}

TEST_CASE("idempotency - nothing a token bound to web sends changes what mobile's requests get") {
  // Mobile's requests and reads, answered once on a store web never wrote to and once with web
  // sending the same ids (same and other content, alone and in batches) before each of them.
  auto mobile_answers = [](bool web_active) {
    TempDir dir;
    FakeClock clock;
    clock.set(at("2026-11-15T12:00:00Z"));
    LiveServer server(live_config(dir.file("usage.db"), tokens_toml()), clock.clock());
    const Api api{server};
    const std::vector<std::string> web_sends = {
        record_json("req-42", "web", 'A'),
        record_json("req-42", "web", 'B'),
        "[" + record_json("req-43", "web", 'B') + "," + record_json("req-43", "web", 'B') + "]",
        "[" + record_json("req-44", "web", 'A') + "," + record_json("req-44", "web", 'B') + "]",
        record_json("req-45", "mobile", 'A'),  // refused: web writes its own project only
        record_json("req-45", nullptr, 'A'),
        "[" + record_json("req-46", "web", 'A') + "," + record_json("req-46", "mobile", 'A') + "]",
    };
    const std::vector<std::string> mobile_sends = {
        "[" + record_json("req-42", "mobile", 'A') + "," + record_json("req-43", "mobile", 'A') +
            "]",
        "[" + record_json("req-42", "mobile", 'A') + "," + record_json("req-43", "mobile", 'A') +
            "]",
        record_json("req-42", "mobile", 'B'),
        record_json("req-44", "mobile", 'B'),
        record_json("req-45", "mobile", 'A'),
        "[" + record_json("req-46", "mobile", 'B') + "," + record_json("req-46", "mobile", 'B') +
            "]",
    };
    std::vector<std::string> answers;
    auto note = [&](const HttpResponse& r) {
      answers.push_back(std::to_string(r.status) + " " + r.body);
    };
    for (const std::string& body : mobile_sends) {
      if (web_active)
        for (const std::string& w : web_sends) (void)api.post(w, "web-token");
      note(api.post(body, "mobile-token"));
      note(api.get("/api/v1/statistics?projectId=mobile", "mobile-token"));
      note(api.get("/api/v1/quota?projectId=mobile", "mobile-token"));
    }
    return answers;
  };
  const std::vector<std::string> alone = mobile_answers(false);
  const std::vector<std::string> beside_web = mobile_answers(true);
  REQUIRE(alone.size() == beside_web.size());
  for (std::size_t i = 0; i < alone.size(); ++i) {
    CAPTURE(i);
    CHECK(beside_web[i] == alone[i]);
  }
  // What mobile's requests get on their own: stored, duplicates, 409, stored, stored, one of two.
  CHECK(alone[0].starts_with(R"(200 {"accepted":2,"duplicates":0,)"));
  CHECK(alone[3].starts_with(R"(200 {"accepted":0,"duplicates":2,)"));
  CHECK(alone[6].starts_with("409 "));
  CHECK(alone[9].starts_with(R"(200 {"accepted":1,"duplicates":0,)"));
  CHECK(alone[12].starts_with(R"(200 {"accepted":1,"duplicates":0,)"));
  CHECK(alone[15].starts_with(R"(200 {"accepted":1,"duplicates":1,)"));
}

TEST_CASE("idempotency - batches of one transaction and separate commits, in the store") {
  // The writer commits several requests' batches in one transaction: the same id in two of them
  // is two records across projects, a duplicate or a conflict within one.
  enum Placement { one_batch, one_transaction, two_commits };
  enum Outcome { two_records, duplicate, conflict };
  struct Case {
    const char *first_project, *second_project;
    char first_content, second_content;
    Outcome outcome;
  };
  const Case cases[] = {
      {"web", "mobile", 'A', 'A', two_records}, {"web", "mobile", 'A', 'B', two_records},
      {"", "web", 'A', 'A', two_records},       {"mobile", "", 'B', 'A', two_records},
      {"web", "web", 'A', 'A', duplicate},      {"", "", 'B', 'B', duplicate},
      {"web", "web", 'A', 'B', conflict},       {"", "", 'A', 'B', conflict},
  };
  for (const Placement placement : {one_batch, one_transaction, two_commits})
    for (const Case& c : cases) {
      CAPTURE(placement, c.first_project, c.second_project, c.first_content, c.second_content);
      TempDir dir;
      SqliteStore store({dir.file("usage.db"), false});
      const UsageRecord first = make_record("req-42", c.first_project, c.first_content, 111);
      const UsageRecord second = make_record("req-42", c.second_project, c.second_content, 999);
      std::vector<UsageRecord> a{first}, b{second};
      std::vector<BatchOutcome> out;
      auto commit = [&](std::span<std::vector<UsageRecord>* const> batches) {
        auto r = store.commit(batches);
        REQUIRE(r.ok());
        out.insert(out.end(), r->begin(), r->end());
      };
      if (placement == one_batch) {
        a.push_back(second);
        std::vector<UsageRecord>* batches[] = {&a};
        commit(batches);
      } else if (placement == one_transaction) {
        std::vector<UsageRecord>* batches[] = {&a, &b};
        commit(batches);
      } else {
        std::vector<UsageRecord>* batches_a[] = {&a};
        std::vector<UsageRecord>* batches_b[] = {&b};
        commit(batches_a);
        commit(batches_b);
      }
      // The second record's outcome, and its answered cost.
      const BatchOutcome& o = out.back();
      const UsageRecord& answered = placement == one_batch ? a[1] : b[0];
      if (c.outcome == conflict) {
        CHECK(o.conflict);
        CHECK(store.record_count() == (placement == one_batch ? 0 : 1));
        continue;
      }
      REQUIRE_FALSE(o.conflict);
      CHECK(o.duplicate.back() == (c.outcome == duplicate));
      CHECK(answered.cost == (c.outcome == duplicate ? 111 : 999));
      CHECK(store.record_count() == (c.outcome == two_records ? 2 : 1));
    }
}

TEST_CASE("idempotency - a duplicate carries the cost stored for its own project's record") {
  TempDir dir;
  SqliteStore store({dir.file("usage.db"), false});
  auto commit = [&](UsageRecord r) {
    std::vector<UsageRecord> batch{std::move(r)};
    std::vector<UsageRecord>* batches[] = {&batch};
    auto o = store.commit(batches);
    REQUIRE(o.ok());
    return std::pair{(*o)[0], batch[0]};
  };
  for (auto [project, cost] : {std::pair{"web", 111}, {"mobile", 555}, {"", 777}}) {
    auto [o, r] = commit(make_record("req-42", project, 'A', cost));
    REQUIRE_FALSE(o.conflict);
    REQUIRE_FALSE(o.duplicate[0]);
  }
  for (auto [project, cost] : {std::pair{"mobile", 555}, {"web", 111}, {"", 777}}) {
    CAPTURE(project);
    auto [o, r] = commit(make_record("req-42", project, 'A', 999));
    CHECK_FALSE(o.conflict);
    CHECK(o.duplicate[0]);
    CHECK(r.cost == cost);
  }
  CHECK(store.record_count() == 3);
}

namespace {

// Schema version 5 as the previous binary created it: ids unique across projects. The records
// table of v1 plus v4's series_id, v2's series table without v3's sums, and v5's store_info.
constexpr const char* kSchemaV5 = R"SQL(
  CREATE TABLE ai_usage (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, user_id TEXT NOT NULL,
    project_id TEXT NOT NULL DEFAULT '', provider TEXT NOT NULL, model TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, total_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cost_nanos INTEGER NOT NULL, priced INTEGER NOT NULL, cached INTEGER NOT NULL DEFAULT 0,
    timestamp_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    series_id INTEGER);
  CREATE UNIQUE INDEX ai_usage_id_idx ON ai_usage(id);
  CREATE INDEX ai_usage_timestamp_idx ON ai_usage(timestamp_ms);
  CREATE TABLE series (id INTEGER PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL,
    project_id TEXT NOT NULL, user_id TEXT NOT NULL, UNIQUE (provider, model, project_id, user_id));
  CREATE TABLE store_info (id INTEGER PRIMARY KEY CHECK (id = 0), store_id TEXT NOT NULL);
  INSERT INTO store_info VALUES (0, 'old-store');
  PRAGMA user_version = 5;
)SQL";

// Version 1 of the rollup file, as the previous binary wrote it.
constexpr const char* kRollupsV1 = R"SQL(
  CREATE TABLE usage_hourly (hour_ms INTEGER NOT NULL, series_id INTEGER NOT NULL,
    calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
    PRIMARY KEY (hour_ms, series_id)) WITHOUT ROWID;
  CREATE TABLE usage_monthly (month_ms INTEGER NOT NULL, series_id INTEGER NOT NULL,
    calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL, unpriced INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
    PRIMARY KEY (month_ms, series_id)) WITHOUT ROWID;
  CREATE INDEX usage_monthly_series ON usage_monthly (series_id, month_ms);
  CREATE TABLE usage_monthly_label (month_ms INTEGER NOT NULL, dim INTEGER NOT NULL,
    value TEXT NOT NULL, calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL,
    unpriced INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
    PRIMARY KEY (month_ms, dim, value)) WITHOUT ROWID;
  CREATE TABLE rollup_state (id INTEGER PRIMARY KEY CHECK (id = 0), store_id TEXT NOT NULL,
    rolled_up_seq INTEGER NOT NULL, rolled_up_id TEXT NOT NULL);
  PRAGMA user_version = 1;
)SQL";

}  // namespace

TEST_CASE("idempotency - a version 5 store keeps every record and its rollups, ids per project") {
  TempDir dir;
  const std::string path = dir.file("usage.db");
  // Three records rolled up (one per project: web, mobile, none), a fourth not yet.
  struct Old {
    const char* id;
    const char* project;
    std::int64_t prompt, cost;
  };
  const Old old[] = {{"req-42", "web", 1000, 3'500'000},
                     {"req-43", "mobile", 2000, 6'000'000},
                     {"req-44", "", 1000, 3'500'000},
                     {"req-45", "web", 2000, 6'000'000}};
  const std::int64_t ts = at("2026-11-15T11:00:00Z");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(kSchemaV5);
    SQLite::Database r(path + "-rollups", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    r.exec(kRollupsV1);
    const std::map<std::string, int> series{{"web", 1}, {"mobile", 2}, {"", 3}};
    for (const auto& [project, id] : series) {
      SQLite::Statement s(db, "INSERT INTO series VALUES (?, 'openai', 'gpt-4o', ?, 'u')");
      SQLite::bind(s, id, project);
      s.exec();
    }
    std::map<std::tuple<int, std::string>, std::array<std::int64_t, 3>> labels;
    for (int seq = 1; seq <= 4; ++seq) {
      const Old& o = old[seq - 1];
      UsageRecord rec = make_record(o.id, o.project, o.prompt == 1000 ? 'A' : 'B', o.cost);
      SQLite::Statement ins(db,
                            "INSERT INTO ai_usage VALUES (?, ?, 'u', ?, 'openai', 'gpt-4o', ?, "
                            "100, ?, 0, 0, ?, 1, 0, ?, ?, ?, ?)");
      SQLite::bind(ins, seq, o.id, o.project, o.prompt, o.prompt + 100, o.cost, ts, ts,
                   rec.fingerprint, series.at(o.project));
      ins.exec();
      if (seq == 4) continue;  // not rolled up
      for (auto [table, bucket] : {std::pair{"usage_hourly", ts - ts % 3'600'000},
                                   std::pair{"usage_monthly", month_bucket(ts)}}) {
        SQLite::Statement up(
            r, std::string("INSERT INTO ") + table + " VALUES (?, ?, 1, 0, 0, ?, 100, 0, 0, 0, ?)");
        SQLite::bind(up, bucket, series.at(o.project), o.prompt, o.cost);
        up.exec();
      }
      for (auto [dim, value] :
           {std::pair<int, std::string>{0, "openai"}, {1, "gpt-4o"}, {2, o.project}, {3, "u"}}) {
        auto& sums = labels[{dim, value}];
        sums[0] += 1;
        sums[1] += o.prompt;
        sums[2] += o.cost;
      }
    }
    for (const auto& [key, sums] : labels) {
      SQLite::Statement l(r,
                          "INSERT INTO usage_monthly_label VALUES (?, ?, ?, ?, 0, 0, ?, ?, 0, 0, "
                          "0, ?)");
      SQLite::bind(l, month_bucket(ts), std::get<0>(key), std::get<1>(key), sums[0], sums[1],
                   100 * sums[0], sums[2]);
      l.exec();
    }
    r.exec("INSERT INTO rollup_state VALUES (0, 'old-store', 3, 'req-44')");
  }

  auto check_kept = [&](SqliteStore& store, std::int64_t records) {
    CHECK(store.record_count() == records);
    const Breakdown all = store.breakdown({});
    CHECK(all.total.calls == records);
    CHECK(all.by_project.at("web").cost >= 9'500'000);
    CHECK(all.by_project.at("mobile").cost >= 6'000'000);
    CHECK(all.by_project.at("").cost >= 3'500'000);
    CHECK(store.integrity_check() == "ok");
  };
  {
    SqliteStore store({path, false});
    // The rollup file still counts the first three: nothing is rebuilt.
    CHECK(store.pending_records() == 1);
    check_kept(store, 4);
    const Breakdown all = store.breakdown({});
    CHECK(all.by_project.at("web").cost == 9'500'000);
    CHECK(all.by_project.at("mobile").cost == 6'000'000);
    CHECK(all.by_project.at("").cost == 3'500'000);
    CHECK(all.total.prompt_tokens == 6000);

    // The new rule on the migrated rows: old ids are taken in their own project only.
    std::vector<UsageRecord> batch{make_record("req-42", "mobile", 'A', 1),  // new in mobile
                                   make_record("req-43", "mobile", 'B', 2),  // mobile's own
                                   make_record("req-44", "web", 'A', 3),     // new in web
                                   make_record("req-45", "", 'B', 4),        // new without one
                                   make_record("req-42", "web", 'A', 5)};    // web's own
    std::vector<UsageRecord>* batches[] = {&batch};
    auto out = store.commit(batches);
    REQUIRE(out.ok());
    REQUIRE_FALSE((*out)[0].conflict);
    CHECK((*out)[0].duplicate == std::vector<bool>{false, true, false, false, true});
    CHECK(batch[1].cost == 6'000'000);  // the stored cost, copied back
    CHECK(batch[4].cost == 3'500'000);
    std::vector<UsageRecord> other{make_record("req-44", "", 'B', 6)};  // none's own, changed
    std::vector<UsageRecord>* conflicting[] = {&other};
    CHECK((*store.commit(conflicting))[0].conflict);
    check_kept(store, 7);
    while (*store.roll_up(100) > 0) {
    }
    CHECK(store.pending_records() == 0);
  }
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("PRAGMA user_version").getInt() == SqliteStore::kSchemaVersion);
    // One unique index on the records besides the primary key: (project_id, id).
    SQLite::Statement idx(db, "SELECT name FROM pragma_index_list('ai_usage') WHERE \"unique\"");
    std::vector<std::string> unique;
    while (idx.executeStep()) unique.push_back(idx.getColumn(0).getString());
    REQUIRE(unique.size() == 1);
    SQLite::Statement cols(db, "SELECT name FROM pragma_index_info(?) ORDER BY seqno");
    cols.bind(1, unique[0]);
    std::vector<std::string> names;
    while (cols.executeStep()) names.push_back(cols.getColumn(0).getString());
    CHECK(names == std::vector<std::string>{"project_id", "id"});
    CHECK(db.execAndGet("SELECT count(*) FROM ai_usage WHERE id = 'req-42'").getInt() == 2);
    // The old rollup file, kept, now names its last record by project and id.
    SQLite::Database r(path + "-rollups", SQLite::OPEN_READONLY);
    SQLite::Statement st(r,
                         "SELECT rolled_up_seq, rolled_up_id, rolled_up_project FROM rollup_state");
    REQUIRE(st.executeStep());
    CHECK(st.getColumn(0).getInt64() == 7);
    CHECK(st.getColumn(1).getString() == "req-45");
    CHECK(st.getColumn(2).getString() == "");
  }
  // Reopened: migrated once, everything still there.
  SqliteStore store({path, false});
  check_kept(store, 7);
}

TEST_CASE("idempotency - the rollup file is matched to its last record by project and id") {
  TempDir dir;
  const std::string path = dir.file("usage.db");
  {
    SqliteStore store({path, false});
    std::vector<UsageRecord> batch{make_record("req-42", "web", 'A', 1),
                                   make_record("req-43", "web", 'A', 2),
                                   make_record("req-44", "web", 'B', 3)};
    std::vector<UsageRecord>* batches[] = {&batch};
    REQUIRE(store.commit(batches).ok());
    REQUIRE(*store.roll_up(100) == 3);
  }
  std::size_t pending = 0;
  SECTION("the same record: kept") {}
  SECTION("its id in another project (the records restored from another copy): rebuilt") {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE ai_usage SET project_id = 'mobile' WHERE seq = 3");
    pending = 3;
  }
  SqliteStore store({path, false});
  CHECK(store.pending_records() == pending);
}
