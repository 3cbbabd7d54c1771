// Task request and result: what a caller submits to a WorkerPool and what it
// gets back. Plain values: no Python objects, safe to move across threads.
#ifndef INTERPD_TASK_H_
#define INTERPD_TASK_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interpd/status.h"
#include "interpd/value.h"

namespace interpd {

using TaskId = uint64_t;

enum class OutputStream : uint8_t { kStdout = 1, kStderr = 2 };

// What a script's output callback receives: which stream and a UTF-8 chunk.
// Chunks of one task arrive in the order the script produced them.
using OutputCallback = std::function<void(OutputStream, std::string_view)>;

// Which interpreter runs a script.
enum class Isolation : uint8_t {
  kReuse,  // a fresh __main__ in a warm worker interpreter (default)
  kFresh,  // an interpreter no earlier script has touched
};

// Which kind of interpreter runs a script (docs/resources.md, "Lanes").
enum class Lane : uint8_t {
  kIsolated,  // own GIL and allocator (PEP 684); refuses single-phase-init C extensions
  kCompat,    // shares the main interpreter's GIL; imports single-phase-init extensions
  kAuto,      // isolated; run again in the compat lane if it fails importing one
};
// "isolated", "compat", "auto".
std::string_view LaneName(Lane lane);

struct TaskRequest {
  // The script's source text and the file name shown in tracebacks.
  std::string code;
  std::string filename = "<script>";
  // When set, __file__ is defined as `filename` (a run from a path).
  bool define_file = false;
  // sys.argv[1:] (sys.argv[0] is `filename`).
  std::vector<std::string> args;
  // What sys.stdin reads.
  std::string stdin_text;
  // Wall-clock limit; zero means none.
  std::chrono::duration<double> timeout{0};
  // Run on this worker (its inbox) instead of whichever is free; -1 = any.
  int worker = -1;
  Isolation isolation = Isolation::kReuse;
  Lane lane = Lane::kIsolated;
  // Bytes the script may add to its interpreter's accounted memory while it
  // runs; an allocation beyond fails with MemoryError. Zero: no limit.
  // Needs memory accounting (RuntimeOptions::memory_accounting).
  size_t memory_limit = 0;
  // CPU time the script may use (its worker thread's CPU clock); past it the
  // task is interrupted like a timeout. Zero: no limit.
  std::chrono::duration<double> cpu_limit{0};
  // Cap on captured (or streamed) stdout+stderr bytes; beyond it output is
  // dropped and the result is flagged `truncated`. Zero: the pool default.
  size_t output_limit = 0;
  // When set, output is delivered through this callback as it is produced
  // (line-buffered, flushed on stream switch and at the end) instead of being
  // collected into the result. Runs off the worker thread, like completions.
  OutputCallback on_output;
};

enum class TaskStatus : uint8_t {
  kOk,         // the script ran to the end
  kError,      // it raised (see `error`), or the pool refused it (see `refusal`)
  kExit,       // it raised SystemExit (see `exit_code`)
  kTimeout,    // its deadline passed and it was interrupted
  kCancelled,  // Cancel() stopped it, before or while it ran
};
std::string_view TaskStatusName(TaskStatus s);

// A Python exception, flattened so that nothing of the interpreter remains.
struct PythonError {
  std::string type;       // "ZeroDivisionError", "mymod.MyError"
  std::string message;    // str(exc)
  std::string traceback;  // as traceback.format_exception() prints it
};

struct TaskResult {
  TaskId id = 0;
  TaskStatus status = TaskStatus::kOk;
  // The value of the script's final expression statement, as the REPL would
  // show it (None when the script does not end with an expression).
  Value value;
  std::string stdout_text;
  std::string stderr_text;
  bool truncated = false;
  std::optional<int> exit_code;       // set iff status == kExit
  std::optional<PythonError> error;   // set for kError from the script, and
                                      // for kTimeout/kCancelled (the interrupt)
  // Set when the pool refused or lost the task without running it to an end
  // in Python (shutting down, no such worker, queue full).
  Status refusal;
  int worker = -1;                    // the worker slot that ran it
  Lane lane = Lane::kIsolated;        // the lane that ran it: kIsolated or kCompat
  int64_t interpreter_id = -1;        // CPython's interpreter ID
  double duration_ms = 0;             // run time in the interpreter
  double queued_ms = 0;               // time spent waiting for a worker
  // The task did not stop within the grace period after its interrupt (stuck
  // in C code or swallowing the exception): its worker was abandoned and a
  // fresh one took its place.
  bool worker_replaced = false;
};

}  // namespace interpd

#endif  // INTERPD_TASK_H_
