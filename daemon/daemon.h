// Daemon: the whole process once configured: the CPython runtime, the
// worker pool, the server, signals and systemd notifications.
//
// Lifecycle: Run() sets everything up, sends READY=1, and runs the I/O loop
// on the calling thread until a SIGTERM/SIGINT drain has finished.
//   SIGTERM/SIGINT  stop accepting; accepted work finishes for up to
//                   server.shutdown_grace, then is cancelled; answers are
//                   flushed; interpreters are destroyed; exit 0. A second
//                   signal during the drain cancels at once.
//   SIGHUP          re-reads the configuration file; applies what can change
//                   live (log level, limits, allowlists) and logs every key
//                   that needs a restart.
//
// Thread safety: Run() on the main thread. Signal handling, reload and the
// server run on the I/O thread; the pool's drain runs on a helper thread.
#ifndef INTERPD_DAEMON_DAEMON_H_
#define INTERPD_DAEMON_DAEMON_H_

#include <memory>

#include "daemon/config.h"
#include "daemon/config_loader.h"

namespace interpd::daemon {

class Daemon {
 public:
  Daemon(Config config, ConfigSource source);
  ~Daemon();
  // Returns the process exit code.
  int Run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_DAEMON_H_
