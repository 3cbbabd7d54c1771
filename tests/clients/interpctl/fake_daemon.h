// FakeDaemon: a scripted stand-in for interpd on a Unix socket, for the
// client behaviours a real daemon will not produce on demand: garbage
// answers, every JSON-RPC error code, a refused connection, a connection
// dropped mid-run, a cancel that is never answered.
//
// Thread safety: the server runs on its own thread; the constructor and
// destructor are called by the test's thread. The reply function runs on
// the server thread.
//
// Invariants:
//   1. Connections are served one at a time, in accept order; each request
//      line gets exactly the bytes the reply function returns.
//   2. The destructor stops the thread and removes the socket file.
#ifndef INTERPD_TESTS_CLIENTS_INTERPCTL_FAKE_DAEMON_H_
#define INTERPD_TESTS_CLIENTS_INTERPCTL_FAKE_DAEMON_H_

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace interpd::test {

class FakeDaemon {
 public:
  struct Reply {
    std::string bytes;   // written as they are (include the '\n')
    bool close = false;  // close the connection after writing
    bool trickle = false;  // write one byte at a time, to test reassembly
  };
  // Called with each request line (without '\n').
  using Script = std::function<Reply(const std::string& line)>;

  // `greeting`, if not empty, is written as soon as a connection is
  // accepted; with `close_after_greeting` the connection is then closed
  // (how interpd refuses a peer).
  FakeDaemon(std::string socket_path, Script script, std::string greeting = "", bool close_after_greeting = false);
  ~FakeDaemon();

  const std::string& socket_path() const { return path_; }
  // Every request line received so far.
  std::vector<std::string> requests() const;

 private:
  void Serve();
  void ServeConnection(int fd);

  const std::string path_;
  const Script script_;
  const std::string greeting_;
  const bool close_after_greeting_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;  // protected by mu_
  std::thread thread_;
};

// {"jsonrpc":"2.0","id":<id>,"error":{"code":<code>,"message":<message>}}\n
std::string ErrorReply(const std::string& id_json, int code, const std::string& message);
// The id member of a request line, as JSON text ("null" if none found).
std::string IdOf(const std::string& request_line);

}  // namespace interpd::test

#endif  // INTERPD_TESTS_CLIENTS_INTERPCTL_FAKE_DAEMON_H_
