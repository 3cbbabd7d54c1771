// Response lines: JSON-RPC 2.0 responses and notifications, each built as one
// ready-to-send NDJSON line ending in '\n'.
//
// Every function here either returns a complete, valid line or (for the ones
// that serialize a caller's Value) a status saying why it could not, with the
// output untouched: broken JSON never reaches a socket. Error lines cannot
// fail: a message is sanitized to UTF-8, and error data that cannot be
// written is replaced by the writer's explanation (a string).
//
// Members are written in the order jsonrpc, id, result|error; ids are echoed
// from RequestId::json(), i.e. exactly the received value.
//
// Thread safety: pure functions.
//
// Invariants:
//   1. A returned line is one JSON object followed by exactly one '\n', with
//      no other '\n' in it.
//   2. A response carries the request's id; errors about requests whose id
//      could not be determined carry null.
#ifndef INTERPD_PROTOCOL_RESPONSE_H_
#define INTERPD_PROTOCOL_RESPONSE_H_

#include <optional>
#include <string>
#include <string_view>

#include "interpd/protocol/error_code.h"
#include "interpd/protocol/json_reader.h"
#include "interpd/protocol/json_writer.h"
#include "interpd/protocol/limits.h"
#include "interpd/protocol/request_id.h"
#include "interpd/status.h"
#include "interpd/value.h"

namespace interpd::protocol {

// {"jsonrpc":"2.0","id":<id>,"result":<result>}\n into *line.
// When `result` is not representable, returns kNotShareable (paths start at
// "result"), fills *error when non-null and leaves *line unchanged; the
// caller then sends NotRepresentableLine() instead.
Status ResultLine(const RequestId& id, const Value& result, std::string* line, const Limits& limits = {},
                  JsonWriteError* error = nullptr);

// {"jsonrpc":"2.0","id":<id>,"error":{"code":<code>,"message":<message>[,"data":<data>]}}\n
// An empty message becomes ErrorCodeMessage(code).
std::string ErrorLine(const RequestId& id, ErrorCode code, std::string_view message,
                      const std::optional<Value>& data = std::nullopt, const Limits& limits = {});

// The error line for a failed runtime Status (ErrorCodeForStatus; the
// status message is the error message). REQUIRES: !status.ok().
std::string StatusErrorLine(const RequestId& id, const Status& status);

// The -32012 line for a result the writer refused: message is the writer's
// status message, data is {"path": error.path, "type": error.type}.
std::string NotRepresentableLine(const RequestId& id, const Status& status, const JsonWriteError& error);

// The answer to a line the reader refused: -32700 for kSyntax, -32004 for
// kTooDeep and kNumberTooLong; id null (the request was never read).
// REQUIRES: error.kind != kNone.
std::string ReadErrorLine(const JsonReadError& error);

// The -32004 answer (id null) to a line longer than limits.max_frame_bytes.
std::string OversizedFrameLine(const Limits& limits);

// {"jsonrpc":"2.0","method":<method>,"params":<params>}\n, a server-to-client
// notification such as run.output. REQUIRES: params is kDict or kList.
// Returns kNotShareable (paths start at "params") if params cannot be written.
Status NotificationLine(std::string_view method, const Value& params, std::string* line, const Limits& limits = {});

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_RESPONSE_H_
