#include "socket_path.h"

#include <unistd.h>

#include <cstdlib>

namespace interpd::clients {

SocketEnvironment SocketEnvironment::FromProcess() {
  SocketEnvironment env;
  if (const char* v = std::getenv("INTERPD_SOCKET")) env.interpd_socket = v;
  if (const char* v = std::getenv("XDG_RUNTIME_DIR")) env.xdg_runtime_dir = v;
  if (const char* v = std::getenv("RUNTIME_DIRECTORY")) env.runtime_directory = v;
  env.is_root = geteuid() == 0;
  return env;
}

std::string_view SocketChoice::SourceName() const {
  switch (source) {
    case Source::kFlag:
      return "--socket";
    case Source::kEnvironment:
      return "INTERPD_SOCKET";
    case Source::kDefault:
      break;
  }
  return "the default path";
}

std::string DefaultSocketPath(const SocketEnvironment& env) {
  // The XDG base directory spec says a relative XDG_RUNTIME_DIR must be
  // ignored; the daemon ignores it too.
  if (!env.xdg_runtime_dir.empty() && env.xdg_runtime_dir.front() == '/') {
    std::string dir = env.xdg_runtime_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (dir == "/") dir.clear();
    return dir + "/interpd/interpd.sock";
  }
  if (env.is_root || !env.runtime_directory.empty()) return std::string(kSystemSocketPath);
  return "./run/interpd.sock";
}

SocketChoice ChooseSocket(std::string_view flag, const SocketEnvironment& env) {
  if (!flag.empty()) return {std::string(flag), SocketChoice::Source::kFlag};
  if (!env.interpd_socket.empty()) return {env.interpd_socket, SocketChoice::Source::kEnvironment};
  return {DefaultSocketPath(env), SocketChoice::Source::kDefault};
}

}  // namespace interpd::clients
