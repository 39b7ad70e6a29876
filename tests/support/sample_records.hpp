#pragma once
// The JSON records behind the HTTP statistics and golden /metrics tests; every cost worked out by
// hand against test_config()'s prices.
#include <string>

namespace aiusage::testing {

inline std::string record(const std::string& id, const std::string& user,
                          const std::string& project, const std::string& provider,
                          const std::string& model, int prompt, int completion,
                          const std::string& extra = "") {
  const std::string project_field = project.empty() ? "" : R"(","projectId":")" + project;
  return R"({"id":")" + id + R"(","userId":")" + user + project_field + R"(","provider":")" +
         provider + R"(","model":")" + model + R"(","usage":{"promptTokens":)" +
         std::to_string(prompt) + R"(,"completionTokens":)" + std::to_string(completion) + "}" +
         extra + "}";
}

// The records behind the statistics and golden /metrics tests; every cost worked out by hand.
inline const std::string kBatch =
    "[" +
    // 1000 × 3.00 + 500 × 15.00 = 10500 per 1M → 0.0105 USD
    record("a", "alice", "web", "anthropic", "claude-3-5-sonnet-20241022", 1000, 500,
           R"(,"timestamp":"2026-11-15T10:00:00Z")") +
    "," +
    // input 2000 × 3.00 + cache_read 6000 × 0.30 + cache_write 2000 × 3.75 + output 1000 × 15.00
    // = 6000 + 1800 + 7500 + 15000 = 30300 per 1M → 0.0303 USD
    R"({"id":"b","userId":"alice","projectId":"web","provider":"anthropic","model":"claude-3-5-sonnet","usage":{"promptTokens":10000,"completionTokens":1000,"cacheReadTokens":6000,"cacheWriteTokens":2000},"timestamp":"2026-11-15T10:30:00Z"})" +
    "," +
    // 2000 tokens × 100 CNY = 0.2 CNY × 0.138 → 0.0276 USD
    record("c", "bob", "api", "zhipu", "glm-4", 1000, 1000, R"(,"timestamp":1794736800000)") + "," +
    // input 1000 × 2.50 + cache_read 1000 × 1.25 + output 100 × 10.00 = 4750 per 1M → 0.00475 USD
    R"({"id":"d","userId":"bob","projectId":"api","provider":"openai","model":"gpt-4o-2024-08-06","usage":{"promptTokens":2000,"completionTokens":100,"cacheReadTokens":1000},"timestamp":"2026-11-15T11:00:00+08:00"})" +
    "," +
    record("e", "carol", "", "ollama", "llama3:8b", 300, 200,
           R"(,"timestamp":"2026-11-15T11:00:00Z")") +
    "," +
    record("f", "carol", "", "acme", "mystery", 10, 10, R"(,"timestamp":"2026-11-15T11:00:00Z")") +
    "," +
    record("g", "alice", "web", "anthropic", "claude-3-5-sonnet", 1000, 500,
           R"(,"cached":true,"timestamp":"2026-11-15T10:45:00Z")") +
    "]";

}  // namespace aiusage::testing
