// UnixConnection: one blocking stream connection to the daemon's socket.
//
// Reads wait with poll() on the socket and, optionally, a second "wake"
// descriptor (SignalPipe's), so a Ctrl-C interrupts a wait without relying
// on EINTR, which a signal arriving just before poll() would miss.
//
// Thread safety: none; one thread owns a connection. Move-only.
//
// Invariants:
//   1. valid() <=> the object owns an open socket; the destructor closes it.
//   2. Writes never raise SIGPIPE (MSG_NOSIGNAL): a daemon that went away
//      is reported as an error, not by killing interpctl.
#ifndef INTERPD_CLIENTS_INTERPCTL_UNIX_CONNECTION_H_
#define INTERPD_CLIENTS_INTERPCTL_UNIX_CONNECTION_H_

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace interpd::clients {

class UnixConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // The outcome of Read().
  struct ReadResult {
    enum class Kind { kData, kEof, kTimeout, kWoken, kError };
    Kind kind = Kind::kError;
    size_t bytes = 0;  // kData: how many bytes were read
    int error = 0;     // kError: errno
  };

  UnixConnection() = default;
  ~UnixConnection();
  UnixConnection(UnixConnection&& other) noexcept;
  UnixConnection& operator=(UnixConnection&& other) noexcept;
  UnixConnection(const UnixConnection&) = delete;
  UnixConnection& operator=(const UnixConnection&) = delete;

  // Connects to `path`. On failure returns an invalid connection and sets
  // *error to the errno (ENAMETOOLONG when the path does not fit sun_path).
  static UnixConnection Connect(const std::string& path, int* error);

  bool valid() const { return fd_ >= 0; }

  // Writes all of `bytes`. Returns 0, or the errno of the failed write.
  // REQUIRES: valid().
  int WriteAll(std::string_view bytes);

  // Reads what is available into buf[0, size), waiting until `deadline`
  // (nullopt: no limit). Returns kWoken without reading when `wake_fd`
  // (-1: none) becomes readable first.
  // REQUIRES: valid(), size > 0.
  ReadResult Read(char* buf, size_t size, std::optional<Clock::time_point> deadline, int wake_fd);

  void Close();

 private:
  explicit UnixConnection(int fd) : fd_(fd) {}

  int fd_ = -1;  // invariant 1
};

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_UNIX_CONNECTION_H_
