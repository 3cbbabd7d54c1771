// HttpSession: one TCP connection of the HTTP listener (the Session that
// speaks HTTP/1.1). Each `POST /rpc` request carries one JSON-RPC message,
// a request object or a batch array, exactly as one NDJSON line would on the
// Unix socket, and its HTTP response carries the answer.
//
//   200  the JSON-RPC response (object or batch array), whatever it says:
//        -32700 for a body that is not JSON is a 200 too
//   204  the message needed no answer (a notification, an all-notification
//        batch); the notifications still run
//   400  the request is not HTTP/1.x; 404 a path other than /rpc; 405 a
//        method other than POST (with Allow: POST); 403 a request with an
//        Origin header (a web page); 415 a Content-Type other than
//        application/json; 413 a body over server.max_frame_bytes; 431 a
//        header over kHeaderLimit; 503 server.max_connections reached.
//        Every one of these has a JSON-RPC error object with id null as its
//        body (PROTOCOL.md codes: -32600, -32002, -32003, -32004, -32000).
//
// Thread safety: everything runs on the server's single I/O thread, except
// the response sinks handed to the JSON-RPC layer, which hop to it.
//
// Invariants:
//   1. Responses go out in the order their requests came in (HTTP/1.1
//      pipelining): a request takes the next slot in exchanges_ when it has
//      been read, and a slot is written only after every earlier one.
//   2. At most one write is in flight.
//   3. Reading stops while kMaxPipelined requests await their responses or
//      more than kHighWater bytes of responses wait to be written, and
//      resumes when the client catches up: a client that pipelines without
//      reading cannot make the daemon buffer without bound.
//   4. A response marked Connection: close is the last one written; nothing
//      after its request is read. Once the daemon drains (SIGTERM), the
//      last response owed on a connection is so marked. After it the session shuts down its
//      sending side and reads and discards what the client still sends, for
//      at most kLingerTime, before closing (so the client is not reset
//      before it reads the response).
//   5. An EOF or error from the client closes the session at once and
//      cancels its runs (Session invariant 1): HTTP has no half-close to
//      wait on.
//   6. Send() is never needed: can_stream() is false, so `run` collects
//      the output of a streaming request in its result instead.
#ifndef INTERPD_DAEMON_HTTP_SESSION_H_
#define INTERPD_DAEMON_HTTP_SESSION_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "interpd/protocol/error_code.h"
#include "session.h"

namespace interpd::daemon {

class HttpSession final : public Session {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  static constexpr size_t kMaxPipelined = 16;
  static constexpr size_t kHighWater = 8 << 20;
  static constexpr uint32_t kHeaderLimit = 16 << 10;
  static constexpr std::chrono::seconds kLingerTime{2};

  // `id` 0: a connection that is only refused (Refuse()), not a session of
  // the server.
  HttpSession(Server& server, Socket socket, std::string peer, uint64_t id);
  ~HttpSession() override;

  // Starts reading requests. REQUIRES: I/O thread.
  void Start();
  // Answers `response` without reading a request, then closes (invariant 4).
  void Refuse(Response response);
  void Close() override;
  // Takes no new request; the last response still owed says Connection:
  // close, and the session closes once it is written and its runs are done.
  void CloseWhenFlushed() override;
  bool can_stream() const override { return false; }
  // Never called (invariant 6); drops the line.
  void Send(std::string line) override;

  const std::string& peer() const { return peer_; }

  // A response with a JSON-RPC error object (id null) as its body.
  static Response ErrorResponse(unsigned status, protocol::ErrorCode code, std::string_view message,
                                unsigned version, bool keep_alive);

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  struct Exchange {
    uint64_t seq = 0;
    bool keep_alive = true;
    unsigned version = 11;
    bool ready = false;
    Response response;
  };

  std::shared_ptr<HttpSession> SharedThis() { return std::static_pointer_cast<HttpSession>(shared_from_this()); }
  void DoRead();
  void OnHeader(boost::system::error_code ec);
  void OnBody(boost::system::error_code ec);
  void OnReadError(boost::system::error_code ec);
  // The HTTP status that refuses this request before its body is looked
  // at, or nullopt when it is a POST /rpc with a JSON body.
  std::optional<Response> Screen(const Parser::value_type& request) const;
  void Dispatch(std::string body, bool keep_alive, unsigned version);
  // Adds the next slot; fills it at once when `response` is given.
  uint64_t AddExchange(bool keep_alive, unsigned version, std::optional<Response> response = std::nullopt);
  // Fills slot `seq` with the JSON-RPC answer `line` (200) or 204.
  void Complete(uint64_t seq, std::optional<std::string> line);
  void Ready(Exchange& exchange, Response response);
  void DoWrite();
  void WriteContinue();
  void Linger();
  void DoLingerRead();
  bool Drained() const;
  void ArmIdleTimer();
  void OnRunUntracked() override;

  Socket socket_;
  const std::string peer_;  // "127.0.0.1:40312", for the log
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  // Set while the body of a request that will be refused is read anyway,
  // so the connection stays usable.
  std::optional<Response> refusal_;
  // The request being read asked for "100 Continue".
  bool continue_sent_ = false;

  std::deque<Exchange> exchanges_;  // invariant 1
  uint64_t next_seq_ = 0;
  size_t ready_bytes_ = 0;
  bool write_in_flight_ = false;   // invariant 2
  bool reading_ = false;
  bool read_paused_ = false;       // invariant 3
  bool reads_done_ = false;        // invariant 4: no further request is read
  bool close_when_flushed_ = false;
  bool lingering_ = false;
  boost::asio::steady_timer timer_;  // idle timeout, then the linger time
  std::array<char, 4096> discard_{};
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_HTTP_SESSION_H_
