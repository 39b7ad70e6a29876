#include <csignal>

#include "aiusage/cli.hpp"

namespace {

// The program's first code, before any library's initialisers and main: SIGHUP, SIGTERM and SIGINT
// are blocked from here, so one sent during startup waits for run_main's sigwait (a reload, or a
// clean stop, once the service is up) instead of killing the process.
void block_signals(int, char**, char**) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
}

[[gnu::section(".preinit_array"), gnu::used]] void (*const kBlockSignals)(int, char**,
                                                                          char**) = block_signals;

}  // namespace

int main(int argc, char** argv) { return aiusage::run_main(argc, argv); }
