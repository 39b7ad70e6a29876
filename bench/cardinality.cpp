// cardinality_bench gen DB USERS: one record per distinct user (user-0000000 ...) over the 20 days
// before now, 20 priced models x 5 projects, written through SqliteStore (the service's own code).
// Issue #20's population: the scrape, RSS and restart of the real binary over it (cardinality.sh).
#include <chrono>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "aiusage/config.hpp"
#include "aiusage/ingest.hpp"
#include "aiusage/sqlite_store.hpp"
#include "priced_models.hpp"

using namespace aiusage;

namespace {

int gen(const std::string& path, std::int64_t users) {
  const PriceBook prices = default_config().prices;
  const auto models = bench::priced_models(prices, 20);
  SqliteStore store({path, false});
  std::mt19937_64 rng(20261203);
  const std::int64_t end = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count(),
                     span = 20LL * 24 * 3'600'000;
  std::vector<UsageRecord> batch;
  for (std::int64_t i = 0; i < users; ++i) {
    UsageRecord r;
    char user[24];
    std::snprintf(user, sizeof user, "user-%07lld", static_cast<long long>(i));
    r.id = "card-" + std::to_string(i);
    r.user = user;
    r.project = "project-" + std::to_string(i % 5);
    const auto& m = models[static_cast<std::size_t>(i / 5 % 20)];
    r.provider = m.first;
    r.model = m.second;
    r.prompt_tokens = 200 + static_cast<std::int64_t>(rng() % 4000);
    r.completion_tokens = 50 + static_cast<std::int64_t>(rng() % 1000);
    r.timestamp_ms = r.received_ms = end - span + i * span / users;
    const CostQuote q = prices.quote(r.provider, r.model, r.timestamp_ms, r.billed());
    r.cost = q.cost;
    r.priced = q.priced;
    r.fingerprint = content_fingerprint(r, true);
    batch.push_back(std::move(r));
    if (batch.size() == 500'000 || i + 1 == users) {
      std::vector<UsageRecord>* batches[] = {&batch};
      if (auto c = store.commit(batches); !c) throw std::runtime_error(c.error().message);
      if (auto c = store.roll_up(batch.size()); !c) throw std::runtime_error(c.error().message);
      batch.clear();
    }
  }
  std::printf("gen_users %lld\n", static_cast<long long>(users));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 4 && std::string(argv[1]) == "gen") return gen(argv[2], std::stoll(argv[3]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cardinality_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: cardinality_bench gen DB USERS\n");
  return 2;
}
