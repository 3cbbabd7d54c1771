#include "interpd/protocol/error_code.h"

#include <cassert>

namespace interpd::protocol {

std::optional<ErrorCode> ErrorCodeFromInt(int code) {
  switch (code) {
    case -32700:
    case -32600:
    case -32601:
    case -32602:
    case -32603:
    case -32000:
    case -32001:
    case -32002:
    case -32003:
    case -32004:
    case -32010:
    case -32011:
    case -32012: return static_cast<ErrorCode>(code);
    default: return std::nullopt;
  }
}

std::string_view ErrorCodeMessage(ErrorCode code) {
  switch (code) {
    case ErrorCode::kParseError: return "parse error";
    case ErrorCode::kInvalidRequest: return "invalid request";
    case ErrorCode::kMethodNotFound: return "method not found";
    case ErrorCode::kInvalidParams: return "invalid params";
    case ErrorCode::kInternalError: return "internal error";
    case ErrorCode::kOverloaded: return "overloaded: queue or connection limit reached (retry later)";
    case ErrorCode::kShuttingDown: return "shutting down";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kTooLarge: return "frame too large or nesting too deep";
    case ErrorCode::kPythonException: return "Python exception in an actor call";
    case ErrorCode::kTimeout: return "timed out";
    case ErrorCode::kNotRepresentable: return "value not shareable / not representable as JSON";
  }
  return "internal error";
}

ErrorCode ErrorCodeForStatus(Status::Code code) {
  assert(code != Status::Code::kOk);
  switch (code) {
    case Status::Code::kOverloaded: return ErrorCode::kOverloaded;
    case Status::Code::kShuttingDown: return ErrorCode::kShuttingDown;
    case Status::Code::kNotFound: return ErrorCode::kNotFound;
    case Status::Code::kPermissionDenied: return ErrorCode::kPermissionDenied;
    case Status::Code::kTimeout: return ErrorCode::kTimeout;
    case Status::Code::kNotShareable: return ErrorCode::kNotRepresentable;
    case Status::Code::kInvalidArgument: return ErrorCode::kInvalidParams;
    // A taken name (actor.spawn) is a conflict in the request's params;
    // PROTOCOL.md has no dedicated code, and -32603 would read as a bug.
    case Status::Code::kAlreadyExists: return ErrorCode::kInvalidParams;
    // Listed rather than defaulted so that a new Status code makes the
    // compiler point here (-Wswitch) and someone decides its wire error.
    case Status::Code::kOk:
    case Status::Code::kDeadlock:
    case Status::Code::kCancelled:
    case Status::Code::kResourceExhausted:
    case Status::Code::kClosed:
    case Status::Code::kPythonError:
    case Status::Code::kInternal: return ErrorCode::kInternalError;
  }
  return ErrorCode::kInternalError;
}

}  // namespace interpd::protocol
