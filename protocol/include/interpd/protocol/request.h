// Request: one valid JSON-RPC 2.0 request object, ready to dispatch.
//
// Thread safety: a plain value. A Request is moved to whichever thread runs
// its handler; its Values may be shared across threads (Value is immutable).
//
// Invariants (established by ParseRequestLine, relied on by handlers):
//   1. The object had "jsonrpc": "2.0" and a string "method".
//   2. params is kDict or kList when the request had "params", kNone when it
//      did not ("params": null is not valid JSON-RPC and never gets here).
//   3. id.present() is false exactly for notifications.
#ifndef INTERPD_PROTOCOL_REQUEST_H_
#define INTERPD_PROTOCOL_REQUEST_H_

#include <string>

#include "interpd/protocol/request_id.h"
#include "interpd/value.h"

namespace interpd::protocol {

struct Request {
  RequestId id;
  std::string method;
  Value params;

  bool is_notification() const { return !id.present(); }
};

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_REQUEST_H_
