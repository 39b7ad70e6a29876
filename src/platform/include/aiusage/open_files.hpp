#pragma once
// The open-file limit: every connection a worker holds is one descriptor.
#include <cstdint>

namespace aiusage {

struct OpenFileLimit {
  std::uint64_t soft = 0;  // in force after raise_open_file_limit()
  std::uint64_t hard = 0;
  int error = 0;  // errno of a refused raise, 0 when none was needed or it succeeded
};

// Raises the soft RLIMIT_NOFILE to the hard limit when it is lower (systemd and login shells
// start processes at 1024, fewer than the default workers can hold).
OpenFileLimit raise_open_file_limit();

// Raises the limit and logs a warning when it stays below what `threads` workers need.
void ensure_open_files_for(int threads);

}  // namespace aiusage
