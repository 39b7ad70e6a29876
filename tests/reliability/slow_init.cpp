// LD_PRELOAD shim for tests: a library initialiser that takes long, as on a loaded machine. When
// AIUSAGE_SLOW_INIT_MARKER names a file, its constructor creates it, then sleeps
// AIUSAGE_SLOW_INIT_MS milliseconds (default 100) before the program's main runs.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace {

[[gnu::constructor]] void slow_init() {
  const char* marker = std::getenv("AIUSAGE_SLOW_INIT_MARKER");
  if (marker == nullptr) return;
  const char* ms = std::getenv("AIUSAGE_SLOW_INIT_MS");
  const int fd = ::open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms ? std::atoi(ms) : 100));
}

}  // namespace
