// CommandContext: what every interpctl subcommand shares: which socket to
// use, where messages go, and how failures become a message, a hint and an
// exit code.
//
// Each failure is reported once, here, in the same words whichever command
// hit it, so `interpctl ping` and `interpctl run` fail alike when the daemon
// is down, and the exit code table (exit_codes.h) is applied in one place.
//
// Thread safety: none; one per command invocation, used by one thread.
//
// Invariants:
//   1. Every Report* prints exactly one "interpctl: ..." line (plus hint
//      lines) on stderr and returns a non-zero exit code.
//   2. Nothing is printed on stdout by this class.
#ifndef INTERPD_CLIENTS_INTERPCTL_COMMAND_CONTEXT_H_
#define INTERPD_CLIENTS_INTERPCTL_COMMAND_CONTEXT_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "console.h"
#include "rpc_client.h"
#include "socket_path.h"
#include "wire.h"

namespace interpd::clients {

class CommandContext {
 public:
  using Clock = std::chrono::steady_clock;

  // How long one-shot commands (ping, version, stats, actors, spawn, stop)
  // wait for their answer: they are answered at once by a live daemon, so
  // silence this long means it is wedged.
  static constexpr std::chrono::seconds kAnswerTimeout{30};

  CommandContext(SocketChoice socket, Console& console) : socket_(std::move(socket)), console_(console) {}

  const SocketChoice& socket() const { return socket_; }
  Console& console() { return console_; }

  // Connects to the daemon; on failure reports why (with what to try) and
  // returns nullptr with *exit_code set.
  std::unique_ptr<RpcClient> Connect(int* exit_code);

  // Connects, sends one request and waits for its answer. Returns 0 with
  // *result set, or reports the failure and returns its exit code.
  // `deadline` nullopt waits as long as the daemon takes.
  int Call(std::string_view method, const Value& params, Value* result,
           std::optional<Clock::time_point> deadline = Clock::now() + kAnswerTimeout);

  // Reports a JSON-RPC error answer to `method`.
  int ReportRpcError(std::string_view method, const RpcError& error);
  // Reports an RpcClient wait that ended without the answer.
  int ReportWaitFailure(RpcClient::Wait wait, std::string_view problem);
  // Reports a result whose shape the protocol does not allow.
  int ReportBadResult(std::string_view method, std::string_view what);

 private:
  const SocketChoice socket_;
  Console& console_;
};

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_COMMAND_CONTEXT_H_
