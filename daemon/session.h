// Session: one client connection on the Unix socket.
//
// It reads NDJSON frames, hands each to the JSON-RPC layer, and writes the
// responses (and run.output notifications) back through a write queue.
//
// Thread safety: everything runs on the server's single I/O thread (an
// io_context run by one thread), except Send(), which may be called from
// any thread and hops to the I/O thread.
//
// Invariants:
//   1. Writes are serialized: at most one async_write in flight; lines queued
//      meanwhile go out together in the next one, in the order queued.
//   2. Backpressure: while more than kHighWater bytes wait to be written the
//      session stops reading, so a client that does not read cannot make the
//      daemon buffer without bound.
//   3. Every run started for this connection is tracked until it completes;
//      when the client disconnects, all of them are cancelled.
//   4. After Close(), nothing more is read or written and no new run starts.
#ifndef INTERPD_DAEMON_SESSION_H_
#define INTERPD_DAEMON_SESSION_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/local/stream_protocol.hpp>

#include "interpd/pool.h"
#include "interpd/protocol/line_framer.h"
#include "interpd/protocol/request_id.h"
#include "peer_access.h"

namespace interpd::daemon {

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  static constexpr size_t kHighWater = 8 << 20;
  static constexpr size_t kLowWater = 1 << 20;

  Session(Server& server, Socket socket, PeerCredentials peer, uint64_t id);
  ~Session();

  // Starts reading. REQUIRES: I/O thread.
  void Start();
  // Stops reading and writing now, cancels this connection's runs.
  void Close();
  // Stops reading; closes once everything queued has been written (drain).
  void CloseWhenFlushed();
  // Queues a line (ending '\n') for the client. Any thread.
  void Send(std::string line);

  // ---- Runs of this connection (I/O thread) ----
  // Records a run under its request id; false if a run with that id is
  // still in flight here (ids must be unique among a connection's runs).
  bool TrackRun(const protocol::RequestId& id, const TaskHandle& task);
  void UntrackRun(const protocol::RequestId& id, TaskId task);
  // The in-flight run with this request id, or an empty handle.
  TaskHandle FindRun(const protocol::RequestId& id) const;
  size_t in_flight() const { return runs_.size(); }
  bool closed() const { return closed_; }

  Server& server() { return server_; }
  const PeerCredentials& peer() const { return peer_; }
  uint64_t id() const { return id_; }

 private:
  void DoRead();
  bool PeerHungUp();
  void OnFrame(const protocol::LineFramer::Frame& frame);
  void Enqueue(std::string line);
  void DoWrite();

  Server& server_;
  Socket socket_;
  const PeerCredentials peer_;
  const uint64_t id_;
  protocol::LineFramer framer_;
  std::array<char, 64 * 1024> read_buf_{};

  std::deque<std::string> outbox_;     // invariant 1
  std::vector<std::string> writing_;   // the lines of the write in flight
  size_t queued_bytes_ = 0;
  bool write_in_flight_ = false;
  bool reading_ = false;
  bool read_paused_ = false;           // invariant 2
  bool closed_ = false;
  bool close_when_flushed_ = false;

  // Request id (canonical JSON) -> run; notifications (no id) are keyed by
  // task id with a "#" prefix so they can be cancelled on disconnect too.
  std::unordered_map<std::string, TaskHandle> runs_;
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_SESSION_H_
