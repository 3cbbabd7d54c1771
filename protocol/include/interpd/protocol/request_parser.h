// Request parser: one NDJSON line -> the requests to run and the error
// responses to send at once, following JSON-RPC 2.0 section by section.
//
//   - Not JSON: one -32700, id null. Too deep / number too long: one -32004,
//     id null. (Nothing of the text is trusted, so no id can be echoed.)
//   - Top level neither object nor array: one -32600, id null.
//   - An object: one request, or one -32600 when it is not a valid request.
//   - An array: a batch. Empty -> one -32600 (not in an array). More than
//     Limits::max_batch_size elements -> one -32600 ("batch too large") and
//     nothing runs. Otherwise each element on its own: a valid request, or a
//     -32600 for that element.
//   - A valid request: "jsonrpc" exactly "2.0"; "method" a string; "params",
//     if present, an object or array; "id", if present, a string, number or
//     null. Other members are ignored (the spec does not forbid them).
//   - An invalid request echoes its id when the id itself was valid, null
//     otherwise; it is answered even without an id (only a valid request can
//     be a notification).
// Method names are not checked here: an unknown or reserved ("rpc.") name
// is still a valid request, and its -32601 must be suppressed for a
// notification. MethodTable::Dispatch answers it.
//
// Thread safety: pure functions.
//
// Invariants:
//   1. Every element of the input is accounted for exactly once: as a
//      request or as an error line (except for the whole-line errors above,
//      which answer the line once).
//   2. error_lines are complete response lines (ending '\n').
#ifndef INTERPD_PROTOCOL_REQUEST_PARSER_H_
#define INTERPD_PROTOCOL_REQUEST_PARSER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "interpd/protocol/limits.h"
#include "interpd/protocol/request.h"
#include "interpd/value.h"

namespace interpd::protocol {

struct ParsedLine {
  // The line was a batch (a non-empty array within the size limit): the
  // responses must go out together as one array line (BatchCollector).
  // Otherwise there is at most one response, sent as it is.
  bool batch = false;
  // Valid requests, in the order they appeared.
  std::vector<Request> requests;
  // Ready-to-send error responses for whatever was not a valid request.
  std::vector<std::string> error_lines;

  // How many responses this line will produce: every error line, plus one
  // per request that is not a notification. 0 means send nothing at all.
  size_t ResponsesExpected() const;
};

// Parses and validates one line (a frame from LineFramer, or an HTTP body).
// A line longer than limits.max_frame_bytes is answered with -32004 without
// being parsed, for callers that did not frame it with a LineFramer.
ParsedLine ParseRequestLine(std::string_view line, const Limits& limits);

// The validation half, for a message already read as a Value.
ParsedLine ParseRequestValue(const Value& message, const Limits& limits);

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_REQUEST_PARSER_H_
