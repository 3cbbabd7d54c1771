#include "listen_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace interpd::daemon {

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

bool FillAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

// Is a daemon accepting on `path`? (A refused connection means a stale file.)
bool SomeoneListens(const std::string& path) {
  sockaddr_un addr;
  if (!FillAddress(path, &addr)) return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool alive = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return alive;
}

}  // namespace

Status AdoptSystemdSocket(ListenSocket* out, bool* found) {
  *found = false;
  const int n = sd_listen_fds(/*unset_environment=*/1);
  if (n < 0) return Status::Internal(std::string("sd_listen_fds: ") + std::strerror(-n));
  if (n == 0) return Status::OK();
  if (n != 1) {
    return Status::InvalidArgument("systemd passed " + std::to_string(n) +
                                   " sockets; interpd.socket must define exactly one ListenStream");
  }
  const int fd = SD_LISTEN_FDS_START;
  if (sd_is_socket_unix(fd, SOCK_STREAM, /*listening=*/1, nullptr, 0) <= 0) {
    return Status::InvalidArgument("the socket systemd passed is not a listening AF_UNIX stream socket");
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  out->fd = fd;
  out->inherited = true;
  out->owns_path = false;
  sockaddr_un addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.sun_path[0] != '\0') {
    out->path = addr.sun_path;
  }
  *found = true;
  return Status::OK();
}

Status CreateListenSocket(const std::string& path, mode_t mode, int backlog, ListenSocket* out) {
  sockaddr_un addr;
  if (path.empty() || !FillAddress(path, &addr)) {
    return Status::InvalidArgument("socket path must be 1.." + std::to_string(sizeof(addr.sun_path) - 1) +
                                   " bytes: \"" + path + "\"");
  }
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return Status::PermissionDenied("cannot create " + parent.string() + ": " + ec.message());
    // Only the daemon's user needs the directory; the socket's own mode
    // decides who may connect, so the directory must let them traverse.
    chmod(parent.c_str(), 0755);
  }
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Status::AlreadyExists(path + " exists and is not a socket");
    if (SomeoneListens(path)) {
      return Status::AlreadyExists("another daemon is already listening on " + path);
    }
    if (unlink(path.c_str()) != 0) return Status::PermissionDenied(Errno("cannot remove stale socket " + path));
  }

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Internal(Errno("socket"));
  // Invariant 1: the file is born with at most `mode` bits.
  const mode_t old_umask = umask(static_cast<mode_t>(~mode & 0777));
  const int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  const int bind_errno = errno;
  umask(old_umask);
  if (rc != 0) {
    close(fd);
    errno = bind_errno;
    return Status::PermissionDenied(Errno("cannot bind " + path));
  }
  if (chmod(path.c_str(), mode) != 0 || listen(fd, backlog) != 0) {
    const Status s = Status::Internal(Errno("cannot set up " + path));
    close(fd);
    unlink(path.c_str());
    return s;
  }
  out->fd = fd;
  out->path = path;
  out->inherited = false;
  out->owns_path = true;
  return Status::OK();
}

void RemoveListenSocket(const ListenSocket& s) {
  if (s.owns_path && !s.path.empty()) unlink(s.path.c_str());
}

}  // namespace interpd::daemon
