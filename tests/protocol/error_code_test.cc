#include "interpd/protocol/error_code.h"

#include <catch2/catch.hpp>

using interpd::Status;
using interpd::protocol::ErrorCode;
using interpd::protocol::ErrorCodeForStatus;
using interpd::protocol::ErrorCodeFromInt;
using interpd::protocol::ErrorCodeMessage;
using interpd::protocol::ToInt;

TEST_CASE("error codes have PROTOCOL.md's numbers and wording", "[errors]") {
  struct Row {
    ErrorCode code;
    int number;
    const char* message;
  } rows[] = {
      {ErrorCode::kParseError, -32700, "parse error"},
      {ErrorCode::kInvalidRequest, -32600, "invalid request"},
      {ErrorCode::kMethodNotFound, -32601, "method not found"},
      {ErrorCode::kInvalidParams, -32602, "invalid params"},
      {ErrorCode::kInternalError, -32603, "internal error"},
      {ErrorCode::kOverloaded, -32000, "overloaded: queue or connection limit reached (retry later)"},
      {ErrorCode::kShuttingDown, -32001, "shutting down"},
      {ErrorCode::kNotFound, -32002, "not found"},
      {ErrorCode::kPermissionDenied, -32003, "permission denied"},
      {ErrorCode::kTooLarge, -32004, "frame too large or nesting too deep"},
      {ErrorCode::kPythonException, -32010, "Python exception in an actor call"},
      {ErrorCode::kTimeout, -32011, "timed out"},
      {ErrorCode::kNotRepresentable, -32012, "value not shareable / not representable as JSON"},
  };
  for (const auto& row : rows) {
    CHECK(ToInt(row.code) == row.number);
    CHECK(ErrorCodeMessage(row.code) == row.message);
    CHECK(ErrorCodeFromInt(row.number) == row.code);
  }
  CHECK_FALSE(ErrorCodeFromInt(-32005).has_value());
  CHECK_FALSE(ErrorCodeFromInt(0).has_value());
}

TEST_CASE("runtime statuses map onto wire errors", "[errors]") {
  using C = Status::Code;
  struct Row {
    C status;
    ErrorCode wire;
  } rows[] = {
      {C::kOverloaded, ErrorCode::kOverloaded},
      {C::kShuttingDown, ErrorCode::kShuttingDown},
      {C::kNotFound, ErrorCode::kNotFound},
      {C::kPermissionDenied, ErrorCode::kPermissionDenied},
      {C::kTimeout, ErrorCode::kTimeout},
      {C::kNotShareable, ErrorCode::kNotRepresentable},
      {C::kInvalidArgument, ErrorCode::kInvalidParams},
      {C::kAlreadyExists, ErrorCode::kInvalidParams},
      {C::kDeadlock, ErrorCode::kInternalError},
      {C::kCancelled, ErrorCode::kInternalError},
      {C::kResourceExhausted, ErrorCode::kInternalError},
      {C::kClosed, ErrorCode::kInternalError},
      {C::kPythonError, ErrorCode::kInternalError},
      {C::kInternal, ErrorCode::kInternalError},
  };
  for (const auto& row : rows) {
    INFO(Status::CodeName(row.status));
    CHECK(ErrorCodeForStatus(row.status) == row.wire);
  }
}
