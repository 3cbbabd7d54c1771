// UnixSession: one client connection on the Unix socket (the Session that
// speaks NDJSON).
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
//   3. A client that disconnects cancels its runs (Session invariant 1); one
//      that only shuts down its write side (EOF while its end stays open)
//      gets the answers to what it sent, then the session closes.
//   4. After Close(), nothing more is read or written and no new run starts.
#ifndef INTERPD_DAEMON_UNIX_SESSION_H_
#define INTERPD_DAEMON_UNIX_SESSION_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/local/stream_protocol.hpp>

#include "interpd/protocol/line_framer.h"
#include "peer_access.h"
#include "session.h"

namespace interpd::daemon {

class UnixSession final : public Session {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  static constexpr size_t kHighWater = 8 << 20;
  static constexpr size_t kLowWater = 1 << 20;

  UnixSession(Server& server, Socket socket, PeerCredentials peer, uint64_t id);
  ~UnixSession() override;

  // Starts reading. REQUIRES: I/O thread.
  void Start();
  void Close() override;
  // Stops reading; closes once everything queued has been written and every
  // run has answered (drain).
  void CloseWhenFlushed() override;
  bool can_stream() const override { return true; }
  // Queues a line (ending '\n') for the client. Any thread.
  void Send(std::string line) override;

  const PeerCredentials& peer() const { return peer_; }

 private:
  void OnRunUntracked() override;
  std::shared_ptr<UnixSession> SharedThis() { return std::static_pointer_cast<UnixSession>(shared_from_this()); }
  void DoRead();
  bool PeerHungUp();
  void OnFrame(const protocol::LineFramer::Frame& frame);
  void Enqueue(std::string line);
  void DoWrite();

  Socket socket_;
  const PeerCredentials peer_;
  protocol::LineFramer framer_;
  std::array<char, 64 * 1024> read_buf_{};

  std::deque<std::string> outbox_;     // invariant 1
  std::vector<std::string> writing_;   // the lines of the write in flight
  size_t queued_bytes_ = 0;
  bool write_in_flight_ = false;
  bool reading_ = false;
  bool read_paused_ = false;           // invariant 2
  bool close_when_flushed_ = false;
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_UNIX_SESSION_H_
