#pragma once
// Usage records made field by field, and committing one batch, for the store and ledger tests.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "aiusage/record.hpp"
#include "aiusage/sqlite_store.hpp"

namespace aiusage::testing {

// An openai record whose other token counts and fingerprint derive from `prompt` and `id`.
inline UsageRecord make_record(std::string id, std::string user, std::string project,
                               std::string model, std::int64_t ts, std::int64_t prompt, Nanos cost,
                               bool cached = false) {
  UsageRecord r;
  r.id = std::move(id);
  r.user = std::move(user);
  r.project = std::move(project);
  r.provider = "openai";
  r.model = std::move(model);
  r.prompt_tokens = prompt;
  r.completion_tokens = prompt / 2;
  r.cache_read_tokens = prompt / 4;
  r.cached = cached;
  r.timestamp_ms = ts;
  r.received_ms = ts;
  r.cost = cost;
  r.priced = true;
  r.fingerprint = "fp-" + r.id;
  return r;
}

inline Result<std::vector<BatchOutcome>> commit_one(SqliteStore& store,
                                                    std::vector<UsageRecord>& batch) {
  std::vector<UsageRecord>* batches[] = {&batch};
  return store.commit(batches);
}

}  // namespace aiusage::testing
