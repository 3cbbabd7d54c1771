#include "server.h"

#include <boost/asio/write.hpp>

#include "http_listener.h"
#include "interpd/protocol/error_code.h"
#include "interpd/protocol/response.h"

namespace interpd::daemon {

namespace asio = boost::asio;
using asio::local::stream_protocol;

Server::Server(asio::io_context& io, Runtime& runtime, WorkerPool& pool, std::shared_ptr<const ServerLimits> limits,
               std::shared_ptr<const AccessPolicy> policy)
    : io_(io),
      runtime_(runtime),
      pool_(pool),
      started_(std::chrono::steady_clock::now()),
      limits_(std::move(limits)),
      policy_(std::move(policy)),
      acceptor_(io) {}

Server::~Server() = default;

void Server::Log(spdlog::level::level_enum level, const std::string& message) { spdlog::log(level, "{}", message); }

Status Server::Listen(int fd) {
  boost::system::error_code ec;
  acceptor_.assign(stream_protocol(), fd, ec);
  if (ec) return Status::Internal("cannot use the listening socket: " + ec.message());
  accepting_ = true;
  DoAccept();
  return Status::OK();
}

Status Server::ListenHttp(const HttpListenAddress& address) {
  auto listener = std::make_unique<HttpListener>(*this);
  if (Status s = listener->Listen(address); !s.ok()) return s;
  http_ = std::move(listener);
  return Status::OK();
}

std::string Server::http_url() const { return http_ ? http_->url() : std::string(); }

void Server::StopAccepting() {
  if (http_) http_->Stop();
  if (!accepting_) return;
  accepting_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

bool Server::AdmitConnection(const std::string& peer) {
  ++counters_.connections_total;
  return HasRoomFor(peer);
}

bool Server::HasRoomFor(const std::string& peer) {
  if (sessions_.size() < limits_->max_connections) return true;
  ++counters_.connections_refused_limit;
  spdlog::warn("refused connection from {}: {} connections open (server.max_connections)", peer, sessions_.size());
  return false;
}

void Server::AddSession(SessionPtr session) {
  Session* key = session.get();
  sessions_.emplace(key, std::move(session));
}

void Server::DoAccept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream_protocol::socket socket) {
    if (!accepting_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // EMFILE and friends: log, and keep accepting (the error is transient
      // from the daemon's point of view; sessions closing free descriptors).
      spdlog::warn("accept failed: {}", ec.message());
      DoAccept();
      return;
    }
    ++counters_.connections_total;
    PeerCredentials peer;
    Status s = GetPeerCredentials(socket.native_handle(), &peer);
    if (!s.ok()) {
      spdlog::warn("refusing a connection: {}", s.ToString());
      Refuse(std::move(socket), protocol::ToInt(protocol::ErrorCode::kPermissionDenied),
             "permission denied: cannot identify the peer");
    } else if (!policy_->Allows(peer)) {
      ++counters_.connections_refused_peer;
      spdlog::warn("refused connection from {}: not in server.allow_users / server.allow_groups", peer.Describe());
      Refuse(std::move(socket), protocol::ToInt(protocol::ErrorCode::kPermissionDenied),
             "permission denied: this user is not allowed to use interpd");
    } else if (!HasRoomFor(peer.Describe())) {
      Refuse(std::move(socket), protocol::ToInt(protocol::ErrorCode::kOverloaded),
             "overloaded: the daemon's connection limit is reached; retry later");
    } else {
      auto session = std::make_shared<UnixSession>(*this, std::move(socket), peer, NextSessionId());
      AddSession(session);
      spdlog::debug("connection {} from {}", session->id(), peer.Describe());
      session->Start();
    }
    DoAccept();
  });
}

void Server::Refuse(stream_protocol::socket socket, int code, const std::string& message) {
  // One error line with id null, then close (invariant 1). The write is
  // asynchronous so a peer that does not read cannot stall the acceptor.
  auto sock = std::make_shared<stream_protocol::socket>(std::move(socket));
  auto line = std::make_shared<std::string>(
      protocol::ErrorLine(protocol::RequestId::Null(), static_cast<protocol::ErrorCode>(code), message));
  asio::async_write(*sock, asio::buffer(*line), [sock, line](boost::system::error_code, size_t) {
    boost::system::error_code ignored;
    sock->shutdown(stream_protocol::socket::shutdown_both, ignored);
    sock->close(ignored);
  });
}

void Server::SessionClosed(Session* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  // Keep the session alive until its handlers unwind: destroy it later.
  SessionPtr keep = std::move(it->second);
  sessions_.erase(it);
  asio::post(io_, [keep] {});
  if (sessions_.empty() && !when_empty_.empty()) {
    auto fns = std::move(when_empty_);
    when_empty_.clear();
    for (auto& fn : fns) asio::post(io_, std::move(fn));
  }
}

void Server::CloseAll(bool flush) {
  std::vector<SessionPtr> all;
  all.reserve(sessions_.size());
  for (auto& [p, s] : sessions_) all.push_back(s);
  for (auto& s : all) {
    if (flush) {
      s->CloseWhenFlushed();
    } else {
      s->Close();
    }
  }
}

void Server::WhenNoSessions(std::function<void()> fn) {
  if (sessions_.empty()) {
    asio::post(io_, std::move(fn));
  } else {
    when_empty_.push_back(std::move(fn));
  }
}

}  // namespace interpd::daemon
