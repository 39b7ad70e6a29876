#!/usr/bin/env bash
# Prints each target of issue #4 as measured / baseline from a results file of bench/run.sh.
set -euo pipefail
awk '
  { v[$1] = $2 }
  function row(what, measured, baseline, ratio, goal) {
    printf "%-44s %14s %14s %9s  %s\n", what, measured, baseline, ratio, goal
  }
  function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
  function median(x, n,   i, j, t) {  # sorts x[1..n] in place
    for (i = 2; i <= n; ++i)
      for (j = i; j > 1 && x[j - 1] > x[j]; --j) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
    return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
  }
  END {
    row("target", "measured", "baseline", "ratio", "goal")
    row("1 ingest req/s, group (vs bare answering in 1 write)", v["group_requests_per_s"],
        v["bare_one_write_requests_per_s"],
        r(v["group_requests_per_s"], v["bare_one_write_requests_per_s"]), ">= 0.40")
    row("1 ingest req/s, real binary, default config", v["real_requests_per_s"],
        v["bare_one_write_requests_per_s"],
        r(v["real_requests_per_s"], v["bare_one_write_requests_per_s"]), ">= 0.40")
    row("1 ingest p99 ms, real binary", v["real_p99_ms"], v["bare_one_write_p99_ms"], "-", "<= 10 ms")
    row("1 ingest p99 ms, group commit", v["group_p99_ms"], v["bare_p99_ms"], "-", "<= 10 ms")
    row("1 ingest req/s vs bare with header functions", v["group_requests_per_s"], v["bare_requests_per_s"],
        r(v["group_requests_per_s"], v["bare_requests_per_s"]), "(report)")
    ceiling = v["fsync_p50_ms"] > 0 ? 32000 / v["fsync_p50_ms"] : 0
    row("1 ingest req/s vs disk ceiling 32/fsync", v["group_requests_per_s"], sprintf("%.0f", ceiling),
        r(v["group_requests_per_s"], ceiling), "(report)")
    row("1 fdatasync ms p50 (p99 as baseline)", v["fsync_p50_ms"], v["fsync_p99_ms"], "-", "(report)")
    row("1 ingest req/s, per-request tx (vs bare)", v["per_request_requests_per_s"], v["bare_requests_per_s"],
        r(v["per_request_requests_per_s"], v["bare_requests_per_s"]), "(report)")
    row("1 ingest p99 ms, per-request tx", v["per_request_p99_ms"], v["bare_p99_ms"], "-", "(report)")
    row("2 batch records/s, 4 clients (vs plain loop)", sprintf("%.0f", v["batch_service_records_per_s"]),
        sprintf("%.0f", v["batch_plain_records_per_s"]),
        r(v["batch_service_records_per_s"], v["batch_plain_records_per_s"]), ">= 0.75")
    row("2 batch records/s until rolled up (vs plain)", sprintf("%.0f", v["batch_service_rolled_up_records_per_s"]),
        sprintf("%.0f", v["batch_plain_records_per_s"]),
        r(v["batch_service_rolled_up_records_per_s"], v["batch_plain_records_per_s"]), "(report)")
    row("2 batch records/s with 2 clients (vs plain)", sprintf("%.0f", v["batch_service_2_clients_records_per_s"]),
        sprintf("%.0f", v["batch_plain_records_per_s"]),
        r(v["batch_service_2_clients_records_per_s"], v["batch_plain_records_per_s"]), "(report)")
    row("2 plain loop with the seed 5 indexes", sprintf("%.0f", v["batch_plain_seed_indexes_records_per_s"]),
        sprintf("%.0f", v["batch_plain_records_per_s"]),
        r(v["batch_plain_seed_indexes_records_per_s"], v["batch_plain_records_per_s"]), "(report)")
    row("2 Store::commit alone, 1 thread (vs plain)", sprintf("%.0f", v["batch_store_commit_records_per_s"]),
        sprintf("%.0f", v["batch_plain_records_per_s"]),
        r(v["batch_store_commit_records_per_s"], v["batch_plain_records_per_s"]), "(report)")
    row("2 writer CPU us/record (vs plain loop per record)", sprintf("%.2f", v["batch_service_writer_cpu_ns_per_record"] / 1000),
        sprintf("%.2f", 1e6 / v["batch_plain_records_per_s"]),
        r(v["batch_service_writer_cpu_ns_per_record"] / 1000, 1e6 / v["batch_plain_records_per_s"]), "(report)")
    row("2 HTTP workers CPU us/record (vs the writer)", sprintf("%.2f", v["batch_service_workers_cpu_ns_per_record"] / 1000),
        sprintf("%.2f", v["batch_service_writer_cpu_ns_per_record"] / 1000),
        r(v["batch_service_workers_cpu_ns_per_record"], v["batch_service_writer_cpu_ns_per_record"]), "(report)")
    row("2 parse+validate us/record (vs DOM parse)", v["parse_service_us_per_record"],
        v["parse_dom_us_per_record"],
        r(v["parse_service_us_per_record"], v["parse_dom_us_per_record"]), "(report)")
    row("18 LiteLLM catalog load ms (vs RapidJSON DOM)", v["catalog_config_load_ms"],
        v["catalog_rapidjson_dom_ms"], v["catalog_config_load_vs_dom_ratio"], "<< 1000 ms")
    row("19 OTLP protobuf records/s (vs JSON batch)", sprintf("%.0f", v["otlp_protobuf_records_per_s"]),
        sprintf("%.0f", v["otlp_json_batch_records_per_s"]), v["otlp_protobuf_vs_json_ratio"], ">= 0.75")
    row("19 OTLP request side CPU us/record (vs JSON)", v["otlp_request_protobuf_us_per_record"],
        v["otlp_request_json_us_per_record"],
        r(v["otlp_request_protobuf_us_per_record"], v["otlp_request_json_us_per_record"]), "(report)")
    row("3 scrape ms, speed-up vs prometheus-cpp", v["scrape_fast_ms"], v["scrape_promcpp_collect_ms"],
        r(v["scrape_promcpp_collect_ms"], v["scrape_fast_ms"]) "x", ">= 3x")
    row("3 scrape ms, vs building a Registry too", v["scrape_fast_ms"], v["scrape_promcpp_build_collect_ms"],
        r(v["scrape_promcpp_build_collect_ms"], v["scrape_fast_ms"]) "x", "(report)")
    row("3 scrape ms, 10M vs 100k records", v["scrape_fast_ms"], v["small_scrape_fast_ms"],
        r(v["scrape_fast_ms"], v["small_scrape_fast_ms"]), "~ 1.00")
    row("4 statistics ms, month (vs raw GROUP BY)", v["stats_rollup_ms"], v["stats_raw_groupby_ms"],
        r(v["stats_raw_groupby_ms"], v["stats_rollup_ms"]) "x", "<= 20 ms, >= 50x")
    row("4 GET /api/v1/statistics ms (HTTP+JSON)", v["stats_http_ms"], v["stats_raw_groupby_ms"],
        r(v["stats_raw_groupby_ms"], v["stats_http_ms"]) "x", "<= 20 ms")
    row("4 statistics ms, month in UTC+08:00", v["stats_rollup_utc8_ms"], v["stats_raw_groupby_ms"],
        r(v["stats_raw_groupby_ms"], v["stats_rollup_utc8_ms"]) "x", "(report)")
    row("5 startup ms, 10M records (vs empty db)", v["big_startup_ms"], v["empty_startup_ms"],
        r(v["big_startup_ms"], v["empty_startup_ms"]), "<= 2000 ms")
    row("6 RSS MB idle, 10M records (vs empty db)", v["big_rss_idle_mb"], v["empty_rss_idle_mb"],
        r(v["big_rss_idle_mb"], v["empty_rss_idle_mb"]), "<= 200 MB")
    row("6 peak RSS MB with one scrape", v["big_rss_peak_mb"], v["empty_rss_peak_mb"],
        r(v["big_rss_peak_mb"], v["empty_rss_peak_mb"]), "<= 200 MB")
    row("scrape ms while ingest runs", v["scrape_under_ingest_median_ms"], v["scrape_fast_ms"],
        r(v["scrape_under_ingest_median_ms"], v["scrape_fast_ms"]), "(report)")
    row("ingest p99 ms while scraped (vs not)", v["group_scraped_p99_ms"], v["group_p99_ms"],
        r(v["group_scraped_p99_ms"], v["group_p99_ms"]), "<= 1.20")
    # Per-run counts summed: sum[scraped or not, figure].
    for (k in v)
      if (match(k, /^group_(scraped_)?[0-9]+_(flushes_over_100ms|disk_freezes)$/))
        sum[k ~ /^group_scraped_/, k ~ /_disk_freezes$/] += v[k]
    row("flushes > 100 ms in the scraped runs (vs not)", sum[1, 0] + 0, sum[0, 0] + 0, "-", "(report)")
    row("disk freezes >= 100 ms, scraped runs (vs not)", sum[1, 1] + 0, sum[0, 1] + 0, "-", "(report)")
    # The same rounds without a freeze of the disk in either run: the service apart from the disk.
    n = 0
    for (i = 1; ("group_" i "_p99_ms") in v; ++i)
      if (("group_" i "_disk_freezes") in v && v["group_" i "_disk_freezes"] == 0 &&
          v["group_scraped_" i "_disk_freezes"] == 0) {
        ++n
        plain_p99[n] = v["group_" i "_p99_ms"]
        scraped_p99[n] = v["group_scraped_" i "_p99_ms"]
      }
    if (n > 0) {
      a = median(plain_p99, n)
      b = median(scraped_p99, n)
      row(sprintf("p99 ms scraped (vs not), %d rounds unfrozen", n), b, a, r(b, a), "(report)")
      row(sprintf("1 ingest p99 ms, %d rounds unfrozen", n), a, v["bare_p99_ms"], "-", "(report)")
    }
  }' "$1"
