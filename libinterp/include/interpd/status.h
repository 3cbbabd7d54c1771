// Status: the result of an operation inside the runtime (LevelDB style).
//
// Thread safety: a Status is a value; distinct objects may be used from
// distinct threads without synchronization, one object needs external
// synchronization like any std::string.
//
// Invariants:
//   1. ok() <=> code() == Code::kOk <=> message().empty() is allowed either way;
//      an OK status never carries a message.
//   2. Codes are stable: the daemon maps them one-to-one onto JSON-RPC errors.
#ifndef INTERPD_STATUS_H_
#define INTERPD_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace interpd {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,   // the caller's request is malformed
    kNotFound,          // no such worker / task / actor / channel
    kAlreadyExists,     // a name is taken
    kTimeout,           // a deadline passed
    kCancelled,         // cancelled by the caller
    kOverloaded,        // a queue or limit is full: retry later
    kShuttingDown,      // the runtime no longer accepts work
    kResourceExhausted, // a memory or output quota was hit
    kPermissionDenied,  // a policy refused the operation
    kNotShareable,      // a value cannot cross interpreters / be represented
    kClosed,            // the channel or actor is closed
    kPythonError,       // a Python exception (message: "Type: text")
    kInternal,          // a bug or an unexpected CPython failure
    kDeadlock,          // a synchronous call that could never be answered
  };

  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {
    if (code_ == Code::kOk) message_.clear();
  }

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Timeout(std::string m) { return {Code::kTimeout, std::move(m)}; }
  static Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
  static Status Overloaded(std::string m) { return {Code::kOverloaded, std::move(m)}; }
  static Status ShuttingDown(std::string m) { return {Code::kShuttingDown, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status NotShareable(std::string m) { return {Code::kNotShareable, std::move(m)}; }
  static Status Closed(std::string m) { return {Code::kClosed, std::move(m)}; }
  static Status PythonError(std::string m) { return {Code::kPythonError, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Deadlock(std::string m) { return {Code::kDeadlock, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;
  static std::string_view CodeName(Code code);

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace interpd

#endif  // INTERPD_STATUS_H_
