// RunCommand: `interpctl run`: send a script, relay its output live, cancel
// it on Ctrl-C, and turn its result into an exit code.
//
//   run FILE [--] [ARGS...]    FILE's contents, read here (the daemon may
//                              run as another user), named FILE in tracebacks
//   run -c CODE [--] [ARGS...] CODE itself
//   run - [ARGS...]            the script from interpctl's stdin
//
// Output: with streaming (the default), each run.output chunk is written as
// it arrives, stdout chunks to stdout and stderr chunks to stderr, so they
// interleave as the script wrote them. A Python exception's traceback goes
// to stderr. The value of the script's final expression, when not null, is
// printed to stdout as one line of JSON (like a REPL prints a repr) unless
// --quiet. --json prints the whole result object instead, unstreamed.
//
// Ctrl-C (SIGINT) or SIGTERM during the run sends `cancel` and waits up to
// kCancelGrace for the cancelled result; a second signal, or no answer in
// time, gives up at once. Closing the connection cancels the run on the
// daemon's side anyway (session invariant 3), so giving up leaks nothing.
//
// Thread safety: none; one command on one thread.
//
// Invariants:
//   1. Output chunks are written in the order the daemon sent them, each
//      exactly once, before anything about the result is printed.
//   2. After a signal, the exit code is 128 + signal when the run ended
//      cancelled; a run that finished before the cancel took effect keeps
//      its own exit code.
#ifndef INTERPD_CLIENTS_INTERPCTL_RUN_COMMAND_H_
#define INTERPD_CLIENTS_INTERPCTL_RUN_COMMAND_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "command_context.h"
#include "interpd/value.h"
#include "rpc_client.h"
#include "signal_pipe.h"

namespace interpd::clients {

struct RunOptions {
  enum class Source { kFile, kCode, kStdin };
  Source source = Source::kFile;
  std::string file;                       // kFile
  std::string code;                       // kCode
  std::vector<std::string> args;          // sys.argv[1:]
  std::optional<double> timeout;          // seconds, enforced by the daemon
  std::optional<int64_t> worker;          // pin to this worker
  std::optional<std::string> isolation;   // "reuse" | "fresh"
  std::optional<std::string> lane;        // "isolated" | "compat" | "auto"
  std::optional<int64_t> memory_limit;    // bytes the run may grow its interpreter by
  std::optional<std::string> stdin_file;  // what sys.stdin reads; "-" = our stdin
  std::optional<std::string> name;        // file name in tracebacks
  bool by_path = false;                   // send FILE's absolute path, not its text
  bool quiet = false;                     // do not print the final value
  bool json = false;                      // print the raw result object
};

class RunCommand {
 public:
  // How long to wait for the cancelled result after a signal. The daemon
  // interrupts a running script at once; one stuck in C code is abandoned
  // after workers.interrupt_grace (2 s by default) and reported then.
  static constexpr std::chrono::seconds kCancelGrace{5};

  RunCommand(CommandContext& context, RunOptions options) : context_(context), options_(std::move(options)) {}

  // Runs the command; returns interpctl's exit code.
  int Execute();

  // The exit code for a `run` result (exit_codes.h); `signal` is the signal
  // that made interpctl cancel the run, 0 if none. -1 when the result breaks
  // the protocol (*problem says how).
  static int ExitCodeForResult(const Value& result, int signal, std::string* problem);

 private:
  // Reads the script and stdin and builds the request params; on failure
  // reports it and returns the exit code.
  int BuildParams(Value* params);
  // Relays output and waits for the result of run `id`.
  int Wait(RpcClient& client, int64_t id, SignalPipe& signals);
  // Prints what the result says and returns the exit code.
  int Finish(const Value& result, int signal);
  void Relay(const Value& params, int64_t id);

  CommandContext& context_;
  const RunOptions options_;
};

}  // namespace interpd::clients

#endif  // INTERPD_CLIENTS_INTERPCTL_RUN_COMMAND_H_
