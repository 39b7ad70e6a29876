#include "aiusage/open_files.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "aiusage/log.hpp"

namespace aiusage {

namespace {
// Descriptors besides the connections: listeners, the databases and their WALs, logs, a margin
// for the 20 accepted connections CivetWeb queues for a worker.
constexpr std::uint64_t kOtherFiles = 64;
}  // namespace

OpenFileLimit raise_open_file_limit() {
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) != 0) return {0, 0, errno};
  OpenFileLimit out{l.rlim_cur, l.rlim_max, 0};
  if (l.rlim_cur >= l.rlim_max) return out;
  l.rlim_cur = l.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &l) != 0)
    out.error = errno;
  else
    out.soft = l.rlim_cur;
  return out;
}

void ensure_open_files_for(int threads) {
  const OpenFileLimit l = raise_open_file_limit();
  const std::uint64_t needed = static_cast<std::uint64_t>(threads) + kOtherFiles;
  if (l.soft >= needed) return;
  log::warn("open-file limit below what the HTTP workers can hold; connections beyond it wait",
            {{"limit", std::to_string(l.soft)},
             {"hard_limit", std::to_string(l.hard)},
             {"needed", std::to_string(needed)},
             {"err", l.error != 0 ? std::strerror(l.error) : "hard limit too low"}});
}

}  // namespace aiusage
