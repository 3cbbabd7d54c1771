// The interpctl command line: CLI11 definitions of every subcommand, their
// help texts, and the dispatch to the command functions.
//
// Rules shared by every subcommand (and stated in --help):
//   - interpctl's options go before the first operand: after FILE (run) or
//     ACTOR (call, send) every word belongs to the script or the method,
//     so `interpctl run job.py --verbose` passes --verbose to job.py and
//     `interpctl call acc add -1` passes -1. One `--` right after FILE is
//     dropped, for those who write `run FILE -- ARGS`.
//   - --socket PATH, else $INTERPD_SOCKET, else the daemon's default path.
//   - Exit codes as exit_codes.h; a usage error is 2.
//
// Thread safety: none; called once from main().
#ifndef INTERPD_CLIENTS_INTERPCTL_CLI_H_
#define INTERPD_CLIENTS_INTERPCTL_CLI_H_

namespace interpd::clients {

// Parses the command line, runs the command, returns the exit code.
int InterpctlMain(int argc, char** argv);

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_CLI_H_
