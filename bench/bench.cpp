// Benchmark harness: data generator, servers for wrk, and in-process measurements, each of which
// prints "name value" lines next to a baseline measured in the same run (bench/run.sh drives it).
#include <SQLiteCpp/SQLiteCpp.h>
#include <SQLiteCpp/VariadicBind.h>
#include <civetweb.h>
#include <fcntl.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aiusage/calendar.hpp"
#include "aiusage/config.hpp"
#include "aiusage/exposition.hpp"
#include "aiusage/http_server.hpp"
#include "aiusage/ingest.hpp"
#include "aiusage/ledger.hpp"
#include "aiusage/service.hpp"
#include "aiusage/sqlite_store.hpp"
#include "json_out.hpp"
#include "priced_models.hpp"
#include "support/http_client.hpp"

using namespace aiusage;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Median wall time of `reps` runs of fn, in milliseconds.
double median_ms(int reps, const std::function<void()>& fn) {
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    fn();
    times.push_back(ms_since(t0));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

void report(const char* name, double value) { std::printf("%s %.3f\n", name, value); }

// The synthetic population: 1000 users x 20 priced models x 5 projects = 100k series.
constexpr int kUsers = 1000, kModels = 20, kProjects = 5, kSeries = kUsers * kModels * kProjects;

std::vector<std::pair<std::string, std::string>> bench_models() {
  return bench::priced_models(default_config().prices, kModels);
}

struct Population {
  std::vector<std::pair<std::string, std::string>> models = bench_models();
  PriceBook prices = default_config().prices;

  // A record at `ts` of series `series` (mod 100k); the other fields come from `rng`.
  UsageRecord make(const std::string& id, std::int64_t ts, std::uint64_t series,
                   std::mt19937_64& rng) const {
    UsageRecord r;
    r.id = id;
    char user[16];
    std::snprintf(user, sizeof user, "user-%04d", static_cast<int>(series % kUsers));
    r.user = user;
    r.project = "project-" + std::to_string(series / kUsers % kProjects);
    const auto& m = models[series / kUsers / kProjects % kModels];
    r.provider = m.first;
    r.model = m.second;
    r.prompt_tokens = 200 + static_cast<std::int64_t>(rng() % 4000);
    r.completion_tokens = 50 + static_cast<std::int64_t>(rng() % 1000);
    r.cache_read_tokens = rng() % 4 == 0 ? r.prompt_tokens / 2 : 0;
    r.cached = rng() % 10 == 0;
    r.timestamp_ms = ts;
    r.received_ms = ts;
    CostQuote q = prices.quote(r.provider, r.model, ts, r.billed());
    r.cost = r.cached ? 0 : q.cost;
    r.priced = q.priced;
    r.fingerprint = content_fingerprint(r, true);
    return r;
  }
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// gen DB RECORDS: RECORDS records over the 365 days before now, through SqliteStore::commit and
// SqliteStore::roll_up.
int gen(const std::string& path, std::int64_t count) {
  Population pop;
  SqliteStore store({path, false});
  std::mt19937_64 rng(20261127);
  const std::int64_t end = now_ms(), span = 365LL * 24 * 3'600'000, start = end - span;
  constexpr std::size_t kBatch = 500'000;  // big transactions: few rollup updates per record
  std::vector<UsageRecord> batch;
  batch.reserve(kBatch);
  auto t0 = Clock::now();
  double commit_ms = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    // Time-ordered, so record, hourly and monthly inserts append instead of landing anywhere.
    // Every 100k consecutive records cover all 100k series once (7919 is prime to 100k).
    const std::uint64_t series = static_cast<std::uint64_t>(i) * 7919 % kSeries;
    batch.push_back(pop.make("gen-" + std::to_string(i), start + i * span / count, series, rng));
    if (batch.size() == kBatch || i + 1 == count) {
      std::vector<UsageRecord>* batches[] = {&batch};
      auto t1 = Clock::now();
      if (auto r = store.commit(batches); !r) throw std::runtime_error(r.error().message);
      if (auto r = store.roll_up(kBatch); !r) throw std::runtime_error(r.error().message);
      commit_ms += ms_since(t1);
      batch.clear();
    }
  }
  const double ms = ms_since(t0);
  report("gen_commit_seconds", commit_ms / 1000);
  report("gen_records", static_cast<double>(count));
  report("gen_seconds", ms / 1000);
  report("gen_records_per_s", static_cast<double>(count) / (ms / 1000));
  return 0;
}

void wait_for_signal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int sig = 0;
  sigwait(&signals, &sig);
}

void block_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

// The baseline server: reads the body, parses nothing, answers 200.
int bare_handler(mg_connection* conn, void*) {
  char buf[16384];
  while (mg_read(conn, buf, sizeof buf) > 0) {
  }
  static const char kBody[] = R"({"accepted":1})";
  mg_response_header_start(conn, 200);
  mg_response_header_add(conn, "Content-Type", "application/json", -1);
  mg_response_header_add(conn, "Content-Length", std::to_string(sizeof kBody - 1).c_str(), -1);
  mg_response_header_send(conn);
  mg_write(conn, kBody, sizeof kBody - 1);
  return 200;
}

// The same, answering in one write as the service does (CivetWeb's header functions send every
// header line on its own): shows what the service's one-write answers gain by themselves.
int bare_one_write_handler(mg_connection* conn, void*) {
  char buf[16384];
  while (mg_read(conn, buf, sizeof buf) > 0) {
  }
  static const char kResponse[] =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\nConnection: "
      "keep-alive\r\n\r\n{\"accepted\":1}";
  mg_write(conn, kResponse, sizeof kResponse - 1);
  return 200;
}

// serve bare|bare1|service PORT THREADS [DB GROUP_COMMIT]: serves until SIGTERM (bare1: the bare
// handler answering in one write).
int serve(const std::vector<std::string>& a) {
  block_signals();
  const std::string listen = "127.0.0.1:" + a.at(1);
  const int threads = std::stoi(a.at(2));
  if (a[0] == "bare" || a[0] == "bare1") {
    mg_init_library(0);
    const std::string t = std::to_string(threads);
    // The same CivetWeb settings as the service's transport (src/http/civet/civet_transport.cpp).
    const char* opts[] = {"listening_ports",
                          listen.c_str(),  //
                          "num_threads",
                          t.c_str(),  //
                          "listen_backlog",
                          "4096",  //
                          "enable_keep_alive",
                          "yes",  //
                          "tcp_nodelay",
                          "1",  //
                          "keep_alive_timeout_ms",
                          "5000",  //
                          "request_timeout_ms",
                          "30000",  //
                          "max_request_size",
                          "16384",  //
                          nullptr};
    mg_callbacks callbacks{};
    mg_context* ctx = mg_start(&callbacks, nullptr, opts);
    if (ctx == nullptr) throw std::runtime_error("cannot listen on " + listen);
    // CivetWeb's own authorization off, as in the service: it stats a .htpasswd per request.
    mg_set_auth_handler(
        ctx, "/", [](mg_connection*, void*) { return 1; }, nullptr);
    mg_set_request_handler(ctx, "/", a[0] == "bare" ? bare_handler : bare_one_write_handler,
                           nullptr);
    std::printf("ready\n");
    std::fflush(stdout);
    wait_for_signal();
    mg_stop(ctx);
    return 0;
  }
  Config config = default_config();
  config.storage_path = a.at(3);
  config.group_commit = a.at(4) == "1";
  config.synchronous_full = true;
  UsageService service(config);
  HttpOptions options;
  options.listen = listen;
  options.http_threads = threads;
  HttpServer server(service, options);
  std::printf("ready\n");
  std::fflush(stdout);
  wait_for_signal();
  return 0;
}

// scrape DB REPS: render_metrics() against prometheus-cpp Registry/Family + TextSerializer.
int scrape(const std::string& path, int reps) {
  Config config = default_config();
  config.storage_path = path;
  UsageService service(config);
  std::size_t series = 0;
  service.ledger().read([&](const LedgerState& st) { series = st.series.size(); });
  std::size_t bytes = 0;
  const double fast = median_ms(reps, [&] { bytes = render_metrics(service).size(); });

  // The baseline keeps the same series in a Registry, as an exporter built on it would.
  auto build = [&](prometheus::Registry& registry) {
    auto& requests = prometheus::BuildCounter().Name("ai_usage_requests_total").Register(registry);
    auto& tokens = prometheus::BuildCounter().Name("ai_usage_tokens_total").Register(registry);
    auto& cost = prometheus::BuildCounter().Name("ai_usage_cost_total").Register(registry);
    auto& hits = prometheus::BuildGauge().Name("ai_usage_cache_hit_ratio").Register(registry);
    const std::string currency = config.currency;
    service.ledger().read([&](const LedgerState& st) {
      for (const auto& [k, usage] : st.series) {
        const UsageSums& s = usage.total;
        std::map<std::string, std::string> base{
            {"provider", k.provider}, {"model", k.model}, {"project", k.project}, {"user", k.user}};
        auto with = [&](const char* name, std::string value) {
          auto l = base;
          l.emplace(name, std::move(value));
          return l;
        };
        requests.Add(with("cached", "false"))
            .Increment(static_cast<double>(s.calls - s.cache_hits));
        requests.Add(with("cached", "true")).Increment(static_cast<double>(s.cache_hits));
        tokens.Add(with("token_type", "input")).Increment(static_cast<double>(s.input_tokens()));
        tokens.Add(with("token_type", "cache_read"))
            .Increment(static_cast<double>(s.cache_read_tokens));
        tokens.Add(with("token_type", "cache_write"))
            .Increment(static_cast<double>(s.cache_write_tokens));
        tokens.Add(with("token_type", "output"))
            .Increment(static_cast<double>(s.completion_tokens));
        cost.Add(with("currency", currency)).Increment(nanos_to_units(s.cost));
      }
      for (const auto& [k, usage] : st.series)
        if (const UsageSums& s = usage.month; s.calls > 0)
          hits.Add({{"provider", k.provider},
                    {"model", k.model},
                    {"project", k.project},
                    {"user", k.user}})
              .Set(static_cast<double>(s.cache_hits) / static_cast<double>(s.calls));
    });
  };
  std::size_t base_bytes = 0;
  const int base_reps = std::max(1, reps / 4);
  const double built = median_ms(base_reps, [&] {
    prometheus::Registry registry;
    build(registry);
    base_bytes = prometheus::TextSerializer().Serialize(registry.Collect()).size();
  });
  prometheus::Registry kept;
  build(kept);
  const double collected = median_ms(base_reps, [&] {
    base_bytes = prometheus::TextSerializer().Serialize(kept.Collect()).size();
  });
  report("scrape_series", static_cast<double>(series));
  report("scrape_records", static_cast<double>(service.store().record_count()));
  report("scrape_bytes", static_cast<double>(bytes));
  report("scrape_baseline_bytes", static_cast<double>(base_bytes));
  report("scrape_fast_ms", fast);
  report("scrape_promcpp_collect_ms", collected);
  report("scrape_promcpp_build_collect_ms", built);
  return 0;
}

std::string month_query(std::int64_t start, std::int64_t end) {
  return "/api/v1/statistics?start=" + format_utc(start) + "&end=" + format_utc(end);
}

// stats DB REPS: one month's statistics (rollups) against the raw GROUP BY over the records.
int stats(const std::string& path, int reps) {
  Config config = default_config();
  config.storage_path = path;
  UsageService service(config);
  // The last whole UTC month, and the same month in UTC+08:00 (ends cut through buckets).
  const MonthCalendar utc = MonthCalendar::utc();
  const Period last_month = utc.month_of(utc.month_of(now_ms()).start_ms - 1);
  const std::int64_t start = last_month.start_ms, end = last_month.end_ms;
  UsageFilter month;
  month.start_ms = start;
  month.end_ms = end;
  UsageFilter shifted = month;
  *shifted.start_ms -= 8 * 3'600'000;
  *shifted.end_ms -= 8 * 3'600'000;
  Statistics s;
  const double rollup = median_ms(reps, [&] { s = service.statistics(month); });
  const double rollup_shifted = median_ms(reps, [&] { service.statistics(shifted); });

  HttpOptions options;
  options.listen = "127.0.0.1:0";
  options.http_threads = 4;
  HttpServer server(service, options);
  const std::string target = month_query(start, end);
  testing::HttpResponse r;
  const double http = median_ms(reps, [&] { r = testing::http_get(server.port(), target); });
  if (r.status != 200) throw std::runtime_error("statistics answered " + std::to_string(r.status));

  SQLite::Database db(path, SQLite::OPEN_READONLY);
  std::int64_t raw_calls = 0, raw_cost = 0;
  const double raw = median_ms(std::max(1, reps / 10), [&] {
    SQLite::Statement q(db,
                        "SELECT provider, model, project_id, user_id, count(*), sum(cached), "
                        "sum(1 - priced), sum(CASE WHEN cached THEN 0 ELSE prompt_tokens END), "
                        "sum(CASE WHEN cached THEN 0 ELSE completion_tokens END), "
                        "sum(cost_nanos) FROM ai_usage WHERE timestamp_ms >= ? AND "
                        "timestamp_ms < ? GROUP BY provider, model, project_id, user_id");
    q.bind(1, static_cast<std::int64_t>(start));
    q.bind(2, static_cast<std::int64_t>(end));
    raw_calls = raw_cost = 0;
    while (q.executeStep()) {
      raw_calls += q.getColumn(4).getInt64();
      raw_cost += q.getColumn(9).getInt64();
    }
  });
  if (raw_calls != s.total.calls || raw_cost != s.total.cost)
    throw std::runtime_error("rollup statistics differ from the records");
  report("stats_month_records", static_cast<double>(s.total.calls));
  report("stats_month_users", static_cast<double>(s.by_user.size()));
  report("stats_rollup_ms", rollup);
  report("stats_rollup_utc8_ms", rollup_shifted);
  report("stats_http_ms", http);
  report("stats_raw_groupby_ms", raw);
  return 0;
}

std::string json_escape_free(const UsageRecord& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                R"({"id":"%s","userId":"%s","projectId":"%s","provider":"%s","model":"%s",)"
                R"("usage":{"promptTokens":%lld,"completionTokens":%lld,"cacheReadTokens":%lld},)"
                R"("cached":%s,"timestamp":%lld})",
                r.id.c_str(), r.user.c_str(), r.project.c_str(), r.provider.c_str(),
                r.model.c_str(), static_cast<long long>(r.prompt_tokens),
                static_cast<long long>(r.completion_tokens),
                static_cast<long long>(r.cache_read_tokens), r.cached ? "true" : "false",
                static_cast<long long>(r.timestamp_ms));
  return buf;
}

// Nanoseconds on CPU of this process's threads named `comm` (schedstat).
double threads_cpu_ns(const std::string& comm) {
  double ns = 0;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream c(t.path() / "comm");
    std::string name;
    std::getline(c, name);
    if (name != comm) continue;
    std::ifstream st(t.path() / "schedstat");
    double v = 0;
    st >> v;
    ns += v;
  }
  return ns;
}

// A plain SQLiteCpp loop: the same rows into a copy of the same database, 1000 per transaction.
double plain_insert_ms(const std::string& start_db, const std::string& path,
                       const std::vector<UsageRecord>& rows, bool seed_indexes) {
  std::filesystem::copy_file(start_db, path);
  ::sync();  // the copy's writeback must not stall the loop's flushes
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec("PRAGMA synchronous = FULL");
  if (seed_indexes)
    db.exec(
        "CREATE INDEX ai_usage_user_idx ON ai_usage(user_id);"
        "CREATE INDEX ai_usage_project_idx ON ai_usage(project_id);"
        "CREATE INDEX ai_usage_provider_model_idx ON ai_usage(provider, model);");
  SQLite::Statement insert(
      db,
      "INSERT INTO ai_usage (id, user_id, project_id, provider, model, prompt_tokens, "
      "completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, cost_nanos, priced, "
      "cached, timestamp_ms, received_ms, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, ?, ?, ?)");
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < rows.size(); i += 1000) {
    SQLite::Transaction tx(db);
    for (std::size_t j = i; j < std::min(rows.size(), i + 1000); ++j) {
      const UsageRecord& r = rows[j];
      insert.reset();
      SQLite::bind(insert, r.id, r.user, r.project, r.provider, r.model, r.prompt_tokens,
                   r.completion_tokens, r.total_tokens(), r.cache_read_tokens, r.cache_write_tokens,
                   r.cost, r.priced ? 1 : 0, r.cached ? 1 : 0, r.timestamp_ms, r.received_ms,
                   r.fingerprint);
      insert.exec();
    }
    tx.commit();
  }
  return ms_since(t0);
}

// The store's part alone, on one thread: SqliteStore::commit of the same rows in 1000-record
// batches into a copy of START_DB, then Ledger::apply; milliseconds for each (no HTTP, JSON or
// roll-up).
std::pair<double, double> store_only_ms(const std::string& start_db, const std::string& path,
                                        std::vector<UsageRecord> rows) {
  std::filesystem::copy_file(start_db, path);
  std::filesystem::copy_file(start_db + "-rollups", path + "-rollups");
  ::sync();
  SqliteStore store({path, true});
  const Config config = default_config();
  Ledger ledger(config.labels);
  const Period month = MonthCalendar::make(config.timezone)->month_of(now_ms());
  UsageFilter f;
  f.start_ms = month.start_ms;
  f.end_ms = month.end_ms;
  ledger.reset(store.series_table(f), month);
  store.prepare_writer();  // as the service does at startup
  double commit_ms = 0, ledger_ms = 0;
  for (std::size_t i = 0; i < rows.size(); i += 1000) {
    std::vector<UsageRecord> batch(
        rows.begin() + static_cast<std::ptrdiff_t>(i),
        rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + 1000)));
    std::vector<UsageRecord>* batches[] = {&batch};
    auto t0 = Clock::now();
    auto out = store.commit(batches);
    if (!out) throw std::runtime_error(out.error().message);
    if (auto s = store.sync(); !s) throw std::runtime_error(s.error().message);
    commit_ms += ms_since(t0);
    std::vector<const UsageRecord*> committed;
    for (const UsageRecord& r : batch) committed.push_back(&r);
    t0 = Clock::now();
    ledger.apply(committed, (*out)[0].series);
    ledger_ms += ms_since(t0);
  }
  return {commit_ms, ledger_ms};
}

// batch START_DB DIR REQUESTS: POSTs of 1000 records (4 clients, and 2) against the plain insert
// loop, each starting from a copy of START_DB.
int batch(const std::string& start_db, const std::string& dir, int requests) {
  Population pop;
  std::mt19937_64 rng(4);
  std::vector<UsageRecord> rows;
  std::vector<std::string> bodies;
  const std::int64_t t = now_ms() - 3'600'000;
  for (int b = 0; b < requests; ++b) {
    std::string body = "[";
    for (int i = 0; i < 1000; ++i) {
      rows.push_back(pop.make("b-" + std::to_string(b) + "-" + std::to_string(i), t + b * 1000 + i,
                              rng() % kSeries, rng));
      body += (i ? "," : "") + json_escape_free(rows.back());
    }
    bodies.push_back(body + "]");
  }
  const double n = static_cast<double>(rows.size());
  const std::int64_t before =
      SQLite::Database(start_db).execAndGet("SELECT count(*) FROM ai_usage").getInt64();
  // CPU nanoseconds per record of the writer thread and of the HTTP workers, 4-client runs.
  std::vector<double> writer_cpu, workers_cpu;
  // The service on a copy of START_DB, posted to by `clients` threads: {acknowledged, rolled up}
  // in milliseconds.
  auto service_run = [&](const std::string& path, int clients) {
    std::filesystem::copy_file(start_db, path);
    std::filesystem::copy_file(start_db + "-rollups", path + "-rollups");
    ::sync();  // the copies' writeback must not stall the service's flushes
    Config config = default_config();
    config.storage_path = path;
    config.synchronous_full = true;
    auto service_ptr = std::make_unique<UsageService>(config);
    UsageService& service = *service_ptr;
    HttpOptions options;
    options.listen = "127.0.0.1:0";
    options.http_threads = 8;
    auto server = std::make_unique<HttpServer>(service, options);
    // Warm-up, as wrk's: one record committed (the writer's series map is built) and rolled up
    // when idle (the roll-up's series list is loaded), so the clock sees the steady state.
    UsageRecord first = rows.front();
    first.id = "warm-up";
    if (testing::http_post_json(server->port(), "/api/v1/usage", json_escape_free(first)).status !=
        200)
      throw std::runtime_error("the warm-up record was refused");
    while (service.store().pending_records() > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::atomic<int> next{0}, failures{0};
    const double w0 = threads_cpu_ns("aiusage-writer"), k0 = threads_cpu_ns("civetweb-worker");
    auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&] {
        pthread_setname_np(pthread_self(), "bench-client");  // apart from the service in perf
        for (int i; (i = next++) < requests;) {
          auto r = testing::http_post_json(server->port(), "/api/v1/usage",
                                           bodies[static_cast<std::size_t>(i)]);
          if (r.status != 200 && failures++ == 0)
            std::fprintf(stderr, "batch: %d %s\n", r.status, r.body.substr(0, 300).c_str());
        }
      });
    for (auto& t : threads) t.join();
    const double acked_ms = ms_since(t0);
    if (clients == 4) {
      writer_cpu.push_back((threads_cpu_ns("aiusage-writer") - w0) / n);
      workers_cpu.push_back((threads_cpu_ns("civetweb-worker") - k0) / n);
    }
    if (failures > 0)
      throw std::runtime_error(std::to_string(failures.load()) + " batch requests failed");
    if (service.store().record_count() != before + 1 + static_cast<std::int64_t>(rows.size()))
      throw std::runtime_error("records missing after the batch run");
    // The writer rolls up what is still pending before it stops: the sustained cost.
    server.reset();
    service_ptr.reset();
    return std::pair{acked_ms, ms_since(t0)};
  };
  // Rounds alternate the plain loop, the store alone and the service, each on a fresh copy, so
  // the disk's and the neighbours' drift hits all alike; medians are reported.
  constexpr int kRounds = 5;
  std::vector<double> plain, store, ledger, acked, rolled, acked2;
  for (int round = 1; round <= kRounds; ++round) {
    const std::string tag = std::to_string(round);
    plain.push_back(n /
                    (plain_insert_ms(start_db, dir + "/plain" + tag + ".db", rows, false) / 1000));
    const auto [store_ms, ledger_ms] = store_only_ms(start_db, dir + "/store" + tag + ".db", rows);
    store.push_back(n / (store_ms / 1000));
    ledger.push_back(n / (ledger_ms / 1000));
    // 4 clients keep the writer busy (one request is parsed while another commits); 2 often
    // leave it waiting. Their order alternates: a later run in the process finds a grown heap.
    auto with_two = [&] {
      acked2.push_back(n / (service_run(dir + "/service2-" + tag + ".db", 2).first / 1000));
    };
    if (round % 2 == 0) with_two();
    const auto [acked_ms, rolled_ms] = service_run(dir + "/service" + tag + ".db", 4);
    acked.push_back(n / (acked_ms / 1000));
    rolled.push_back(n / (rolled_ms / 1000));
    if (round % 2 == 1) with_two();
    report(("batch_round" + tag + "_plain_records_per_s").c_str(), plain.back());
    report(("batch_round" + tag + "_service_records_per_s").c_str(), acked.back());
    report(("batch_round" + tag + "_service_2_clients_records_per_s").c_str(), acked2.back());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double seed = plain_insert_ms(start_db, dir + "/plain-seed.db", rows, true);
  report("batch_records", n);
  report("batch_service_records_per_s", median(acked));
  report("batch_service_rolled_up_records_per_s", median(rolled));
  report("batch_service_2_clients_records_per_s", median(acked2));
  report("batch_plain_records_per_s", median(plain));
  report("batch_plain_seed_indexes_records_per_s", n / (seed / 1000));
  report("batch_store_commit_records_per_s", median(store));
  report("batch_store_ledger_records_per_s", median(ledger));
  report("batch_service_writer_cpu_ns_per_record", median(writer_cpu));
  report("batch_service_workers_cpu_ns_per_record", median(workers_cpu));
  return 0;
}

// parse REPS: microseconds per record for the request side of a 1000-record batch: its parsing
// (parse_usage_body: JSON, validation, fingerprints), pricing and answer, against RapidJSON
// parsing the same body into a DOM alone. Medians of REPS.
int parse_cost(int reps) {
  Population pop;
  std::mt19937_64 rng(5);
  const std::int64_t now = now_ms();
  std::string body = "[";
  for (int i = 0; i < 1000; ++i)
    body += (i ? "," : "") + json_escape_free(pop.make("p-" + std::to_string(i), now - 60'000 + i,
                                                       rng() % kSeries, rng));
  body += "]";
  const Config config = default_config();
  const IngestPolicy policy{now, config.window, std::nullopt};
  const double dom = median_ms(reps, [&] {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || doc.Size() != 1000) throw std::runtime_error("DOM parse failed");
  });
  std::vector<UsageRecord> records;
  const double parse = median_ms(reps, [&] {
    auto parsed = parse_usage_body(body, BodyFormat::json, policy);
    if (!parsed) throw std::runtime_error(parsed.error().message);
    records = std::move(*parsed);
  });
  const double price = median_ms(reps, [&] {
    for (UsageRecord& r : records) {
      const CostQuote q = config.prices.quote(r.provider, r.model, r.timestamp_ms, r.billed());
      r.cost = r.cached ? 0 : q.cost;
      r.priced = q.priced;
    }
  });
  IngestOutcome outcome;
  outcome.duplicate.assign(records.size(), false);
  outcome.accepted = records.size();
  outcome.records = records;
  std::size_t answer_bytes = 0;
  const double answer = median_ms(
      reps, [&] { answer_bytes = json::ingest_outcome(outcome, config.currency).size(); });
  report("parse_body_bytes", static_cast<double>(body.size()));
  report("parse_answer_bytes", static_cast<double>(answer_bytes));
  report("parse_dom_us_per_record", dom);  // ms per 1000 records = us per record
  report("parse_service_us_per_record", parse);
  report("parse_price_us_per_record", price);
  report("parse_answer_us_per_record", answer);
  return 0;
}

// fsync FILE COUNT: the disk's floor for a durable acknowledgement: COUNT times, one 4 KiB
// overwrite of a preallocated file followed by fdatasync (what one WAL flush costs at least).
int fsync_floor(const std::string& path, int count) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot open " + path);
  std::vector<char> block(4096, 'x');
  for (int i = 0; i < 64; ++i) ::pwrite(fd, block.data(), block.size(), i * 4096);
  ::fsync(fd);
  std::vector<double> ms;
  for (int i = 0; i < count; ++i) {
    auto t0 = Clock::now();
    if (::pwrite(fd, block.data(), block.size(), (i % 64) * 4096) != 4096 || ::fdatasync(fd) != 0)
      throw std::runtime_error("write or fdatasync failed on " + path);
    ms.push_back(ms_since(t0));
  }
  ::close(fd);
  std::filesystem::remove(path);
  std::sort(ms.begin(), ms.end());
  report("fsync_p50_ms", ms[ms.size() / 2]);
  report("fsync_p99_ms", ms[ms.size() * 99 / 100]);
  return 0;
}

// freezes STAT SECONDS NAME: watches a block device's stat file (/sys/class/block/X/stat) and
// counts spans of >= 100 ms in which requests were in flight but none completed (the device
// stalled, whatever the service asked of it).
int disk_freezes(const std::string& stat_path, double seconds, const std::string& name) {
  auto read = [&] {
    std::ifstream in(stat_path);
    std::vector<long long> f;
    for (long long v; in >> v;) f.push_back(v);
    if (f.size() < 11) throw std::runtime_error("cannot read " + stat_path);
    // Completed reads, writes, discards and flushes (the last two exist since Linux 4.18/5.5).
    long long done = f[0] + f[4] + (f.size() > 11 ? f[11] : 0) + (f.size() > 15 ? f[15] : 0);
    return std::pair{done, f[8]};  // f[8]: requests in flight
  };
  int freezes = 0;
  double frozen_ms = 0, longest_ms = 0;
  auto [last_done, in_flight] = read();
  auto since = Clock::now();  // when last_done was first seen with requests in flight
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  auto close_span = [&] {
    const double span = ms_since(since);
    if (span >= 100) {
      ++freezes;
      frozen_ms += span;
      longest_ms = std::max(longest_ms, span);
    }
  };
  while (Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto [done, flight] = read();
    if (done != last_done || flight == 0) {
      if (in_flight > 0) close_span();
      since = Clock::now();
    }
    last_done = done;
    in_flight = flight;
  }
  if (in_flight > 0) close_span();
  report((name + "_disk_freezes").c_str(), freezes);
  report((name + "_disk_frozen_ms").c_str(), frozen_ms);
  report((name + "_disk_longest_freeze_ms").c_str(), longest_ms);
  return 0;
}

int models() {
  for (const auto& [provider, model] : bench_models())
    std::printf("%s %s\n", provider.c_str(), model.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() == 3 && a[0] == "gen") return gen(a[1], std::stoll(a[2]));
    if (a.size() >= 3 && a[0] == "serve") return serve({a.begin() + 1, a.end()});
    if (a.size() == 3 && a[0] == "scrape") return scrape(a[1], std::stoi(a[2]));
    if (a.size() == 3 && a[0] == "stats") return stats(a[1], std::stoi(a[2]));
    if (a.size() == 4 && a[0] == "batch") return batch(a[1], a[2], std::stoi(a[3]));
    if (a.size() == 1 && a[0] == "models") return models();
    if (a.size() == 3 && a[0] == "fsync") return fsync_floor(a[1], std::stoi(a[2]));
    if (a.size() == 2 && a[0] == "parse") return parse_cost(std::stoi(a[1]));
    if (a.size() == 4 && a[0] == "freezes") return disk_freezes(a[1], std::stod(a[2]), a[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aiusage_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(
      stderr,
      "usage: aiusage_bench gen DB RECORDS | serve bare PORT THREADS | serve service PORT "
      "THREADS DB GROUP_COMMIT | scrape DB REPS | stats DB REPS | batch START_DB DIR REQUESTS | "
      "models | fsync FILE COUNT | parse REPS | freezes STAT SECONDS NAME\n");
  return 2;
}
