// Session: one client connection as the JSON-RPC methods see it, whatever
// carries it: the server it belongs to, the runs it started, and a way to
// send it a notification. UnixSession (NDJSON on the Unix socket) and
// HttpSession (POST /rpc over TCP) are the transports.
//
// Methods get a std::shared_ptr<Session> as their context (server.h
// SessionPtr); `cancel` finds a run through it, so a run can be cancelled
// only from the connection that started it.
//
// Thread safety: I/O thread only, except Send(), which every transport makes
// callable from any thread.
//
// Invariants:
//   1. Every run started for this connection is tracked until it completes;
//      when the connection closes (client gone, daemon stopping), all of
//      them are cancelled (CancelRuns()).
//   2. Among a connection's runs in flight, request ids are unique.
//   3. closed() never goes back to false; after it is true no run starts
//      for this connection and nothing more reaches the client.
#ifndef INTERPD_DAEMON_SESSION_H_
#define INTERPD_DAEMON_SESSION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "interpd/pool.h"
#include "interpd/protocol/request_id.h"

namespace interpd::daemon {

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  virtual ~Session();

  // Stops reading and writing now and cancels this connection's runs.
  virtual void Close() = 0;
  // Stops taking new requests; closes once every request already taken has
  // been answered and the answers written (the drain on SIGTERM).
  virtual void CloseWhenFlushed() = 0;
  // Whether a notification sent while a request is in flight reaches the
  // client. The Unix socket carries them between responses; an HTTP
  // exchange has room for nothing but its one response.
  virtual bool can_stream() const = 0;
  // Queues a server-to-client notification line (ending '\n'). Any thread.
  // REQUIRES: can_stream().
  virtual void Send(std::string line) = 0;

  // ---- Runs of this connection (I/O thread) ----
  // Records a run under its request id; false if a run with that id is
  // still in flight here (invariant 2).
  bool TrackRun(const protocol::RequestId& id, const TaskHandle& task);
  void UntrackRun(const protocol::RequestId& id, TaskId task);
  // The in-flight run with this request id, or an empty handle.
  TaskHandle FindRun(const protocol::RequestId& id) const;
  size_t in_flight() const { return runs_.size(); }
  bool closed() const { return closed_; }

  Server& server() { return server_; }
  uint64_t id() const { return id_; }

 protected:
  Session(Server& server, uint64_t id) : server_(server), id_(id) {}

  // Called after UntrackRun() removed a run: a draining transport closes
  // here once its last run is answered and written.
  virtual void OnRunUntracked() {}
  // Marks the session closed and cancels every tracked run (invariants 1
  // and 3). The transport's Close() calls it before releasing its socket.
  void CancelRuns();

 private:
  Server& server_;
  const uint64_t id_;
  bool closed_ = false;
  // Request id (canonical JSON) -> run; notifications (no id) are keyed by
  // task id with a "#" prefix so they can be cancelled on disconnect too.
  std::unordered_map<std::string, TaskHandle> runs_;
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_SESSION_H_
