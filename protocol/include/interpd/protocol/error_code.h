// ErrorCode: the JSON-RPC error codes of PROTOCOL.md, and the one place that
// maps runtime Status codes onto them.
//
// Thread safety: stateless functions over constants; call from any thread.
//
// Invariants:
//   1. The numeric values are the wire contract (PROTOCOL.md); never renumber.
//   2. ErrorCodeMessage() returns PROTOCOL.md's wording for each code, used
//      when a caller has nothing more specific to say.
#ifndef INTERPD_PROTOCOL_ERROR_CODE_H_
#define INTERPD_PROTOCOL_ERROR_CODE_H_

#include <optional>
#include <string_view>

#include "interpd/status.h"

namespace interpd::protocol {

enum class ErrorCode : int {
  // JSON-RPC 2.0 standard errors.
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  // interpd server errors (PROTOCOL.md table).
  kOverloaded = -32000,
  kShuttingDown = -32001,
  kNotFound = -32002,
  kPermissionDenied = -32003,
  kTooLarge = -32004,          // frame too large, nesting too deep, number too long
  kPythonException = -32010,   // in an actor call; data: type, message, traceback
  kTimeout = -32011,
  kNotRepresentable = -32012,  // not shareable / not representable as JSON
};

// The wire number, e.g. -32700.
constexpr int ToInt(ErrorCode code) { return static_cast<int>(code); }

// The ErrorCode for a wire number, or nullopt for a number PROTOCOL.md does
// not define (for clients and tests that read responses back).
std::optional<ErrorCode> ErrorCodeFromInt(int code);

// PROTOCOL.md's wording, e.g. "parse error", "shutting down",
// "frame too large or nesting too deep".
std::string_view ErrorCodeMessage(ErrorCode code);

// The error a failed runtime Status becomes on the wire:
//   kOverloaded -> -32000, kShuttingDown -> -32001, kNotFound -> -32002,
//   kPermissionDenied -> -32003, kTimeout -> -32011, kNotShareable -> -32012,
//   kInvalidArgument -> -32602, anything else -> -32603.
// kPythonError maps to -32603 as well: only an actor call turns a Python
// exception into -32010, and it builds that error (with its data) itself.
// REQUIRES: code != Status::Code::kOk.
ErrorCode ErrorCodeForStatus(Status::Code code);

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_ERROR_CODE_H_
