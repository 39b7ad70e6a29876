// Thread priorities: run_at_nice's thread, nice and errors.
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>

#include "aiusage/priority.hpp"

using namespace aiusage;

TEST_CASE("priority - run_at_nice runs on a thread of its own at that nice") {
  const int caller_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  const std::thread::id caller = std::this_thread::get_id();
  SECTION("its result, its thread and its nice; the caller's nice unchanged") {
    int seen_nice = -100;
    std::thread::id seen_thread;
    CHECK(run_at_nice(10, [&] {
      seen_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
      seen_thread = std::this_thread::get_id();
      return true;
    }));
    // Raising a nice needs no privilege; lowering it (a test run under `nice`) needs CAP_SYS_NICE.
    CHECK((seen_nice == 10 || (caller_nice > 10 && seen_nice == caller_nice)));
    CHECK(seen_thread != caller);
    CHECK(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())) == caller_nice);
    CHECK_FALSE(run_at_nice(10, [] { return false; }));
  }
  SECTION("what it throws is rethrown to the caller") {
    CHECK_THROWS_WITH(run_at_nice(10, []() -> bool { throw std::runtime_error("page failed"); }),
                      "page failed");
  }
}
