#include "daemon_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "interpd/protocol/json_reader.h"
#include "interpd/protocol/json_writer.h"

namespace interpd::test {

namespace {

using Clock = std::chrono::steady_clock;

int MillisLeft(Clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

sockaddr_un Address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  return a;
}

}  // namespace

std::string DaemonBinary() { return INTERPD_DAEMON_BINARY; }

TempDir::TempDir() {
  // Short paths: sun_path holds 107 bytes.
  char tmpl[] = "/tmp/interpd-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Daemon::Daemon(DaemonOptions options) {
  socket_path_ = options.socket.empty() ? dir_.File("d.sock") : options.socket;
  log_path_ = dir_.File("daemon.log");
  const std::string notify_path = dir_.File("notify");
  notify_fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un na = Address(notify_path);
  if (bind(notify_fd_, reinterpret_cast<sockaddr*>(&na), sizeof(na)) != 0) throw std::runtime_error("bind notify");

  int listen_fd = -1;
  if (options.socket_activation) {
    listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un la = Address(socket_path_);
    if (bind(listen_fd, reinterpret_cast<sockaddr*>(&la), sizeof(la)) != 0 || listen(listen_fd, 64) != 0) {
      throw std::runtime_error("listen for socket activation");
    }
  }
  std::vector<std::string> argv = {DaemonBinary()};
  if (!options.config_toml.empty()) {
    config_path_ = dir_.File("interpd.toml");
    std::ofstream(config_path_) << options.config_toml;
    argv.push_back("--config");
    argv.push_back(config_path_);
  }
  if (!options.socket_activation) {
    argv.push_back("--socket");
    argv.push_back(socket_path_);
  }
  argv.push_back("--workers");
  argv.push_back(std::to_string(options.workers));
  for (auto& a : options.args) argv.push_back(a);

  pid_ = fork();
  if (pid_ == 0) {
    int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(log, 2);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    setenv("NOTIFY_SOCKET", notify_path.c_str(), 1);
    unsetenv("JOURNAL_STREAM");
    if (listen_fd >= 0) {
      if (listen_fd != 3) {
        dup2(listen_fd, 3);
        close(listen_fd);
      }
      setenv("LISTEN_FDS", "1", 1);
      setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    } else {
      unsetenv("LISTEN_FDS");
      unsetenv("LISTEN_PID");
    }
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  if (listen_fd >= 0) close(listen_fd);
}

Daemon::~Daemon() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
  if (notify_fd_ >= 0) close(notify_fd_);
}

bool Daemon::WaitNotify(const std::string& what, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  for (const auto& n : notifications_) {
    if (n.find(what) != std::string::npos) return true;
  }
  for (;;) {
    pollfd p{notify_fd_, POLLIN, 0};
    const int left = MillisLeft(until);
    if (poll(&p, 1, left > 200 ? 200 : left) == 1) {
      char buf[4096];
      ssize_t n = recv(notify_fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        notifications_.emplace_back(buf, static_cast<size_t>(n));
        if (notifications_.back().find(what) != std::string::npos) return true;
      }
    }
    int st;
    if (!exited_ && waitpid(pid_, &st, WNOHANG) == pid_) {
      exited_ = true;
      return false;
    }
    if (Clock::now() >= until) return false;
  }
}

void Daemon::Signal(int signo) {
  if (!exited_) kill(pid_, signo);
}

std::optional<int> Daemon::WaitExit(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      if (WIFEXITED(st)) return WEXITSTATUS(st);
      if (WIFSIGNALED(st)) return -WTERMSIG(st);
      return -1000;
    }
    if (Clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Daemon::Log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

// Writes all of `bytes` to a connected socket (both test clients use it).
bool SendAll(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Client::Client(const std::string& socket_path) {
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a = Address(socket_path);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

Client::~Client() { Close(); }

void Client::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool Client::SendRaw(const std::string& bytes) { return SendAll(fd_, bytes); }

std::optional<std::string> Client::ReadLine(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  for (;;) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, MillisLeft(until)) != 1) return std::nullopt;
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return std::nullopt;
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

bool Client::AtEof(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  char c;
  return recv(fd_, &c, 1, MSG_PEEK) == 0;
}

Value Client::ReadJson(std::chrono::milliseconds timeout) {
  auto line = ReadLine(timeout);
  return line ? ParseJson(*line) : Value();
}

Value Client::Call(const std::string& method, const std::string& params_json, int id,
                   std::chrono::milliseconds timeout) {
  std::string req = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":" + Quote(method);
  if (!params_json.empty()) req += ",\"params\":" + params_json;
  req += "}";
  if (!Send(req)) return Value();
  const auto until = Clock::now() + timeout;
  for (;;) {
    Value v = ReadJson(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()));
    if (v.kind() != ValueKind::kDict) return v;
    const Value* vid = v.Find("id");
    if (vid == nullptr) {
      notifications.push_back(v);
      continue;
    }
    if (*vid == Value::Int(id)) return v;
  }
}

int FreeTcpPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw std::runtime_error("no free TCP port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

std::set<int> ListeningTcpPorts(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::set<std::string> inodes;
  for (const auto& entry : std::filesystem::directory_iterator(proc + "/fd")) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<int> ports;
  for (const char* table : {"/net/tcp", "/net/tcp6"}) {
    std::ifstream in(proc + table);
    std::string line;
    std::getline(in, line);  // column titles
    while (std::getline(in, line)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (state != "0A" || inodes.count(inode) == 0) continue;  // 0A: LISTEN
      ports.insert(std::stoi(local.substr(local.rfind(':') + 1), nullptr, 16));
    }
  }
  return ports;
}

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) { return tolower(a) == tolower(b); })) {
      return value;
    }
  }
  return std::nullopt;
}

Value HttpResponse::Json() const { return ParseJson(body); }

HttpClient::HttpClient(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool HttpClient::SendRaw(const std::string& bytes) { return SendAll(fd_, bytes); }

std::string HttpClient::Request(const std::string& method, const std::string& target, const std::string& body,
                                const std::vector<std::string>& headers) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : headers) out += h + "\r\n";
  if (!body.empty() || method == "POST") out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

bool HttpClient::Fill(size_t n, Clock::time_point until) {
  while (buffer_.size() < n) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, MillisLeft(until)) != 1) return false;
    char buf[65536];
    ssize_t got = recv(fd_, buf, sizeof(buf), 0);
    if (got <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(got));
  }
  return true;
}

HttpResponse HttpClient::Read(std::chrono::milliseconds timeout, bool head) {
  const auto until = Clock::now() + timeout;
  HttpResponse r;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(buffer_.size() + 1, until)) return r;
  }
  std::istringstream lines(buffer_.substr(0, end + 2));
  buffer_.erase(0, end + 4);
  std::string line;
  std::getline(lines, line);
  // "HTTP/1.1 200 OK\r"
  if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) return r;
  const int status = std::stoi(line.substr(9, 3));
  r.reason = line.substr(13, line.size() - 14);
  while (std::getline(lines, line) && line != "\r") {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return r;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.back() == '\r' || value.back() == ' ')) {
      if (value.front() == ' ') value.erase(0, 1);
      else value.pop_back();
    }
    r.headers.emplace_back(line.substr(0, colon), value);
  }
  size_t length = 0;
  if (auto cl = r.Header("Content-Length")) length = std::stoul(*cl);
  if (head || status / 100 == 1 || status == 204 || status == 304) length = 0;
  if (!Fill(length, until)) return r;
  r.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  r.status = status;
  return r;
}

HttpResponse HttpClient::Post(const std::string& body, std::chrono::milliseconds timeout) {
  if (!SendRaw(Request("POST", "/rpc", body))) return {};
  for (;;) {
    HttpResponse r = Read(timeout);
    if (r.status / 100 != 1) return r;
  }
}

bool HttpClient::WaitReadable(std::chrono::milliseconds timeout) {
  if (!buffer_.empty()) return true;
  pollfd p{fd_, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

bool HttpClient::AtEof(std::chrono::milliseconds timeout) {
  if (!buffer_.empty()) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  char c;
  return recv(fd_, &c, 1, MSG_PEEK) == 0;
}

std::string Quote(const std::string& s) {
  std::string out;
  Status st = protocol::AppendJson(Value::Str(s), &out, {});
  return st.ok() ? out : "\"\"";
}

Value ParseJson(const std::string& text) {
  Value v;
  protocol::JsonReadError err;
  protocol::Limits limits;
  limits.max_frame_bytes = 1 << 30;
  limits.max_depth = 1000;  // the test client reads whatever the daemon sends
  if (!protocol::ReadJson(text, limits, &v, &err)) return Value();
  return v;
}

const Value& Get(const Value& v, std::string_view key) {
  static const Value kNone;
  const Value* p = v.Find(key);
  return p ? *p : kNone;
}

std::string GetStr(const Value& v, std::string_view key) {
  const Value& x = Get(v, key);
  return x.kind() == ValueKind::kStr ? std::string(x.str()) : std::string();
}

int64_t GetInt(const Value& v, std::string_view key) {
  const Value& x = Get(v, key);
  return x.kind() == ValueKind::kInt ? x.as_int() : INT64_MIN;
}

}  // namespace interpd::test
