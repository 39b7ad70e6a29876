#include "aiusage/storage.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <pthread.h>

#include "aiusage/log.hpp"
#include "aiusage/writer.hpp"

namespace aiusage {

namespace {

class StorageCollector : public prometheus::Collectable {
 public:
  explicit StorageCollector(const Storage& storage) : storage_(storage) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    prometheus::MetricFamily degraded{
        "ai_usage_storage_degraded",
        "1 while the store cannot be opened for writing (disk full or failing): ingest answers "
        "503, reads are served read-only where possible; 0 otherwise.",
        prometheus::MetricType::Gauge,
        {}};
    const GroupCommitWriter* writer = storage_.writer();
    degraded.metric.emplace_back().gauge.value = writer ? 0.0 : 1.0;
    out.push_back(std::move(degraded));
    if (writer)
      for (prometheus::MetricFamily& f : writer->collector()->Collect())
        out.push_back(std::move(f));
    return out;
  }

 private:
  const Storage& storage_;
};

}  // namespace

Storage::Storage(std::unique_ptr<StoreBackend> backend, Ledger& ledger, std::size_t max_batches,
                 StoreOpened opened)
    : backend_(std::move(backend)),
      ledger_(ledger),
      max_batches_(max_batches),
      opened_(std::move(opened)),
      collector_(std::make_shared<StorageCollector>(*this)) {
  std::unique_lock lock(swap_);
  if (open_for_writing(true)) return;
  log::error("the store cannot be opened for writing: ingest answers 503 until it can",
             {{"storage", backend_->name()}, {"err", degraded()}});
  open_read_only();
  recovery_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "aiusage-recover");
    recover();
  });
}

Storage::~Storage() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (recovery_.joinable()) recovery_.join();
  writer_.reset();  // commits and acknowledges what is queued, while the store is still open
  store_.reset();
}

Storage::Reading Storage::read() const {
  Reading r;
  if (!writable_.load(std::memory_order_acquire)) r.lock_ = std::shared_lock(swap_);
  r.store_ = store_.get();
  return r;
}

UsageStore* Storage::writable_store() const {
  return writable_.load(std::memory_order_acquire) ? store_.get() : nullptr;
}

GroupCommitWriter* Storage::writer() const {
  return writable_.load(std::memory_order_acquire) ? writer_.get() : nullptr;
}

std::string Storage::degraded() const {
  std::lock_guard lock(reason_mutex_);
  return reason_;
}

bool Storage::open_for_writing(bool startup) {
  try {
    auto store = backend_->open(opened_);
    writer_ = std::make_unique<GroupCommitWriter>(*store, ledger_, max_batches_);
    store_ = std::move(store);
    {
      std::lock_guard lock(reason_mutex_);
      reason_.clear();
    }
    writable_.store(true, std::memory_order_release);
    return true;
  } catch (const std::exception& e) {
    if (startup && !backend_->disk_is_the_cause(e)) throw;
    std::lock_guard lock(reason_mutex_);
    reason_ = e.what();
  }
  return false;
}

void Storage::open_read_only() {
  try {
    store_ = backend_->open_read_only();
    opened_(*store_);
  } catch (const std::exception& e) {
    store_.reset();
    log::error("the store cannot be read either: reads answer 503 until it can be opened",
               {{"storage", backend_->name()}, {"err", e.what()}});
  }
}

void Storage::recover() {
  auto last = std::chrono::steady_clock::now();
  std::unique_lock lock(stop_mutex_);
  for (;;) {
    if (stop_cv_.wait_for(lock, kPoll, [&] { return stop_; })) return;
    const auto now = std::chrono::steady_clock::now();
    if (!backend_->has_room() && now - last < kRetryAnyway) continue;
    last = now;
    lock.unlock();
    bool done = false;
    {
      std::unique_lock swap(swap_);
      // Closed first: SQLite shares one -shm mapping per file within a process, and the read-only
      // one would make the new connections read-only too.
      store_.reset();
      done = open_for_writing(false);
      if (!done) open_read_only();
    }
    if (done) log::info("the store is open for writing again: ingest resumes");
    lock.lock();
    if (done) return;
  }
}

}  // namespace aiusage
