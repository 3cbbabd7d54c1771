// HttpListener: accepts TCP connections on [server] http_listen and gives
// each to an HttpSession, as Server does for the Unix socket.
//
// HTTP clients have no peer credentials: server.allow_users and
// allow_groups do not apply to them. The address is a loopback one unless
// the operator set server.http_allow_remote (ConfigLoader checks it).
//
// Thread safety: I/O thread only (Listen() before the io_context runs).
//
// Invariants:
//   1. Every accepted connection counts against server.max_connections
//      together with the Unix ones (Server::AdmitConnection). One beyond the
//      limit is answered 503 with a JSON-RPC -32000 body and closed, never
//      dropped silently.
//   2. Once Stop() ran, no new session starts.
#ifndef INTERPD_DAEMON_HTTP_LISTENER_H_
#define INTERPD_DAEMON_HTTP_LISTENER_H_

#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "daemon/config.h"
#include "interpd/status.h"

namespace interpd::daemon {

class Server;

class HttpListener {
 public:
  explicit HttpListener(Server& server);
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Binds and listens (SO_REUSEADDR, so a restart does not wait out
  // TIME_WAIT), then accepts. InvalidArgument when retrying cannot help
  // (address family forbidden, address not on this host, port needs
  // privileges), Internal for the rest (e.g. the port is in use).
  Status Listen(const HttpListenAddress& address);
  void Stop();
  // "http://127.0.0.1:8080/rpc", for the log.
  const std::string& url() const { return url_; }

 private:
  void DoAccept();

  Server& server_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string url_;
  bool accepting_ = false;
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_HTTP_LISTENER_H_
