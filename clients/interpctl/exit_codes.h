// Exit codes of interpctl: what a shell script may rely on, and the one
// place that maps daemon answers onto them.
//
// The numbers follow conventions shell users already know: the script's own
// code for SystemExit, 124 for a timeout (coreutils `timeout`), 128 + signal
// for an interrupted run, and <sysexits.h> for failures of the service
// itself (69 unavailable, 75 retry later, 76 protocol, 77 permission).
//
// Thread safety: constants and pure functions.
//
// Invariants:
//   1. The numbers are a documented contract (interpctl --help,
//      docs/clients.md); never renumber, only add.
//   2. Every JSON-RPC error code, known or not, maps to exactly one exit
//      code, and none of them maps to 0.
#ifndef INTERPD_CLIENTS_INTERPCTL_EXIT_CODES_H_
#define INTERPD_CLIENTS_INTERPCTL_EXIT_CODES_H_

#include <string>
#include <string_view>

namespace interpd::clients {

namespace exit_code {
inline constexpr int kSuccess = 0;
// The script raised (status "error"), or an actor method raised (-32010),
// or a result could not be represented as JSON (-32012).
inline constexpr int kScriptError = 1;
// interpctl's own command line was wrong (CLI11 parse errors).
inline constexpr int kUsage = 2;
// The daemon refused the request as invalid: bad parameters (-32602) or a
// request too large (-32004).
inline constexpr int kRejected = 64;        // EX_USAGE
// An input is unusable: a script, --stdin text or argument that is not
// UTF-8, or an argument of `call`/`spawn` that is not JSON.
inline constexpr int kDataError = 65;       // EX_DATAERR
// An input was not found: a local script or --stdin file, or what the
// daemon was asked about (-32002: an actor, a path, a run).
inline constexpr int kNotFound = 66;        // EX_NOINPUT
// The daemon cannot be reached: no socket, nothing listening, the
// connection dropped before the answer, or no answer in time.
inline constexpr int kUnavailable = 69;     // EX_UNAVAILABLE
// The daemon reported an internal error (-32603) or an error code this
// client does not know.
inline constexpr int kInternal = 70;        // EX_SOFTWARE
// Try again later: overloaded (-32000), shutting down (-32001), or the run
// was cancelled by the daemon rather than by this interpctl.
inline constexpr int kRetryLater = 75;      // EX_TEMPFAIL
// The daemon's answer broke the protocol, or it does not implement the
// method asked for (-32601, e.g. actors on a daemon without them), or it
// could not read our request (-32700, -32600).
inline constexpr int kProtocol = 76;        // EX_PROTOCOL
// Permission denied: the socket (EACCES) or the daemon (-32003).
inline constexpr int kPermission = 77;      // EX_NOPERM
// The run hit its timeout (status "timeout", or -32011).
inline constexpr int kTimeout = 124;        // as coreutils timeout
// 128 + signal number: the run was cancelled because interpctl got SIGINT
// (130) or SIGTERM (143).
inline constexpr int kSignalBase = 128;
inline constexpr int kInterrupted = kSignalBase + 2;
}  // namespace exit_code

// The exit code for a JSON-RPC error code (invariant 2).
int ExitCodeForRpcError(int code);

// The exit code of a script that raised SystemExit with `code`: the low 8
// bits, as the process would have exited (sys.exit(256) exits 0 and
// sys.exit(-1) exits 255 in a plain `python3`).
int ExitCodeForSystemExit(long long code);

// The table printed at the end of `interpctl --help`.
std::string ExitCodesHelp();

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_EXIT_CODES_H_
