// Creating (or adopting) the daemon's listening Unix socket.
//
// Thread safety: CreateListenSocket() changes the process umask for the
// duration of bind(); call it before any other thread exists (main() does
// so before starting the interpreters and the logger's threads).
//
// Invariants:
//   1. The socket file never exists with more permissive bits than `mode`:
//      bind() runs under umask(~mode), then the mode is set exactly.
//   2. A socket file of a daemon that is still running is never removed; a
//      stale one (nobody accepts on it) is.
#ifndef INTERPD_DAEMON_LISTEN_SOCKET_H_
#define INTERPD_DAEMON_LISTEN_SOCKET_H_

#include <sys/types.h>

#include <string>

#include "interpd/status.h"

namespace interpd::daemon {

struct ListenSocket {
  int fd = -1;
  std::string path;        // empty when inherited from systemd
  bool inherited = false;  // socket activation (LISTEN_FDS)
  bool owns_path = false;  // remove `path` on shutdown
};

// The socket systemd passed (LISTEN_FDS), if any: exactly one AF_UNIX
// stream socket is accepted; anything else is an error.
Status AdoptSystemdSocket(ListenSocket* out, bool* found);

// Creates, binds and listens on `path` with permission bits `mode`, making
// the parent directory (0755, or 0700 under $XDG_RUNTIME_DIR) if missing.
Status CreateListenSocket(const std::string& path, mode_t mode, int backlog, ListenSocket* out);

// Unlinks the socket file if this process created it.
void RemoveListenSocket(const ListenSocket& s);

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_LISTEN_SOCKET_H_
