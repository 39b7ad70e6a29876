// otlp_bench DIR ROUNDS (0: the request side alone): records per second stored from 1,000-span
// protobuf OTLP exports (POST /v1/traces) against the same records posted as our 1,000-record JSON
// batches (POST /api/v1/usage), same service settings, same run; each round starts both on fresh
// stores, alternating which goes first. Prints "name value" lines (bench/run.sh,
// docs/benchmarks.md).
#include <time.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aiusage/config.hpp"
#include "aiusage/http_server.hpp"
#include "aiusage/ingest.hpp"
#include "aiusage/otlp_mapping.hpp"
#include "aiusage/otlp_wire.hpp"
#include "aiusage/service.hpp"
#include "support/http_client.hpp"
#include "support/otlp_export.hpp"

using namespace aiusage;
using namespace aiusage::testing;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRequests = 40, kSpans = 1000, kClients = 4;
const char* const kModels[][2] = {{"openai", "gpt-4o"},
                                  {"anthropic", "claude-3-5-sonnet"},
                                  {"google", "gemini-2.5-pro"},
                                  {"openai", "gpt-4o-mini"}};

struct Bodies {
  std::vector<std::string> json, otlp;
};

// Request r, span i: the same call in both encodings.
Bodies make_bodies(std::int64_t now_ms) {
  Bodies b;
  for (int r = 0; r < kRequests; ++r) {
    std::string json = "[";
    OtlpExport x{{{"service.name", "project-" + std::to_string(r % 5)}}, {}};
    for (int i = 0; i < kSpans; ++i) {
      const std::uint64_t n = static_cast<std::uint64_t>(r) * kSpans + i;
      const auto& m = kModels[n % 4];
      const std::int64_t prompt = 200 + static_cast<std::int64_t>(n * 7919 % 4000);
      const std::int64_t completion = 50 + static_cast<std::int64_t>(n * 104729 % 1000);
      const std::int64_t cache = n % 4 == 0 ? prompt / 2 : 0;
      const std::int64_t ts = now_ms - 600'000 + static_cast<std::int64_t>(n % 500'000);
      const std::string user = "user-" + std::to_string(n % 1000);
      // The id the receiver derives for the span: the same records, keyed alike in the store.
      const std::string id = otlp::record_id(trace_hex(n / 4), span_hex(n + 1));
      json += (i ? "," : "") + std::string(R"({"id":")") + id + R"(","userId":")" + user +
              R"(","projectId":"project-)" + std::to_string(r % 5) + R"(","provider":")" + m[0] +
              R"(","model":")" + m[1] + R"(","usage":{"promptTokens":)" + std::to_string(prompt) +
              R"(,"completionTokens":)" + std::to_string(completion) + R"(,"cacheReadTokens":)" +
              std::to_string(cache) + R"(},"timestamp":)" + std::to_string(ts) + "}";
      x.spans.push_back({trace_hex(n / 4),
                         span_hex(n + 1),
                         static_cast<std::uint64_t>(ts) * 1'000'000,
                         {{"gen_ai.operation.name", "chat"},
                          {"gen_ai.provider.name", m[0]},
                          {"gen_ai.request.model", m[1]},
                          {"gen_ai.usage.input_tokens", prompt},
                          {"gen_ai.usage.output_tokens", completion},
                          {"gen_ai.usage.cache_read.input_tokens", cache},
                          {"user.id", user}}});
    }
    b.json.push_back(json + "]");
    b.otlp.push_back(to_protobuf(x));
  }
  return b;
}

// Seconds for `clients` threads to post every body to a service on a fresh store at `path`.
double run(const std::string& path, const std::vector<std::string>& bodies, const char* target,
           const char* content_type) {
  Config config = default_config();
  config.storage_path = path;
  auto service = std::make_unique<UsageService>(config);
  HttpOptions options;
  options.listen = "127.0.0.1:0";
  options.http_threads = 8;
  auto server = std::make_unique<HttpServer>(*service, options);
  std::atomic<int> next{0}, failures{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c)
    threads.emplace_back([&] {
      for (int i; (i = next++) < static_cast<int>(bodies.size());) {
        auto r = http_request(server->port(), "POST", target, bodies[static_cast<std::size_t>(i)],
                              {{"Content-Type", content_type}});
        if ((r.status != 200 || r.body.find("rejected") != std::string::npos) && failures++ == 0)
          std::fprintf(stderr, "otlp bench: %d %s\n", r.status, r.body.substr(0, 300).c_str());
      }
    });
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (failures > 0) throw std::runtime_error(std::to_string(failures.load()) + " requests failed");
  if (service->store().record_count() != static_cast<std::int64_t>(kRequests) * kSpans)
    throw std::runtime_error("records missing after the run");
  server.reset();
  service.reset();
  return seconds;
}

// The CPU time of the calling thread: on a shared machine, wall time would count other processes.
double thread_cpu_us() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

// CPU microseconds per record of the request side alone, median of `reps`: parse_usage_body of a
// JSON batch, against decode_request + map_span of the protobuf export of the same records.
std::pair<double, double> request_side_us(const Bodies& b, std::int64_t now_ms, int reps) {
  std::vector<double> json, otlp_us;
  const IngestPolicy policy{now_ms, {}, std::nullopt};
  const OtlpOptions options;
  for (int i = 0; i < reps; ++i) {
    double t0 = thread_cpu_us();
    auto parsed = parse_usage_body(b.json[0], BodyFormat::json, policy);
    json.push_back((thread_cpu_us() - t0) / kSpans);
    if (!parsed) throw std::runtime_error(parsed.error().message);
    std::size_t records = 0;
    t0 = thread_cpu_us();
    auto bad =
        otlp::decode_request(b.otlp[0], otlp::Encoding::protobuf, [&](const otlp::SpanView& s) {
          records += otlp::map_span(s, options, policy).kind == otlp::SpanVerdict::Kind::record;
        });
    otlp_us.push_back((thread_cpu_us() - t0) / kSpans);
    if (bad || records != kSpans) throw std::runtime_error("the export did not map");
  }
  std::sort(json.begin(), json.end());
  std::sort(otlp_us.begin(), otlp_us.end());
  return {json[json.size() / 2], otlp_us[otlp_us.size() / 2]};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: otlp_bench DIR ROUNDS\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int rounds = std::stoi(argv[2]);
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const Bodies b = make_bodies(now);
  const double n = static_cast<double>(kRequests) * kSpans;
  const auto [json_us, otlp_us] = request_side_us(b, now, 21);
  std::printf("otlp_request_json_us_per_record %.3f\n", json_us);
  std::printf("otlp_request_protobuf_us_per_record %.3f\n", otlp_us);
  std::vector<double> json, otlp, ratio;
  for (int round = 1; round <= rounds; ++round) {
    const std::string tag = std::to_string(round);
    double j = 0, o = 0;
    auto json_run = [&] {
      j = n / run(dir + "/json" + tag + ".db", b.json, "/api/v1/usage", "application/json");
    };
    auto otlp_run = [&] {
      o = n / run(dir + "/otlp" + tag + ".db", b.otlp, "/v1/traces", "application/x-protobuf");
    };
    if (round % 2)
      json_run(), otlp_run();
    else
      otlp_run(), json_run();
    json.push_back(j);
    otlp.push_back(o);
    ratio.push_back(o / j);
    std::printf("otlp_round%s_json_batch_records_per_s %.3f\n", tag.c_str(), j);
    std::printf("otlp_round%s_protobuf_records_per_s %.3f\n", tag.c_str(), o);
  }
  if (rounds < 1) return 0;  // the request side alone
  std::printf("otlp_json_batch_records_per_s %.3f\n", median(json));
  std::printf("otlp_protobuf_records_per_s %.3f\n", median(otlp));
  std::printf("otlp_protobuf_vs_json_ratio %.3f\n", median(ratio));
  return 0;
}
