#include "unix_connection.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace interpd::clients {

UnixConnection::~UnixConnection() { Close(); }

UnixConnection::UnixConnection(UnixConnection&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

UnixConnection& UnixConnection::operator=(UnixConnection&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void UnixConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

UnixConnection UnixConnection::Connect(const std::string& path, int* error) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // sun_path must hold the path and its terminating NUL; strncpy would
  // silently connect to a truncated path instead.
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    *error = path.empty() ? ENOENT : ENAMETOOLONG;
    return UnixConnection();
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = errno;
    return UnixConnection();
  }
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    *error = errno;
    ::close(fd);
    return UnixConnection();
  }
  *error = 0;
  return UnixConnection(fd);
}

int UnixConnection::WriteAll(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

UnixConnection::ReadResult UnixConnection::Read(char* buf, size_t size, std::optional<Clock::time_point> deadline,
                                                int wake_fd) {
  for (;;) {
    int timeout_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      if (left <= 0) return {ReadResult::Kind::kTimeout, 0, 0};
      timeout_ms = left > 1'000'000 ? 1'000'000 : static_cast<int>(left);
    }
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int rc = ::poll(fds, wake_fd >= 0 ? 2 : 1, timeout_ms);
    if (rc < 0) {
      if (errno == EINTR) continue;  // a handled signal also wrote to wake_fd; poll again to see it
      return {ReadResult::Kind::kError, 0, errno};
    }
    if (rc == 0) continue;  // the deadline check above decides
    if (wake_fd >= 0 && (fds[1].revents & POLLIN) != 0) return {ReadResult::Kind::kWoken, 0, 0};
    if (fds[0].revents == 0) continue;
    const ssize_t n = ::recv(fd_, buf, size, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return {ReadResult::Kind::kError, 0, errno};
    }
    if (n == 0) return {ReadResult::Kind::kEof, 0, 0};
    return {ReadResult::Kind::kData, static_cast<size_t>(n), 0};
  }
}

}  // namespace interpd::clients
