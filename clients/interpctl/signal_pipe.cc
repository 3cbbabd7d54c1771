#include "signal_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace interpd::clients {

namespace {

// The write end the handler uses. Process-global because a signal handler
// has no other way to find it; set before the handlers are installed and
// cleared after they are removed.
volatile sig_atomic_t g_write_fd = -1;

void OnSignal(int signo) {
  const int saved_errno = errno;  // the interrupted code may be about to read errno
  const int fd = g_write_fd;
  if (fd >= 0) {
    const unsigned char byte = static_cast<unsigned char>(signo);
    // A full pipe means deliveries are already pending: dropping this one
    // loses nothing the loop needs to know.
    [[maybe_unused]] ssize_t ignored = ::write(fd, &byte, 1);
  }
  errno = saved_errno;
}

}  // namespace

SignalPipe::SignalPipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  g_write_fd = write_fd_;
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a blocking call elsewhere returns EINTR instead of
  // hiding the signal; the poll loop retries and then sees the pipe.
  action.sa_flags = 0;
  int_installed_ = ::sigaction(SIGINT, &action, &old_int_) == 0;
  term_installed_ = ::sigaction(SIGTERM, &action, &old_term_) == 0;
}

SignalPipe::~SignalPipe() {
  if (int_installed_) ::sigaction(SIGINT, &old_int_, nullptr);
  if (term_installed_) ::sigaction(SIGTERM, &old_term_, nullptr);
  g_write_fd = -1;
  if (read_fd_ >= 0) ::close(read_fd_);
  if (write_fd_ >= 0) ::close(write_fd_);
}

SignalPipe::Deliveries SignalPipe::Take() {
  Deliveries got;
  if (read_fd_ < 0) return got;
  unsigned char buf[16];
  for (;;) {
    const ssize_t n = ::read(read_fd_, buf, sizeof(buf));
    if (n > 0) {
      got.count += static_cast<int>(n);
      got.last = buf[n - 1];
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return got;
  }
}

}  // namespace interpd::clients
