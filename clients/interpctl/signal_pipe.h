// SignalPipe: turns SIGINT and SIGTERM into a readable descriptor while a
// run is in progress, so the wait loop can cancel the remote run instead of
// dying with it still running.
//
// The handler only write()s the signal number into a non-blocking pipe
// (async-signal-safe); everything else happens in the loop that polls
// fd(). The previous dispositions are restored on destruction, so Ctrl-C
// outside a run (connecting, printing) behaves as usual.
//
// Thread safety: process-global state (the signal handlers and the one
// pipe they write to). At most one SignalPipe exists at a time; it is
// created, polled and destroyed by one thread.
//
// Invariants:
//   1. While a SignalPipe exists, SIGINT and SIGTERM never terminate the
//      process; each delivery makes fd() readable until Take() reads it.
//   2. The destructor restores exactly the dispositions it replaced.
#ifndef INTERPD_CLIENTS_INTERPCTL_SIGNAL_PIPE_H_
#define INTERPD_CLIENTS_INTERPCTL_SIGNAL_PIPE_H_

#include <signal.h>

namespace interpd::clients {

class SignalPipe {
 public:
  // REQUIRES: no other SignalPipe exists.
  SignalPipe();
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  // Readable once a signal arrived; -1 if the pipe could not be made (then
  // signals keep their default effect).
  int fd() const { return read_fd_; }

  struct Deliveries {
    int count = 0;  // signals received since the last Take()
    int last = 0;   // the number of the last one, 0 if none
  };
  // Reads the pending deliveries.
  Deliveries Take();

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  bool int_installed_ = false;
  bool term_installed_ = false;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_SIGNAL_PIPE_H_
