#include "fake_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "daemon_fixture.h"
#include "interpd/protocol/json_writer.h"

namespace interpd::test {

FakeDaemon::FakeDaemon(std::string socket_path, Script script, std::string greeting, bool close_after_greeting)
    : path_(std::move(socket_path)),
      script_(std::move(script)),
      greeting_(std::move(greeting)),
      close_after_greeting_(close_after_greeting) {
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || listen(listen_fd_, 16) != 0) {
    throw std::runtime_error("FakeDaemon: cannot listen on " + path_);
  }
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("FakeDaemon: pipe failed");
  thread_ = std::thread([this] { Serve(); });
}

FakeDaemon::~FakeDaemon() {
  stop_ = true;
  [[maybe_unused]] ssize_t ignored = write(stop_pipe_[1], "x", 1);
  thread_.join();
  close(listen_fd_);
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
  unlink(path_.c_str());
}

std::vector<std::string> FakeDaemon::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void FakeDaemon::Serve() {
  while (!stop_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) <= 0) continue;
    if (fds[1].revents != 0) return;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ServeConnection(fd);
    close(fd);
  }
}

void FakeDaemon::ServeConnection(int fd) {
  auto write_all = [fd](const std::string& bytes, bool trickle = false) {
    size_t off = 0;
    while (off < bytes.size()) {
      const size_t chunk = trickle ? 1 : bytes.size() - off;
      const ssize_t n = send(fd, bytes.data() + off, chunk, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  };
  if (!greeting_.empty()) {
    write_all(greeting_);
    if (close_after_greeting_) return;
  }
  std::string buffer;
  while (!stop_) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) <= 0) continue;
    if (fds[1].revents != 0) return;
    char buf[65536];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return;
    buffer.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(line);
      }
      const Reply reply = script_(line);
      write_all(reply.bytes, reply.trickle);
      if (reply.close) return;
    }
  }
}

std::string ErrorReply(const std::string& id_json, int code, const std::string& message) {
  return "{\"jsonrpc\":\"2.0\",\"id\":" + id_json + ",\"error\":{\"code\":" + std::to_string(code) +
         ",\"message\":" + Quote(message) + "}}\n";
}

std::string IdOf(const std::string& request_line) {
  const Value request = ParseJson(request_line);
  const Value* id = request.kind() == ValueKind::kDict ? request.Find("id") : nullptr;
  if (id == nullptr) return "null";
  std::string text;
  return protocol::AppendJson(*id, &text).ok() ? text : "null";
}

}  // namespace interpd::test
