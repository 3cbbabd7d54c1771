// HandleLine: the whole JSON-RPC turn for one frame: parse and validate it,
// dispatch its requests, and route every response to the connection, as
// single lines or, for a batch, as one array line once all are in.
//
// This is the piece a session calls for each LineFramer frame; it keeps the
// session free of JSON-RPC rules:
//
//   framer.Feed(chunk, [&](const LineFramer::Frame& f) {
//     if (f.oversized) return send(OversizedFrameLine(limits));
//     HandleLine(f.line, limits, table, self, send);
//   });
//
// Thread safety: as MethodTable::Dispatch. `send` is called from whichever
// thread completes a response (possibly a worker, possibly later), so it
// must be thread-safe and must keep the connection alive as long as it can
// be called (capture a shared_ptr).
//
// Invariants:
//   1. `send` receives exactly ParsedLine::ResponsesExpected() lines for a
//      single request, and exactly one array line for a batch that expects
//      any response; nothing for notifications or an all-notification batch.
#ifndef INTERPD_PROTOCOL_LINE_HANDLER_H_
#define INTERPD_PROTOCOL_LINE_HANDLER_H_

#include <functional>
#include <string_view>
#include <utility>

#include "interpd/protocol/limits.h"
#include "interpd/protocol/method_table.h"
#include "interpd/protocol/request_parser.h"
#include "interpd/protocol/responder.h"

namespace interpd::protocol {

// The non-template core: sends `parsed`'s error lines and hands each request
// with its Responder to `dispatch`.
void HandleParsedLine(ParsedLine parsed, const Limits& limits, const Responder::Sink& send,
                      const std::function<void(Request, Responder)>& dispatch);

template <typename Context>
void HandleLine(std::string_view line, const Limits& limits, const MethodTable<Context>& table, const Context& context,
                const Responder::Sink& send) {
  HandleParsedLine(ParseRequestLine(line, limits), limits, send, [&](Request request, Responder responder) {
    table.Dispatch(context, std::move(request), std::move(responder));
  });
}

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_LINE_HANDLER_H_
