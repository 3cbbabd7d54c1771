#include "unix_session.h"

#include <poll.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>

#include "interpd/protocol/line_handler.h"
#include "interpd/protocol/response.h"
#include "server.h"

namespace interpd::daemon {

namespace asio = boost::asio;

UnixSession::UnixSession(Server& server, Socket socket, PeerCredentials peer, uint64_t id)
    : Session(server, id),
      socket_(std::move(socket)),
      peer_(std::move(peer)),
      framer_(server.limits()->protocol.max_frame_bytes) {}

UnixSession::~UnixSession() = default;

void UnixSession::Start() {
  reading_ = true;
  DoRead();
}

void UnixSession::DoRead() {
  if (closed() || close_when_flushed_) {
    reading_ = false;
    return;
  }
  if (queued_bytes_ > kHighWater) {
    // Invariant 2: resume from DoWrite once the client catches up.
    read_paused_ = true;
    reading_ = false;
    return;
  }
  reading_ = true;
  socket_.async_read_some(asio::buffer(read_buf_), [self = SharedThis()](boost::system::error_code ec, size_t n) {
    self->reading_ = false;
    if (self->closed()) return;
    if (ec) {
      // EOF is either a half-close (shutdown(SHUT_WR): the client still
      // reads, so finish its runs and send the answers) or a full close,
      // which cancels its runs (invariant 3). POLLHUP tells them apart.
      if (ec == asio::error::eof && !self->PeerHungUp()) {
        self->CloseWhenFlushed();
      } else {
        self->Close();
      }
      return;
    }
    self->framer_.Feed(std::string_view(self->read_buf_.data(), n),
                       [&](const protocol::LineFramer::Frame& f) { self->OnFrame(f); });
    self->DoRead();
  });
}

bool UnixSession::PeerHungUp() {
  pollfd p{socket_.native_handle(), POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

void UnixSession::OnFrame(const protocol::LineFramer::Frame& frame) {
  if (closed()) return;
  const auto limits = server().limits();
  if (frame.oversized) {
    server().Log(spdlog::level::warn, "connection " + std::to_string(id()) + ": frame over " +
                                         std::to_string(limits->protocol.max_frame_bytes) + " bytes skipped");
    Enqueue(protocol::OversizedFrameLine(limits->protocol));
    return;
  }
  // The sink may be called later from a completion on the I/O thread, or
  // from another thread: Send() handles both.
  // `context` keeps the session alive for the sink; `session` calls Send()
  // without a virtual dispatch (UnixSession is final).
  const SessionPtr context = shared_from_this();
  protocol::HandleLine(frame.line, limits->protocol, server().methods(), context,
                       [context, session = this](std::string line) { session->Send(std::move(line)); });
}

void UnixSession::Send(std::string line) {
  auto self = SharedThis();
  asio::dispatch(socket_.get_executor(), [self, line = std::move(line)]() mutable { self->Enqueue(std::move(line)); });
}

void UnixSession::Enqueue(std::string line) {
  if (closed()) return;
  queued_bytes_ += line.size();
  outbox_.push_back(std::move(line));
  if (!write_in_flight_) DoWrite();
}

void UnixSession::DoWrite() {
  if (closed()) return;
  if (outbox_.empty()) {
    if (close_when_flushed_ && in_flight() == 0) Close();
    return;
  }
  write_in_flight_ = true;
  writing_.clear();
  std::vector<asio::const_buffer> buffers;
  size_t bytes = 0;
  // Gather what is queued into one write (invariant 1), up to a bound so one
  // write does not hold gigabytes of buffer descriptors.
  while (!outbox_.empty() && buffers.size() < 256) {
    writing_.push_back(std::move(outbox_.front()));
    outbox_.pop_front();
    bytes += writing_.back().size();
  }
  buffers.reserve(writing_.size());
  for (const auto& s : writing_) buffers.emplace_back(asio::buffer(s));
  asio::async_write(socket_, buffers, [self = SharedThis(), bytes](boost::system::error_code ec, size_t) {
    self->write_in_flight_ = false;
    self->queued_bytes_ -= bytes;
    if (ec) {
      self->Close();
      return;
    }
    if (self->read_paused_ && self->queued_bytes_ < kLowWater) {
      self->read_paused_ = false;
      if (!self->reading_) self->DoRead();
    }
    self->DoWrite();
  });
}

void UnixSession::OnRunUntracked() {
  if (close_when_flushed_ && in_flight() == 0 && !write_in_flight_ && outbox_.empty()) Close();
}

void UnixSession::CloseWhenFlushed() {
  if (closed()) return;
  close_when_flushed_ = true;
  if (!write_in_flight_ && outbox_.empty() && in_flight() == 0) Close();
}

void UnixSession::Close() {
  if (closed()) return;
  // Invariant 3: a client that went away cancels its work.
  CancelRuns();
  outbox_.clear();
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  server().SessionClosed(this);
}

}  // namespace interpd::daemon
