#include "http_session.h"

#include <time.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "interpd/protocol/line_handler.h"
#include "interpd/protocol/request_parser.h"
#include "interpd/protocol/response.h"
#include "server.h"

#ifndef INTERPD_VERSION
#error "INTERPD_VERSION must be defined by the build"
#endif

namespace interpd::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// An IMF-fixdate (RFC 9110 section 5.6.7) for the Date header, spelled out
// by hand: strftime's day and month names follow LC_TIME.
std::string HttpDate() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const time_t now = time(nullptr);
  struct tm t;
  gmtime_r(&now, &t);
  char buf[40];
  snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[t.tm_wday], t.tm_mday, kMonths[t.tm_mon],
           t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
  return buf;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a Content-Type value names application/json; parameters such as
// charset=utf-8 are allowed (the body is read as UTF-8 whatever they say).
bool IsJsonContentType(std::string_view value) {
  return EqualsIgnoreCase(Trim(value.substr(0, value.find(';'))), "application/json");
}

HttpSession::Response Base(unsigned status, unsigned version, bool keep_alive) {
  HttpSession::Response res{static_cast<http::status>(status), version};
  res.set(http::field::server, "interpd/" INTERPD_VERSION);
  res.set(http::field::date, HttpDate());
  res.keep_alive(keep_alive);
  return res;
}

HttpSession::Response JsonResponse(unsigned status, std::string body, unsigned version, bool keep_alive) {
  HttpSession::Response res = Base(status, version, keep_alive);
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

bool IsHttpError(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

}  // namespace

HttpSession::HttpSession(Server& server, Socket socket, std::string peer, uint64_t id)
    : Session(server, id), socket_(std::move(socket)), peer_(std::move(peer)), timer_(socket_.get_executor()) {}

HttpSession::~HttpSession() = default;

HttpSession::Response HttpSession::ErrorResponse(unsigned status, protocol::ErrorCode code, std::string_view message,
                                                 unsigned version, bool keep_alive) {
  return JsonResponse(status, protocol::ErrorLine(protocol::RequestId::Null(), code, message), version, keep_alive);
}

void HttpSession::Start() {
  ArmIdleTimer();
  DoRead();
}

void HttpSession::Refuse(Response response) {
  reads_done_ = true;
  response.keep_alive(false);
  const unsigned version = response.version();
  AddExchange(false, version, std::move(response));
}

void HttpSession::Send(std::string) {}

void HttpSession::ArmIdleTimer() {
  if (closed() || lingering_) return;
  using std::chrono::steady_clock;
  timer_.expires_after(std::chrono::duration_cast<steady_clock::duration>(server().limits()->http_idle_timeout));
  timer_.async_wait([self = SharedThis()](boost::system::error_code ec) {
    if (ec || self->closed() || self->lingering_) return;
    if (self->exchanges_.empty() && !self->write_in_flight_ && self->in_flight() == 0) {
      spdlog::debug("http connection {} from {}: idle for {:g} s, closed", self->id(), self->peer_,
                    self->server().limits()->http_idle_timeout.count());
      self->Close();
    } else {
      self->ArmIdleTimer();  // busy, not idle: look again later
    }
  });
}

void HttpSession::DoRead() {
  if (closed() || lingering_ || reads_done_ || close_when_flushed_ || reading_) return;
  if (exchanges_.size() >= kMaxPipelined || ready_bytes_ > kHighWater) {
    read_paused_ = true;  // invariant 3: DoWrite resumes
    return;
  }
  read_paused_ = false;
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(server().limits()->protocol.max_frame_bytes);
  refusal_.reset();
  reading_ = true;
  http::async_read_header(socket_, buffer_, *parser_,
                          [self = SharedThis()](boost::system::error_code ec, size_t) { self->OnHeader(ec); });
}

std::optional<HttpSession::Response> HttpSession::Screen(const Parser::value_type& request) const {
  const unsigned v = request.version();
  std::optional<Response> out;
  if (request.target() != "/rpc") {
    out = ErrorResponse(404, protocol::ErrorCode::kNotFound, "not found: JSON-RPC is served at POST /rpc only", v,
                        true);
  } else if (request.method() != http::verb::post) {
    out = ErrorResponse(405, protocol::ErrorCode::kInvalidRequest,
                        "invalid request: " + std::string(request.method_string()) + " is not allowed; use POST", v,
                        true);
    out->set(http::field::allow, "POST");
  } else if (request.find(http::field::origin) != request.end()) {
    // Browsers send Origin with every POST; interpd's clients are programs.
    // Refusing it keeps web pages (and DNS rebinding) from running code.
    out = ErrorResponse(403, protocol::ErrorCode::kPermissionDenied,
                        "permission denied: requests from web pages (with an Origin header) are refused", v, true);
  } else if (!IsJsonContentType(request[http::field::content_type])) {
    out = ErrorResponse(415, protocol::ErrorCode::kInvalidRequest,
                        "invalid request: the body must be sent with Content-Type: application/json", v, true);
  }
  if (out && request.method() == http::verb::head) out->body().clear();  // Content-Length stays, as for GET
  return out;
}

void HttpSession::OnHeader(boost::system::error_code ec) {
  reading_ = false;
  if (closed() || lingering_) return;
  if (ec) return OnReadError(ec);
  // Draining, or the last response owed already said Connection: close: a
  // request that arrives now is not taken (invariant 4).
  if (close_when_flushed_ || reads_done_) return;
  const auto& request = parser_->get();
  refusal_ = Screen(request);
  const bool expects_continue =
      request.version() >= 11 && EqualsIgnoreCase(Trim(request[http::field::expect]), "100-continue");
  if (refusal_ && expects_continue) {
    // The client holds its body back until told to send it. It is refused
    // instead, and the connection closes: the body may still come.
    reads_done_ = true;
    Response refusal = std::move(*refusal_);
    refusal_.reset();
    refusal.keep_alive(false);
    AddExchange(false, request.version(), std::move(refusal));
    return;
  }
  // A 100 Continue for a pipelined request would have to wait for the
  // responses before it; the client sends its body after its own timeout
  // then (RFC 9110 section 10.1.1 lets the server skip the interim answer).
  if (expects_continue && exchanges_.empty() && !write_in_flight_) WriteContinue();
  reading_ = true;
  http::async_read(socket_, buffer_, *parser_,
                   [self = SharedThis()](boost::system::error_code body_ec, size_t) { self->OnBody(body_ec); });
}

void HttpSession::OnBody(boost::system::error_code ec) {
  reading_ = false;
  if (closed() || lingering_) return;
  if (ec) return OnReadError(ec);
  if (close_when_flushed_ || reads_done_) return;  // as in OnHeader
  Parser::value_type request = parser_->release();
  const bool keep_alive = request.keep_alive();
  if (!keep_alive) reads_done_ = true;  // invariant 4
  ArmIdleTimer();
  if (refusal_) {
    Response refusal = std::move(*refusal_);
    refusal_.reset();
    refusal.keep_alive(keep_alive);
    AddExchange(keep_alive, request.version(), std::move(refusal));
  } else {
    Dispatch(std::move(request.body()), keep_alive, request.version());
  }
  DoRead();
}

void HttpSession::OnReadError(boost::system::error_code ec) {
  if (ec == asio::error::operation_aborted || reads_done_) return;
  if (!IsHttpError(ec) || ec == http::error::end_of_stream || ec == http::error::partial_message) {
    // The client closed (between requests or in the middle of one) or the
    // connection broke: invariant 5.
    spdlog::debug("http connection {} from {}: {}", id(), peer_, ec.message());
    Close();
    return;
  }
  reads_done_ = true;
  const unsigned version = parser_->is_header_done() ? parser_->get().version() : 11;
  const auto limits = server().limits();
  if (ec == http::error::body_limit) {
    spdlog::warn("http connection {} from {}: request body over {} bytes refused", id(), peer_,
                 limits->protocol.max_frame_bytes);
    AddExchange(false, version,
                ErrorResponse(413, protocol::ErrorCode::kTooLarge,
                              "frame too large: the request body exceeds " +
                                  std::to_string(limits->protocol.max_frame_bytes) + " bytes (server.max_frame_bytes)",
                              version, false));
  } else if (ec == http::error::header_limit) {
    AddExchange(false, version,
                ErrorResponse(431, protocol::ErrorCode::kTooLarge,
                              "the request header exceeds " + std::to_string(kHeaderLimit) + " bytes", version, false));
  } else {
    spdlog::debug("http connection {} from {}: bad request: {}", id(), peer_, ec.message());
    AddExchange(false, version,
                ErrorResponse(400, protocol::ErrorCode::kInvalidRequest,
                              "invalid request: not a valid HTTP/1.1 request (" + ec.message() + ")", version, false));
  }
}

void HttpSession::Dispatch(std::string body, bool keep_alive, unsigned version) {
  const uint64_t seq = AddExchange(keep_alive, version);
  const auto limits = server().limits();
  protocol::ParsedLine parsed = protocol::ParseRequestLine(body, limits->protocol);
  const bool answers = parsed.ResponsesExpected() > 0;
  auto self = SharedThis();
  protocol::Responder::Sink sink;
  if (answers) {
    // Called once (line_handler.h invariant 1), from whichever thread
    // completes the last response.
    sink = [self, seq](std::string line) {
      asio::dispatch(self->socket_.get_executor(),
                     [self, seq, line = std::move(line)]() mutable { self->Complete(seq, std::move(line)); });
    };
  } else {
    sink = [](std::string) {};
  }
  const SessionPtr context = self;
  protocol::HandleParsedLine(std::move(parsed), limits->protocol, sink,
                             [&](protocol::Request request, protocol::Responder responder) {
                               server().methods().Dispatch(context, std::move(request), std::move(responder));
                             });
  // Nothing to wait for: the notifications were started (and go on running
  // while this connection stays open), the answer is 204.
  if (!answers) Complete(seq, std::nullopt);
}

uint64_t HttpSession::AddExchange(bool keep_alive, unsigned version, std::optional<Response> response) {
  const uint64_t seq = next_seq_++;
  exchanges_.push_back(Exchange{seq, keep_alive, version, false, Response()});
  if (response) {
    Ready(exchanges_.back(), std::move(*response));
    DoWrite();
  }
  return seq;
}

void HttpSession::Complete(uint64_t seq, std::optional<std::string> line) {
  if (closed() || lingering_) return;
  if (exchanges_.empty() || seq < exchanges_.front().seq) return;
  Exchange& exchange = exchanges_[seq - exchanges_.front().seq];
  Ready(exchange, line ? JsonResponse(200, std::move(*line), exchange.version, exchange.keep_alive)
                       : Base(204, exchange.version, exchange.keep_alive));
  DoWrite();
}

void HttpSession::Ready(Exchange& exchange, Response response) {
  exchange.response = std::move(response);
  exchange.ready = true;
  ready_bytes_ += exchange.response.body().size();
}

void HttpSession::DoWrite() {
  if (closed() || lingering_ || write_in_flight_) return;
  if (exchanges_.empty() || !exchanges_.front().ready) {
    if (Drained()) Linger();
    return;
  }
  auto response = std::make_shared<Response>(std::move(exchanges_.front().response));
  exchanges_.pop_front();
  // Draining (SIGTERM stopped the listeners; CloseWhenFlushed): the last
  // answer owed tells the client that no more will come (invariant 4).
  if ((close_when_flushed_ || !server().accepting()) && exchanges_.empty()) {
    response->keep_alive(false);
    reads_done_ = true;
  }
  const bool last = !response->keep_alive();
  const size_t bytes = response->body().size();
  write_in_flight_ = true;
  http::async_write(socket_, *response,
                    [self = SharedThis(), response, bytes, last](boost::system::error_code ec, size_t) {
                      self->write_in_flight_ = false;
                      self->ready_bytes_ -= bytes;
                      if (self->closed()) return;
                      if (ec) {
                        self->Close();
                        return;
                      }
                      if (last) {
                        self->Linger();
                        return;
                      }
                      self->ArmIdleTimer();
                      if (self->read_paused_) self->DoRead();
                      self->DoWrite();
                    });
}

void HttpSession::WriteContinue() {
  write_in_flight_ = true;
  asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                    [self = SharedThis()](boost::system::error_code ec, size_t) {
                      self->write_in_flight_ = false;
                      if (self->closed()) return;
                      if (ec) {
                        self->Close();
                        return;
                      }
                      self->DoWrite();
                    });
}

void HttpSession::Linger() {
  if (closed() || lingering_) return;
  lingering_ = true;
  boost::system::error_code ignored;
  // A read of a request that will not be taken (draining) ends here; its
  // handler sees lingering_ and returns.
  if (reading_) socket_.cancel(ignored);
  socket_.shutdown(Socket::shutdown_send, ignored);
  timer_.expires_after(kLingerTime);
  timer_.async_wait([self = SharedThis()](boost::system::error_code ec) {
    if (!ec) self->Close();
  });
  DoLingerRead();
}

void HttpSession::DoLingerRead() {
  socket_.async_read_some(asio::buffer(discard_), [self = SharedThis()](boost::system::error_code ec, size_t) {
    if (self->closed()) return;
    if (ec) {
      self->Close();  // EOF: the client has read the response and closed
      return;
    }
    self->DoLingerRead();
  });
}

bool HttpSession::Drained() const {
  return close_when_flushed_ && exchanges_.empty() && !write_in_flight_ && in_flight() == 0;
}

void HttpSession::OnRunUntracked() {
  if (Drained()) Linger();
}

void HttpSession::CloseWhenFlushed() {
  if (closed() || lingering_) return;
  close_when_flushed_ = true;
  if (Drained()) Linger();
}

void HttpSession::Close() {
  if (closed()) return;
  CancelRuns();
  exchanges_.clear();
  boost::system::error_code ignored;
  timer_.cancel();
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (id() != 0) server().SessionClosed(this);
}

}  // namespace interpd::daemon
