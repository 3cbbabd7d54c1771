// Responder: the one-shot reply handle a method handler gets with its
// request. The handler answers now or later, from any thread, by calling
// exactly one of Result(), Error() or Fail(); the line goes to the sink.
//
// For a notification every reply is swallowed (the spec forbids answering
// one), so handlers need not care which kind of request they got.
//
// A Responder destroyed without a reply answers -32603 on its own: a handler
// that forgets a path, returns early or throws cannot leave a client waiting
// forever for its id.
//
// Thread safety: a Responder is move-only and used by one thread at a time
// (typically moved into a worker's completion callback). The sink is called
// on the thread that replies, so it must be safe to call from any thread.
//
// Invariants:
//   1. The sink receives at most one line per Responder, and exactly one
//      for a request with an id, unless the Responder was moved from.
//   2. The line is always valid JSON: a result that cannot be written becomes
//      a -32012 error for the same id.
#ifndef INTERPD_PROTOCOL_RESPONDER_H_
#define INTERPD_PROTOCOL_RESPONDER_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "interpd/protocol/error_code.h"
#include "interpd/protocol/limits.h"
#include "interpd/protocol/request_id.h"
#include "interpd/status.h"
#include "interpd/value.h"

namespace interpd::protocol {

class Responder {
 public:
  // Receives the finished response line (ending '\n').
  using Sink = std::function<void(std::string line)>;

  // REQUIRES: sink is callable.
  Responder(RequestId id, Sink sink, const Limits& limits = {});
  ~Responder();

  Responder(Responder&& other) noexcept;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  const RequestId& id() const { return id_; }
  // False for notifications: replies are dropped.
  bool expects_reply() const { return id_.present(); }
  // True once a reply was given (or the Responder was moved from).
  bool replied() const { return !sink_; }

  // Replies with `result`, or with -32012 (data: path and type) if it
  // cannot be written as JSON.
  // REQUIRES: !replied().
  void Result(const Value& result);

  // Replies with an error; an empty message becomes ErrorCodeMessage(code).
  // REQUIRES: !replied().
  void Error(ErrorCode code, std::string_view message, const std::optional<Value>& data = std::nullopt);

  // Replies with the error a failed Status maps to (ErrorCodeForStatus).
  // REQUIRES: !replied() and !status.ok().
  void Fail(const Status& status);

 private:
  // Hands `line` to the sink and disarms the Responder.
  void Send(std::string line);
  // Disarms without sending: a notification's reply.
  bool SwallowIfNotification();

  RequestId id_;
  Sink sink_;  // empty once replied or moved from (invariant 1)
  Limits limits_;
};

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_RESPONDER_H_
