#include "command_context.h"

#include <errno.h>
#include <sys/stat.h>

#include <cstring>

#include "exit_codes.h"
#include "interpd/protocol/error_code.h"

namespace interpd::clients {

namespace {

constexpr std::string_view kStatusHint = "is the daemon running? try: systemctl status interpd";

bool IsSocket(std::string_view path) {
  struct stat st;
  return ::stat(std::string(path).c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::string Where(const SocketChoice& socket) {
  return socket.path + " (from " + std::string(socket.SourceName()) + ")";
}

}  // namespace

std::unique_ptr<RpcClient> CommandContext::Connect(int* exit_code) {
  int error = 0;
  UnixConnection connection = UnixConnection::Connect(socket_.path, &error);
  if (connection.valid()) return std::make_unique<RpcClient>(std::move(connection));

  const std::string where = Where(socket_);
  std::string hint;
  *exit_code = exit_code::kUnavailable;
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      hint = std::string(kStatusHint);
      // A user's own default ($XDG_RUNTIME_DIR) misses the system service;
      // say where it is when it is there.
      if (socket_.source == SocketChoice::Source::kDefault && socket_.path != kSystemSocketPath &&
          IsSocket(kSystemSocketPath)) {
        hint += "\nthe system service listens on " + std::string(kSystemSocketPath) +
                ": try --socket " + std::string(kSystemSocketPath);
      } else {
        hint += "\nor point interpctl at the daemon's socket: --socket PATH or INTERPD_SOCKET=PATH";
      }
      console_.Error("cannot connect to the daemon: no socket at " + where, hint);
      return nullptr;
    case ECONNREFUSED:
      console_.Error("cannot connect to the daemon: nothing is listening on " + where,
                     std::string(kStatusHint) + "\n(a socket file left behind by a daemon that is gone)");
      return nullptr;
    case EACCES:
    case EPERM:
      *exit_code = exit_code::kPermission;
      console_.Error("cannot connect to the daemon: permission denied on " + where,
                     "connecting needs write permission on the socket: check its group with ls -l " + socket_.path +
                         "\nand ask to be added to it (see server.socket_mode, server.allow_groups)");
      return nullptr;
    case ENAMETOOLONG:
      console_.Error("cannot connect to the daemon: the socket path " + where + " is longer than a Unix socket "
                     "address can hold (107 bytes)",
                     "use a shorter path, e.g. a symbolic link to the socket's directory");
      return nullptr;
    default:
      console_.Error("cannot connect to the daemon at " + where + ": " + std::strerror(error),
                     std::string(kStatusHint));
      return nullptr;
  }
}

int CommandContext::Call(std::string_view method, const Value& params, Value* result,
                         std::optional<Clock::time_point> deadline) {
  int code = 0;
  std::unique_ptr<RpcClient> client = Connect(&code);
  if (!client) return code;
  ServerMessage response;
  std::string problem;
  const RpcClient::Wait wait = client->Call(method, params, &response, deadline, &problem);
  if (wait != RpcClient::Wait::kMessage) return ReportWaitFailure(wait, problem);
  if (response.error) return ReportRpcError(method, *response.error);
  *result = std::move(*response.result);
  return exit_code::kSuccess;
}

int CommandContext::ReportRpcError(std::string_view method, const RpcError& error) {
  using protocol::ErrorCode;
  const int exit = ExitCodeForRpcError(error.code);
  const std::string code = " (" + std::to_string(error.code) + ")";
  const auto known = protocol::ErrorCodeFromInt(error.code);
  if (known == ErrorCode::kMethodNotFound) {
    if (method.starts_with("actor.")) {
      console_.Error("this daemon does not support actors yet (" + std::string(method) + ": method not found)",
                     "actors need a newer interpd; `interpctl version` shows which one is running");
    } else {
      console_.Error("the daemon does not know the method \"" + std::string(method) + "\"" + code,
                     "it may be older than this interpctl; `interpctl version` shows both");
    }
    return exit;
  }
  if (known == ErrorCode::kPythonException) {
    // An actor method raised: show its traceback the way a script's is shown.
    const Value* traceback = Member(error.data, "traceback");
    if (traceback != nullptr && traceback->kind() == ValueKind::kStr && !traceback->str().empty()) {
      console_.Err(traceback->str());
      if (traceback->str().back() != '\n') console_.Err("\n");
      return exit;
    }
  }
  std::string hint;
  if (known == ErrorCode::kOverloaded) hint = "the daemon is busy: retry later";
  if (known == ErrorCode::kShuttingDown) hint = "the daemon is stopping: retry once it is back (systemctl status interpd)";
  if (known == ErrorCode::kPermissionDenied) hint = "see server.allow_users and server.allow_groups in the daemon's configuration";
  if (known == ErrorCode::kParseError || known == ErrorCode::kInvalidRequest) {
    hint = "the daemon could not read interpctl's request: please report this with `interpctl version`";
  }
  if (!error.data.is_none() && known != ErrorCode::kPythonException) {
    hint += (hint.empty() ? "" : "\n") + std::string("details: ") + ToJsonText(error.data);
  }
  console_.Error(std::string(method) + ": " + error.message + code, hint);
  return exit;
}

int CommandContext::ReportWaitFailure(RpcClient::Wait wait, std::string_view problem) {
  switch (wait) {
    case RpcClient::Wait::kTimeout:
      console_.Error("no answer from the daemon at " + socket_.path + " within " +
                         std::to_string(kAnswerTimeout.count()) + " s",
                     "it may be wedged: try systemctl status interpd, journalctl -u interpd");
      return exit_code::kUnavailable;
    case RpcClient::Wait::kBroken:
      console_.Error("protocol error: " + std::string(problem),
                     "is " + socket_.path + " an interpd socket? `interpctl version` shows what answers there");
      return exit_code::kProtocol;
    case RpcClient::Wait::kUnencodable:
      console_.Error(std::string(problem), "names, arguments and code must be UTF-8 text");
      return exit_code::kDataError;
    case RpcClient::Wait::kClosed:
    case RpcClient::Wait::kError:
    case RpcClient::Wait::kWoken:
    case RpcClient::Wait::kMessage:
      break;
  }
  console_.Error("lost the connection before the answer: " + std::string(problem),
                 "the daemon may have stopped or restarted: try systemctl status interpd, journalctl -u interpd");
  return exit_code::kUnavailable;
}

int CommandContext::ReportBadResult(std::string_view method, std::string_view what) {
  console_.Error("protocol error: the daemon's answer to " + std::string(method) + " " + std::string(what),
                 "is " + socket_.path + " an interpd socket of protocol version 1?");
  return exit_code::kProtocol;
}

}  // namespace interpd::clients
