// LD_PRELOAD shim for tests: fdatasync fails with EIO while the file named by
// AIUSAGE_FAIL_FDATASYNC exists, and is the real one otherwise.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

extern "C" int fdatasync(int fd) {
  using Fn = int (*)(int);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "fdatasync"));
  const char* flag = std::getenv("AIUSAGE_FAIL_FDATASYNC");
  if (flag != nullptr && ::access(flag, F_OK) == 0) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}
