// InterpctlProcess: the interpctl binary under test as a child process, with
// its stdout and stderr on pipes, so a test sees exactly what a shell user
// would: bytes in order, the exit code, the effect of signals.
//
// Thread safety: one object per test, used by the test's thread.
//
// Invariants:
//   1. The child is reaped exactly once; the destructor SIGKILLs and reaps
//      a child the test did not wait for, so no test leaks a process.
//   2. out()/err() hold everything read so far, in order; with
//      merge_output the child's stderr goes to the stdout pipe too, so the
//      interleaving of the two streams is preserved in out().
#ifndef INTERPD_TESTS_CLIENTS_INTERPCTL_INTERPCTL_PROCESS_H_
#define INTERPD_TESTS_CLIENTS_INTERPCTL_INTERPCTL_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace interpd::test {

struct InterpctlOptions {
  std::vector<std::string> args;               // after argv[0]
  std::map<std::string, std::string> env;      // set in the child
  std::vector<std::string> unset_env;          // removed in the child
  std::optional<std::string> stdin_text;       // nullopt: /dev/null
  bool merge_output = false;                   // stderr into the stdout pipe
  std::string binary;                          // "" = the interpctl under test
  std::optional<uid_t> uid;                    // run as this user and group id (needs root)
};

struct InterpctlResult {
  int exit_code = -1;  // the exit status, or 128 + signal if killed
  std::string out;
  std::string err;
};

class InterpctlProcess {
 public:
  explicit InterpctlProcess(InterpctlOptions options);
  ~InterpctlProcess();
  InterpctlProcess(const InterpctlProcess&) = delete;
  InterpctlProcess& operator=(const InterpctlProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads output until out() contains `text`; false on timeout or EOF.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void Signal(int signo);
  // Reads the rest of the output and reaps the child; nullopt on timeout
  // (the child is then still running).
  std::optional<InterpctlResult> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  // Reads what is available on the open pipes, waiting up to `timeout_ms`.
  // Returns false once both pipes are at EOF.
  bool Pump(int timeout_ms);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::string stdin_path_;  // temporary file holding stdin_text
};

// Runs interpctl to completion.
InterpctlResult RunInterpctl(InterpctlOptions options);

// The path of the interpctl binary under test.
std::string InterpctlBinary();

}  // namespace interpd::test

#endif  // INTERPD_TESTS_CLIENTS_INTERPCTL_INTERPCTL_PROCESS_H_
