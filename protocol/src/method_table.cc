#include "interpd/protocol/method_table.h"

#include "interpd/protocol/error_code.h"
#include "utf8.h"

namespace interpd::protocol::method_table_internal {

namespace {
constexpr std::string_view kReservedPrefix = "rpc.";
// Method names quoted in errors are cut to this many bytes: the name comes
// from the client and may be as long as a frame.
constexpr size_t kMaxQuotedName = 100;
}  // namespace

bool IsReserved(std::string_view name) { return name.starts_with(kReservedPrefix); }

Status CheckNewName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("a method name cannot be empty");
  if (IsReserved(name)) {
    return Status::InvalidArgument("method names starting with \"rpc.\" are reserved by JSON-RPC 2.0");
  }
  return Status::OK();
}

void AnswerMethodNotFound(std::string_view method, Responder responder) {
  std::string message = "method not found: \"" + utf8::Sanitize(method, kMaxQuotedName) + "\"";
  if (IsReserved(method)) message += " (names starting with \"rpc.\" are reserved)";
  responder.Error(ErrorCode::kMethodNotFound, message);
}

}  // namespace interpd::protocol::method_table_internal
