// Server: accepts connections on the listening Unix socket, and on the HTTP
// listener when [server] http_listen is set, and owns the sessions of both
// (the session manager of Asio's HTTP server example, folded in: one set of
// sessions, whatever their transport).
//
// Thread safety: every method runs on the I/O thread (one thread runs the
// io_context), except where noted. The limits and the access policy are
// immutable snapshots replaced whole on SIGHUP.
//
// Invariants:
//   1. At most max_connections sessions exist, Unix and HTTP together. A
//      connection beyond that, or a Unix peer the policy refuses, is told so
//      (a JSON-RPC error line -32000 or -32003; over HTTP a 503 with a -32000
//      body) and closed: never a silent drop.
//   2. Once StopAccepting() ran, no new session starts on either listener.
//   3. The method table is complete before the first session starts and is
//      read-only afterwards.
#ifndef INTERPD_DAEMON_SERVER_H_
#define INTERPD_DAEMON_SERVER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <spdlog/spdlog.h>

#include "daemon/config.h"
#include "interpd/pool.h"
#include "interpd/protocol/limits.h"
#include "interpd/protocol/method_table.h"
#include "interpd/runtime.h"
#include "peer_access.h"
#include "session.h"
#include "unix_session.h"

namespace interpd::daemon {

// The limits sessions and methods read; reloadable.
struct ServerLimits {
  protocol::Limits protocol;
  uint32_t max_connections = 1024;
  uint32_t max_in_flight = 64;
  std::chrono::duration<double> default_timeout{0};  // 0: none
  std::chrono::duration<double> max_timeout{0};      // 0: no cap
  uint64_t output_limit = 1 << 20;
  uint64_t memory_limit = 0;                     // default per run; 0: none
  uint64_t max_memory_limit = 0;                 // cap; 0: none
  std::chrono::duration<double> cpu_limit{0};    // per run; 0: none
  Lane default_lane = Lane::kIsolated;
  std::chrono::duration<double> actor_call_timeout{30};  // 0: none
  int actor_max_restarts = 3;
  std::chrono::duration<double> actor_restart_window{60};
  std::chrono::duration<double> http_idle_timeout{60};
};

using SessionPtr = std::shared_ptr<Session>;
using MethodTable = protocol::MethodTable<SessionPtr>;

struct ServerCounters {
  uint64_t connections_total = 0;
  uint64_t connections_refused_limit = 0;
  uint64_t connections_refused_peer = 0;
  uint64_t frames_oversized = 0;
};

class HttpListener;

class Server {
 public:
  Server(boost::asio::io_context& io, Runtime& runtime, WorkerPool& pool,
         std::shared_ptr<const ServerLimits> limits, std::shared_ptr<const AccessPolicy> policy);
  ~Server();

  // Registers methods. REQUIRES: before Listen().
  MethodTable& mutable_methods() { return methods_; }
  // Starts accepting on a listening socket descriptor (takes ownership).
  Status Listen(int fd);
  // Starts serving HTTP (POST /rpc) on `address` as well.
  Status ListenHttp(const HttpListenAddress& address);
  // "http://127.0.0.1:8080/rpc", or "" when not serving HTTP.
  std::string http_url() const;
  // Stops both listeners (invariant 2).
  void StopAccepting();
  // Closes every session: at once (cancelling their runs), or after what
  // they have queued has been written.
  void CloseAll(bool flush);
  // Runs `fn` once no session is left (now, if none is).
  void WhenNoSessions(std::function<void()> fn);

  // Reload (SIGHUP): new sessions and new requests see the new values.
  void SetLimits(std::shared_ptr<const ServerLimits> limits) { limits_ = std::move(limits); }
  void SetPolicy(std::shared_ptr<const AccessPolicy> policy) { policy_ = std::move(policy); }

  // ---- For listeners ----
  // Counts a connection a listener accepted; false (and counted as
  // refused, and logged) when max_connections sessions are open.
  bool AdmitConnection(const std::string& peer);
  uint64_t NextSessionId() { return next_session_id_++; }
  // Adds a session AdmitConnection() let in. REQUIRES: accepting().
  void AddSession(SessionPtr session);

  // ---- For sessions and methods ----
  const MethodTable& methods() const { return methods_; }
  std::shared_ptr<const ServerLimits> limits() const { return limits_; }
  WorkerPool& pool() { return pool_; }
  Runtime& runtime() { return runtime_; }
  boost::asio::io_context& io() { return io_; }
  bool accepting() const { return accepting_; }
  void SessionClosed(Session* session);
  void Log(spdlog::level::level_enum level, const std::string& message);
  size_t session_count() const { return sessions_.size(); }
  const ServerCounters& counters() const { return counters_; }
  std::chrono::steady_clock::time_point started() const { return started_; }

 private:
  void DoAccept();
  bool HasRoomFor(const std::string& peer);
  void Refuse(UnixSession::Socket socket, int code, const std::string& message);

  boost::asio::io_context& io_;
  Runtime& runtime_;
  WorkerPool& pool_;
  const std::chrono::steady_clock::time_point started_;
  std::shared_ptr<const ServerLimits> limits_;
  std::shared_ptr<const AccessPolicy> policy_;
  MethodTable methods_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::unique_ptr<HttpListener> http_;
  bool accepting_ = false;
  uint64_t next_session_id_ = 1;
  std::unordered_map<Session*, SessionPtr> sessions_;
  std::vector<std::function<void()>> when_empty_;
  ServerCounters counters_;
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_SERVER_H_
