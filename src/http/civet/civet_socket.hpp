#pragma once
// What CivetWeb 1.15 hides about a connection's socket: which one it is (found through
// /proc/self/fd), a deadline for reading a whole body, and waking its listener to stop.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

struct mg_connection;
struct mg_request_info;

namespace aiusage {

// What the transport keeps per connection (its user data): the socket once found, and whether
// an answer promised by answer_later() is still being written from another thread.
struct Connection {
  int fd = -1;
  std::mutex mutex;
  std::condition_variable cv;
  bool answering = false;
  // Blocks until no answer is being written, so nothing else is sent or read before it.
  void wait_answered();
  void begin_answer();
  void end_answer();
};

// Marks a new connection as established, its socket not yet known (CivetWeb's init_connection).
int init_connection(const mg_connection* conn, void** conn_data);
// Whether init_connection ran for the connection, and forgets it (CivetWeb's connection_close)
// once its promised answer is written.
bool close_connection(mg_connection* conn);
// The connection's state; null before init_connection and after close_connection.
Connection* connection_of(const mg_connection* conn);
// The accepted socket of a request's connection (CivetWeb does not expose it), or -1. Found once
// per connection and kept as its user data.
int socket_of(const mg_connection* conn, const mg_request_info* ri);

// Shuts an armed socket for reading once its deadline passes, so that a blocking mg_read returns
// even while a client trickles bytes; reads can then ask for the whole body at once.
class BodyWatchdog {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  BodyWatchdog();
  ~BodyWatchdog();
  BodyWatchdog(const BodyWatchdog&) = delete;
  BodyWatchdog& operator=(const BodyWatchdog&) = delete;

  // Disarms on destruction; `fd` must stay open while armed.
  class Armed {
   public:
    Armed(BodyWatchdog& w, int fd, Deadline deadline) : w_(w), ticket_(w.arm(fd, deadline)) {}
    ~Armed() { w_.disarm(ticket_); }
    Armed(const Armed&) = delete;
    Armed& operator=(const Armed&) = delete;

   private:
    BodyWatchdog& w_;
    std::uint64_t ticket_;
  };

 private:
  struct Entry {
    int fd;
    Deadline deadline;
  };
  std::uint64_t arm(int fd, Deadline deadline);
  void disarm(std::uint64_t ticket);
  void run();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Entry> armed_;
  std::uint64_t next_ticket_ = 0;
  // When the thread wakes by itself (max: never); it holds the lock whenever it is awake.
  Deadline wake_at_ = Deadline::min();
  bool stopping_ = false;
  std::thread thread_;
};

// Opens and closes a loopback connection to `port` (IPv4, then IPv6): CivetWeb's listener polls
// in 2 s steps, and a connection wakes it so that mg_stop returns promptly.
void wake_listener(int port);

}  // namespace aiusage
