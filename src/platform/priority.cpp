#include "aiusage/priority.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <exception>
#include <thread>

namespace aiusage {

void set_thread_nice(int nice) {
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice);
}

bool run_at_nice(int nice, const std::function<bool()>& fn) {
  bool result = false;
  std::exception_ptr error;
  std::thread([&] {
    set_thread_nice(nice);
    try {
      result = fn();
    } catch (...) {
      error = std::current_exception();
    }
  }).join();
  if (error) std::rethrow_exception(error);
  return result;
}

}  // namespace aiusage
