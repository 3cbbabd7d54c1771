// CommandLine: turns argv into what main() does next, using CLI11.
//
//   interpd [--config PATH] [--socket PATH] [--workers N] [--log-level LEVEL]
//           [--log-target TARGET] [--set SECTION.KEY=VALUE]... [--check-config]
//   interpd --version | --help
//
// Flags become ConfigOverrides on top of the file (see ConfigLoader for the
// precedence): every --set in the order given, then the named flags, so the
// specific flag wins if both name the same key. The returned ConfigSource is
// what the server re-loads on SIGHUP.
//
// Exit codes: 0 for --help, --version and a valid --check-config; 2 for a
// usage error or an invalid configuration, with or without --check-config
// (the unit file's RestartPreventExitStatus=2 relies on it: restarting
// cannot fix a bad file).
//
// Thread safety: Parse() is a pure function of argv, the environment and the
// configuration file; it writes only to the two streams it is given. main()
// calls it once, before any thread starts.
//
// Invariants of a Result:
//   1. action == kRun  => exit_code == 0 and `config` loaded from `source`
//      without errors.
//   2. action == kExit => everything the user needs to see (help, version,
//      the configuration, or each error) has been written to out or err.
#ifndef INTERPD_DAEMON_COMMAND_LINE_H_
#define INTERPD_DAEMON_COMMAND_LINE_H_

#include <map>
#include <ostream>
#include <string>

#include "daemon/config.h"
#include "daemon/config_loader.h"

namespace interpd::daemon {

class CommandLine {
 public:
  static constexpr int kExitOk = 0;
  static constexpr int kExitBadConfig = 2;  // also bad usage

  enum class Action {
    kRun,   // start the daemon with `config`
    kExit,  // return exit_code from main()
  };

  struct Result {
    Action action = Action::kExit;
    int exit_code = kExitOk;
    ConfigSource source;
    Config config;
  };

  CommandLine() = delete;

  // Help and version go to `out`; --check-config prints the effective
  // configuration to `out` or the errors to `err`; usage errors go to `err`.
  static Result Parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

  // "interpd 0.1.0 (CPython 3.13.0)": the release and the CPython the binary
  // embeds, which is what a bug report needs first.
  static std::string Version();

  // Comments --check-config puts after keys whose value is resolved at run
  // time ("" socket, 0 workers, "" python.home, "auto" log target), saying
  // what they resolve to in this process.
  static std::map<std::string, std::string> ResolvedNotes(const Config& config);
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_COMMAND_LINE_H_
