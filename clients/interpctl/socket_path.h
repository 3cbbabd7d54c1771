// Socket path: where interpctl looks for the daemon.
//
// The order is the flag, then $INTERPD_SOCKET, then the daemon's own default
// (daemon/config.h ResolveSocketPath with nothing configured):
//   $XDG_RUNTIME_DIR/interpd/interpd.sock  when XDG_RUNTIME_DIR is absolute,
//   /run/interpd/interpd.sock              as root or under systemd
//                                          ($RUNTIME_DIRECTORY set),
//   ./run/interpd.sock                     otherwise.
// The default is restated here rather than linked from daemon/: a client
// must not depend on the daemon's configuration library. A test compares
// the two rules over a table of environments, so they cannot drift apart.
//
// Thread safety: pure functions; FromProcess() reads the environment.
//
// Invariants:
//   1. The returned path is never empty.
//   2. DefaultSocketPath(env) == daemon::ResolveSocketPath("", env') for
//      the same XDG_RUNTIME_DIR, RUNTIME_DIRECTORY and euid.
#ifndef INTERPD_CLIENTS_INTERPCTL_SOCKET_PATH_H_
#define INTERPD_CLIENTS_INTERPCTL_SOCKET_PATH_H_

#include <string>
#include <string_view>

namespace interpd::clients {

struct SocketEnvironment {
  std::string interpd_socket;     // $INTERPD_SOCKET, "" if unset
  std::string xdg_runtime_dir;    // $XDG_RUNTIME_DIR, "" if unset
  std::string runtime_directory;  // $RUNTIME_DIRECTORY, "" if unset
  bool is_root = false;           // geteuid() == 0

  static SocketEnvironment FromProcess();
};

struct SocketChoice {
  enum class Source { kFlag, kEnvironment, kDefault };
  std::string path;
  Source source = Source::kDefault;

  // "--socket", "INTERPD_SOCKET" or "the default path", for messages.
  std::string_view SourceName() const;
};

// The daemon's default for `env`, ignoring INTERPD_SOCKET (invariant 2).
std::string DefaultSocketPath(const SocketEnvironment& env);

// The socket to use: `flag` if non-empty, else INTERPD_SOCKET, else the
// default.
SocketChoice ChooseSocket(std::string_view flag, const SocketEnvironment& env);

// The path the system service listens on (config/interpd.service), for
// hints when a user's own default finds nothing.
inline constexpr std::string_view kSystemSocketPath = "/run/interpd/interpd.sock";

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_SOCKET_PATH_H_
