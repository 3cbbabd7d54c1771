#include "http_listener.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include "http_session.h"
#include "server.h"

namespace interpd::daemon {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string Describe(const tcp::endpoint& e) {
  const std::string host = e.address().to_string();
  return (e.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(e.port());
}

}  // namespace

HttpListener::HttpListener(Server& server) : server_(server), acceptor_(server.io()) {}

HttpListener::~HttpListener() = default;

Status HttpListener::Listen(const HttpListenAddress& address) {
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(address.address, ec);
  if (ec) return Status::InvalidArgument("server.http_listen: " + address.address + ": " + ec.message());
  const tcp::endpoint endpoint(ip, address.port);
  const std::string where = Describe(endpoint);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && ip.is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    const std::string why = "cannot listen for HTTP on " + where + ": " + ec.message();
    // Retrying cannot help these: the unit forbids IP sockets
    // (RestrictAddressFamilies=), the address is not this host's, or the
    // port needs privileges the daemon lacks.
    if (ec == asio::error::address_family_not_supported || ec == asio::error::access_denied ||
        ec == boost::system::errc::address_not_available) {
      return Status::InvalidArgument(why);
    }
    return Status::Internal(why);
  }
  url_ = "http://" + where + "/rpc";
  accepting_ = true;
  DoAccept();
  return Status::OK();
}

void HttpListener::Stop() {
  if (!accepting_) return;
  accepting_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void HttpListener::DoAccept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (!accepting_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      spdlog::warn("http accept failed: {}", ec.message());
      DoAccept();
      return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const tcp::endpoint remote = socket.remote_endpoint(ignored);
    std::string peer = Describe(remote);
    if (!server_.AdmitConnection(peer)) {
      // Invariant 1. Not a session of the server: id 0.
      auto refused = std::make_shared<HttpSession>(server_, std::move(socket), std::move(peer), 0);
      auto response = HttpSession::ErrorResponse(
          503, protocol::ErrorCode::kOverloaded, "overloaded: the daemon's connection limit is reached; retry later",
          11, false);
      response.set(boost::beast::http::field::retry_after, "1");
      refused->Refuse(std::move(response));
    } else {
      const uint64_t id = server_.NextSessionId();
      auto session = std::make_shared<HttpSession>(server_, std::move(socket), peer, id);
      spdlog::debug("http connection {} from {}", id, peer);
      server_.AddSession(session);
      session->Start();
    }
    DoAccept();
  });
}

}  // namespace interpd::daemon
