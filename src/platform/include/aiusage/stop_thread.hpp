#pragma once
// Stopping a thread that waits on a condition variable for a flag.
#include <condition_variable>
#include <mutex>
#include <thread>

namespace aiusage {

// Sets `flag` under `mutex`, wakes the thread waiting on `cv` and joins it.
inline void stop_thread(std::mutex& mutex, std::condition_variable& cv, bool& flag,
                        std::thread& thread) {
  {
    std::lock_guard lock(mutex);
    flag = true;
  }
  cv.notify_all();
  thread.join();
}

}  // namespace aiusage
