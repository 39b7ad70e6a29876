#pragma once
// Thread priorities for background work: Linux nice is per thread, so lowering one thread's
// leaves the request path's threads as they are.
#include <functional>

namespace aiusage {

// Sets the calling thread's nice value (higher: yields more); failures are ignored.
void set_thread_nice(int nice);
// Runs `fn` on a new thread at `nice` and returns its result; what it throws is rethrown here.
bool run_at_nice(int nice, const std::function<bool()>& fn);

}  // namespace aiusage
