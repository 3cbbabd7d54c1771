// Wire: the client's half of the JSON-RPC 2.0 encoding, on top of the
// protocol library the daemon uses (the same JSON reader and writer, so the
// client cannot disagree with the server about what JSON is).
//
// protocol/ builds the server's lines (responses, notifications) and parses
// requests; the client needs the mirror image: request lines out, response
// and notification lines in. Both are pure functions over Values.
//
// Thread safety: pure functions.
//
// Invariants:
//   1. RequestLine() output is one JSON object plus '\n', accepted by the
//      daemon's ParseRequestLine as one valid request with the same id,
//      method and params (tested against the parser itself).
//   2. ParseServerLine() accepts exactly what PROTOCOL.md lets a server
//      send to a client that sends no batches: a response (result xor
//      error, id string/number/null) or a notification (method, params);
//      anything else is a protocol error with a reason.
#ifndef INTERPD_CLIENTS_INTERPCTL_WIRE_H_
#define INTERPD_CLIENTS_INTERPCTL_WIRE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "interpd/protocol/limits.h"
#include "interpd/status.h"
#include "interpd/value.h"

namespace interpd::clients {

// Appends {"jsonrpc":"2.0","id":<id>,"method":<method>[,"params":<params>]}\n
// to *line. `params` is omitted when None. Returns kInvalidArgument for
// params that are neither None, a dict nor a list, kNotShareable when they
// cannot be written as JSON; *line is unchanged on failure.
Status AppendRequestLine(int64_t id, std::string_view method, const Value& params, std::string* line);

struct RpcError {
  int code = 0;
  std::string message;
  Value data;  // None when the error had no "data"
};

struct ServerMessage {
  enum class Kind { kResponse, kNotification };
  Kind kind = Kind::kResponse;
  // kResponse: the echoed id (None for "id": null) and exactly one of
  // result / error.
  Value id;
  std::optional<Value> result;
  std::optional<RpcError> error;
  // kNotification.
  std::string method;
  Value params;  // a dict or a list; None when absent
};

// Parses one line from the daemon. Returns false and sets *why (one
// sentence) when it is not a valid JSON-RPC 2.0 response or notification.
bool ParseServerLine(std::string_view line, const protocol::Limits& limits, ServerMessage* out, std::string* why);

// Compact JSON of `value` for printing; values JSON cannot carry (which a
// daemon never sends) print as their Python repr.
std::string ToJsonText(const Value& value);

// Member `key` of a dict, or nullptr (also when `value` is not a dict).
const Value* Member(const Value& value, std::string_view key);

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_WIRE_H_
