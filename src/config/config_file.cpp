#include "config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "aiusage/config.hpp"

namespace aiusage {

namespace {

// What a file that is not a regular one is, for the error.
const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Error os_error(const char* what) { return Error{std::string(what) + ": " + std::strerror(errno)}; }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Result<std::string> read_config_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. The type is checked
  // on the opened descriptor, so the file cannot be swapped between the check and the read.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return os_error("cannot open file");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return os_error("cannot stat file");
  if (!S_ISREG(st.st_mode))
    return Error{std::string("is ") + file_kind(st.st_mode) + ", not a regular file"};
  const Error too_large{"larger than " + std::to_string(kMaxConfigFileBytes >> 20) +
                        " MiB, the most a configuration file may hold"};
  if (static_cast<std::uint64_t>(st.st_size) > kMaxConfigFileBytes) return too_large;
  // Read to the bound whatever the size said: a file may grow meanwhile, or report 0 (/proc).
  std::string text;
  text.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error("cannot read file");
    if (n == 0) return text;
    if (text.size() + static_cast<std::size_t>(n) > kMaxConfigFileBytes) return too_large;
    text.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace aiusage
