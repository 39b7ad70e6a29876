#pragma once
// A process-wide budget of bytes: requests reserve their estimated memory before reading their
// bodies and return it when answered, so that concurrent large bodies cannot exhaust memory.
#include <atomic>
#include <cstddef>
#include <optional>
#include <utility>

namespace aiusage {

class MemoryBudget {
 public:
  explicit MemoryBudget(std::size_t limit) : limit_(limit) {}

  // Bytes held until destroyed (or moved from); it may grow while the budget allows.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : budget_(other.budget_), bytes_(other.bytes_) {
      other.bytes_ = 0;
    }
    Lease& operator=(Lease&& other) noexcept {  // `other` returns what this held
      std::swap(budget_, other.budget_);
      std::swap(bytes_, other.bytes_);
      return *this;
    }
    ~Lease() {
      if (bytes_ > 0) budget_->used_.fetch_sub(bytes_, std::memory_order_relaxed);
    }
    std::size_t bytes() const { return bytes_; }
    // Holds `bytes` in all when the budget has room for the difference; false leaves it as it was.
    bool grow_to(std::size_t bytes) {
      if (bytes <= bytes_ || !budget_->take(bytes - bytes_)) return bytes <= bytes_;
      bytes_ = bytes;
      return true;
    }

   private:
    friend class MemoryBudget;
    Lease(MemoryBudget& budget, std::size_t bytes) : budget_(&budget), bytes_(bytes) {}
    MemoryBudget* budget_;
    std::size_t bytes_;
  };

  // nullopt when `bytes` more would pass the limit.
  std::optional<Lease> reserve(std::size_t bytes) {
    if (!take(bytes)) return std::nullopt;
    return Lease(*this, bytes);
  }
  std::size_t limit() const { return limit_; }

 private:
  bool take(std::size_t bytes) {
    const std::size_t before = used_.fetch_add(bytes, std::memory_order_relaxed);
    if (before + bytes <= limit_) return true;
    used_.fetch_sub(bytes, std::memory_order_relaxed);
    return false;
  }

  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

}  // namespace aiusage
