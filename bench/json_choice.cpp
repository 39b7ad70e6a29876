// Why RapidJSON: parses one 1000-record ingest batch with each Debian JSON library, same run.
// Run: build/bench/json_choice (prints best-of-50 times and ratios to RapidJSON).
#include <rapidjson/document.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

std::string make_batch(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) {
    if (i) s += ",";
    s +=
        R"({"id":"req-)" + std::to_string(i) + R"(","userId":"user-)" + std::to_string(i % 97) +
        R"(","projectId":"project-)" + std::to_string(i % 7) +
        R"(","provider":"anthropic","model":"claude-3-5-sonnet-20241022","usage":{"promptTokens":)" +
        std::to_string(1000 + i) + R"(,"completionTokens":500,"totalTokens":)" +
        std::to_string(1500 + i) +
        R"(,"cacheReadTokens":0,"cacheWriteTokens":0},"cached":false,"timestamp":"2024-01-15T10:00:00Z"})";
  }
  return s + "]";
}

template <typename Fn>
double best_ms(Fn fn) {
  double best = 1e9;
  for (int r = 0; r < 50; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(
        best,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main() {
  const std::string body = make_batch(1000);
  std::int64_t sink = 0;
  // Same flags as src/ingest/ingest.cpp: UTF-8 validation, iterative (no recursion on deep input).
  const double rapid = best_ms([&] {
    rapidjson::Document d;
    d.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(body.data(),
                                                                                    body.size());
    for (auto& v : d.GetArray())
      sink += v["usage"]["promptTokens"].GetInt64() + v["userId"].GetStringLength();
  });
  const double nlohmann = best_ms([&] {
    auto d = nlohmann::json::parse(body);
    for (auto& v : d)
      sink += v["usage"]["promptTokens"].get<std::int64_t>() +
              static_cast<std::int64_t>(v["userId"].get_ref<const std::string&>().size());
  });
  simdjson::dom::parser parser;
  const double simd = best_ms([&] {
    simdjson::dom::element d = parser.parse(body);
    for (auto v : d.get_array())
      sink += v["usage"]["promptTokens"].get_int64().value() +
              static_cast<std::int64_t>(v["userId"].get_string().value().size());
  });
  std::printf("json: 1000-record batch, %zu bytes, best of 50 (checksum %lld)\n", body.size(),
              static_cast<long long>(sink));
  std::printf("json: rapidjson %.3f ms = 1.00\n", rapid);
  std::printf("json: nlohmann  %.3f ms = %.2f x rapidjson\n", nlohmann, nlohmann / rapid);
  std::printf("json: simdjson  %.3f ms = %.2f x rapidjson\n", simd, simd / rapid);
}
