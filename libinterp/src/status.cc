#include "interpd/status.h"

namespace interpd {

std::string_view Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kTimeout: return "Timeout";
    case Code::kCancelled: return "Cancelled";
    case Code::kOverloaded: return "Overloaded";
    case Code::kShuttingDown: return "ShuttingDown";
    case Code::kResourceExhausted: return "ResourceExhausted";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kNotShareable: return "NotShareable";
    case Code::kClosed: return "Closed";
    case Code::kPythonError: return "PythonError";
    case Code::kInternal: return "Internal";
    case Code::kDeadlock: return "Deadlock";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace interpd
