#pragma once
// One LLM call as stored in the ledger.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "aiusage/money.hpp"
#include "aiusage/pricing.hpp"
#include "aiusage/tags.hpp"

namespace aiusage {

struct UsageRecord {
  std::string id;  // idempotency key (client's, or a generated UUID)
  std::string user;
  std::string project;  // "" when the call belongs to no project
  std::string provider;
  std::string model;
  std::int64_t prompt_tokens = 0;  // includes cache_read and cache_write tokens
  std::int64_t completion_tokens = 0;
  std::int64_t cache_read_tokens = 0;
  std::int64_t cache_write_tokens = 0;  // the 5-minute class
  bool cached = false;  // answered from the application's response cache: never billed
  std::int64_t timestamp_ms = 0;
  std::int64_t received_ms = 0;
  Nanos cost = 0;
  bool priced = false;
  std::string fingerprint;     // digest of the submitted content, for idempotent retries
  std::int64_t series_id = 0;  // the store's id of its labels, when already known (0: not)
  TokenDetails details{};      // parts of prompt_tokens or completion_tokens (kTokenDetailInfo)
  ServiceTier service_tier = ServiceTier::standard;  // as requested by the client
  ToolCalls tool_calls;
  Tags tags;
  std::string series_tags;  // the tags its usage series is kept by (series_tags()), set on ingest
  // The service tier of the entry that priced it, when not the requested one (no entry of it).
  std::optional<ServiceTier> priced_tier;

  // Billed tokens by price class; all zero for a cached record.
  TokenCounts billed() const {
    if (cached) return {};
    TokenCounts t{prompt_tokens - cache_read_tokens - cache_write_tokens, cache_read_tokens,
                  cache_write_tokens, completion_tokens, details};
    for (std::size_t d = 0; d < kTokenDetails; ++d)
      (kTokenDetailInfo[d].of_prompt ? t.input : t.output) -= details[d];
    return t;
  }
  // What the record is billed for: nothing but its tool calls' count when cached (cost 0).
  BilledCall billing() const { return {billed(), cached ? 0 : 1, &tool_calls, service_tier}; }
  std::int64_t total_tokens() const { return prompt_tokens + completion_tokens; }
  bool operator==(const UsageRecord&) const = default;
};

}  // namespace aiusage
