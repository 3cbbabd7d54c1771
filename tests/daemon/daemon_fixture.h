// Integration-test support: start the real interpd binary on a temporary
// socket, the way systemd would (NOTIFY_SOCKET, optionally LISTEN_FDS), and
// talk JSON-RPC to it like a client.
#ifndef INTERPD_TESTS_DAEMON_DAEMON_FIXTURE_H_
#define INTERPD_TESTS_DAEMON_DAEMON_FIXTURE_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "interpd/value.h"

namespace interpd::test {

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct DaemonOptions {
  std::vector<std::string> args;    // extra command-line flags
  std::string config_toml;          // written to a file and passed with --config when non-empty
  bool socket_activation = false;   // pass a listening socket as fd 3 (LISTEN_FDS=1)
  std::string socket;               // socket path; "" = one in the daemon's temporary directory
  int workers = 2;
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options = {});
  ~Daemon();  // SIGKILL if still running

  const std::string& socket_path() const { return socket_path_; }
  const std::string& config_path() const { return config_path_; }
  pid_t pid() const { return pid_; }
  TempDir& dir() { return dir_; }

  // Waits for a notification containing `what` (e.g. "READY=1").
  bool WaitNotify(const std::string& what, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Every notification received so far.
  const std::vector<std::string>& notifications() const { return notifications_; }

  void Signal(int signo);
  // Waits for exit; returns the exit status (or -signal), nullopt on timeout.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // What the daemon wrote to stderr (its log), so far.
  std::string Log() const;

 private:
  TempDir dir_;
  std::string socket_path_;
  std::string config_path_;
  std::string log_path_;
  int notify_fd_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::vector<std::string> notifications_;
};

// A blocking line-oriented client for one connection.
class Client {
 public:
  explicit Client(const std::string& socket_path);
  ~Client();
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool SendRaw(const std::string& bytes);
  // Sends `json` plus '\n'.
  bool Send(const std::string& json) { return SendRaw(json + "\n"); }
  // The next line (without '\n'), or nullopt on EOF/timeout.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The next line parsed as JSON (None Value on EOF/timeout/parse failure).
  Value ReadJson(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Sends a request {"jsonrpc":"2.0","id":id,"method":...,"params":...} and
  // returns the response with that id (skipping notifications, which are
  // collected in `notifications`).
  Value Call(const std::string& method, const std::string& params_json = "", int id = 1,
             std::chrono::milliseconds timeout = std::chrono::seconds(60));
  std::vector<Value> notifications;
  bool AtEof(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void Close();

 private:
  int fd_ = -1;
  std::string buffer_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound with port 0,
// then released), for a daemon's [server] http_listen.
int FreeTcpPort();
// The TCP ports process `pid` listens on (its socket descriptors matched
// against /proc/<pid>/net/tcp and tcp6).
std::set<int> ListeningTcpPorts(pid_t pid);

struct HttpResponse {
  int status = 0;  // 0: no response (EOF, timeout or not HTTP)
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header of that name (any case), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
  // The body parsed as JSON (None Value if it is not).
  Value Json() const;
};

// A blocking HTTP/1.1 client for one TCP connection to 127.0.0.1:port.
// It frames responses by Content-Length (what the daemon always sends), so
// it reads pipelined responses one by one.
class HttpClient {
 public:
  explicit HttpClient(int port);
  ~HttpClient();
  bool connected() const { return fd_ >= 0; }

  bool SendRaw(const std::string& bytes);
  // "METHOD target HTTP/1.1" with Host, `headers` (each "Name: value") and,
  // when there is a body or the method is POST, Content-Length.
  static std::string Request(const std::string& method, const std::string& target, const std::string& body,
                             const std::vector<std::string>& headers = {"Content-Type: application/json"});
  // The next response, 1xx included. `head`: the request was HEAD, no body.
  HttpResponse Read(std::chrono::milliseconds timeout = std::chrono::seconds(30), bool head = false);
  // POST /rpc with Content-Type: application/json; skips 1xx responses.
  HttpResponse Post(const std::string& body, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // True once the daemon closed the connection (and nothing is left unread).
  bool AtEof(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True once something can be read (a response has started to arrive, or
  // EOF), without reading it.
  bool WaitReadable(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void Close();

 private:
  // Reads until `buffer_` holds at least `n` bytes; false on EOF/timeout.
  bool Fill(size_t n, std::chrono::steady_clock::time_point until);
  int fd_ = -1;
  std::string buffer_;
};

// JSON text of a string, for building requests.
std::string Quote(const std::string& s);
// Parses JSON text into a Value (None on failure).
Value ParseJson(const std::string& text);
// Member access helpers on a parsed response.
const Value& Get(const Value& v, std::string_view key);
std::string GetStr(const Value& v, std::string_view key);
int64_t GetInt(const Value& v, std::string_view key);
// The path to the interpd binary under test.
std::string DaemonBinary();

}  // namespace interpd::test

#endif  // INTERPD_TESTS_DAEMON_DAEMON_FIXTURE_H_
