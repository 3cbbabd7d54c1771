#include "exit_codes.h"

#include "interpd/protocol/error_code.h"

namespace interpd::clients {

using protocol::ErrorCode;

int ExitCodeForRpcError(int code) {
  const auto known = protocol::ErrorCodeFromInt(code);
  if (!known) return exit_code::kInternal;
  switch (*known) {
    case ErrorCode::kParseError:
    case ErrorCode::kInvalidRequest:
    case ErrorCode::kMethodNotFound:
      return exit_code::kProtocol;
    case ErrorCode::kInvalidParams:
    case ErrorCode::kTooLarge:
      return exit_code::kRejected;
    case ErrorCode::kInternalError:
      return exit_code::kInternal;
    case ErrorCode::kOverloaded:
    case ErrorCode::kShuttingDown:
      return exit_code::kRetryLater;
    case ErrorCode::kNotFound:
      return exit_code::kNotFound;
    case ErrorCode::kPermissionDenied:
      return exit_code::kPermission;
    case ErrorCode::kPythonException:
    case ErrorCode::kNotRepresentable:
      return exit_code::kScriptError;
    case ErrorCode::kTimeout:
      return exit_code::kTimeout;
  }
  return exit_code::kInternal;
}

int ExitCodeForSystemExit(long long code) { return static_cast<int>(static_cast<unsigned long long>(code) & 0xFFu); }

std::string ExitCodesHelp() {
  return "Exit codes:\n"
         "  0    success\n"
         "  1    the script raised an exception, or an actor method raised\n"
         "  N    the script called sys.exit(N) (low 8 bits, as python3 would exit)\n"
         "  2    usage error on interpctl's command line\n"
         "  64   the daemon refused the request (invalid parameters, too large)\n"
         "  65   an input is unusable: not UTF-8 text, or an argument that is not JSON\n"
         "  66   not found: the script or --stdin file, or the actor/path named\n"
         "  69   the daemon is not reachable (not running, wrong socket, connection lost)\n"
         "  70   internal error in the daemon\n"
         "  75   retry later: the daemon is overloaded or shutting down\n"
         "  76   protocol error, or a method this daemon does not support\n"
         "  77   permission denied (socket permissions, server.allow_users/allow_groups)\n"
         "  124  the run timed out (--timeout, or the daemon's tasks.default_timeout)\n"
         "  130  interrupted by Ctrl-C: the run was cancelled (143 for SIGTERM)\n";
}

}  // namespace interpd::clients
