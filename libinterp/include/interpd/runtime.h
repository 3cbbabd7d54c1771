// Runtime: the embedded CPython runtime of the process (its main
// interpreter), started once and finalized once.
//
// Thread safety: Start() and the destructor must run on the same thread
// (CPython binds the main thread state to it). Everything else is read-only
// after Start() and may be called from any thread.
//
// Invariants:
//   1. At most one Runtime exists per process, ever: CPython cannot be
//      re-initialized reliably once subinterpreters have existed.
//   2. After Start() returns, no thread holds the main interpreter's GIL; it
//      stays idle (client code never runs in it).
//   3. Python installs no signal handlers: the embedding program owns signals.
//   4. The destructor finalizes CPython only if every worker thread has ended;
//      otherwise (a worker stuck in C code was abandoned) it leaves CPython
//      alive and clean_shutdown() is false, so the caller can _exit().
#ifndef INTERPD_RUNTIME_H_
#define INTERPD_RUNTIME_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "interpd/status.h"

namespace interpd {

// What scripts in worker interpreters may do, enforced by an audit hook
// (PEP 578) that applies to worker interpreters only, never to the main one.
// A denied operation raises PermissionError naming the rule. This is a
// policy against accidents and casual misuse, not a sandbox: see
// docs/security.md for what it does not stop.
struct Policy {
  // subprocess.Popen, os.system, os.exec*, os.posix_spawn*, os.spawn*,
  // os.fork*, pty.spawn, and _posixsubprocess.fork_exec called directly.
  bool deny_subprocess = false;
  // os.kill, os.killpg, signal.pthread_kill, signal.pidfd_send_signal of
  // other processes. Signalling the daemon itself is always refused.
  bool deny_kill = false;
  // Importing ctypes and every ctypes audit event (dlopen, calls, raw memory).
  bool deny_ctypes = false;
  // Creating sockets (socket.socket(), and so every network connection).
  bool deny_socket = false;
  // When set, creating, writing, renaming or removing files is allowed only
  // under `write_paths` (absolute; symlinks resolved at check time).
  bool restrict_writes = false;
  std::vector<std::string> write_paths;

  friend bool operator==(const Policy&, const Policy&) = default;
};

struct RuntimeOptions {
  // CPython's prefix (PyConfig.home): where its standard library lives.
  // Empty: the prefix found when interpd was built.
  std::string python_home;
  // Prepended to sys.path in every worker interpreter.
  std::vector<std::string> extra_paths;
  // Import `site` (site-packages on sys.path).
  bool import_site = true;
  // How long the destructor waits for straggling worker threads (abandoned
  // workers finishing their stuck task) before giving up on finalization.
  std::chrono::milliseconds straggler_wait{2000};
  // Wrap CPython's raw and arena allocators to count each worker
  // interpreter's memory (needed for memory limits and memory-based
  // recycling; docs/resources.md). Decided once: CPython's allocators can only
  // be replaced before it starts.
  bool memory_accounting = true;
  // The initial policy for worker interpreters (SetPolicy changes it).
  Policy policy;
};

class Runtime {
 public:
  static Status Start(const RuntimeOptions& options, std::unique_ptr<Runtime>* out);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const RuntimeOptions& options() const { return options_; }
  // "3.13.0"
  const std::string& python_version() const { return python_version_; }
  const std::string& python_home() const { return python_home_; }
  // False when the destructor had to skip Py_FinalizeEx (see invariant 4).
  bool clean_shutdown() const { return clean_shutdown_; }

  // The runtime that Start() created, or nullptr.
  static Runtime* Get();

  // Threads that may run Python in subinterpreters (workers, interrupters)
  // register here so finalization can wait for them. Static: a stuck thread
  // may end after the Runtime object is gone.
  static void ThreadStarted();
  static void ThreadEnded();
  static int live_threads();

  // Replaces the policy of every worker interpreter; operations audited
  // after it returns see the new one. Any thread, any time (a reload).
  static void SetPolicy(const Policy& policy);
  static Policy CurrentPolicy();
  // Whether memory accounting is installed in this process.
  static bool memory_accounting();

 private:
  explicit Runtime(RuntimeOptions options) : options_(std::move(options)) {}

  // Constant after construction.
  const RuntimeOptions options_;
  std::string python_version_;
  std::string python_home_;
  void* main_thread_state_ = nullptr;  // PyThreadState*, kept opaque here
  bool clean_shutdown_ = true;
};

}  // namespace interpd

#endif  // INTERPD_RUNTIME_H_
