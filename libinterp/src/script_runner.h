// ScriptRunner: runs one task's script in its worker's interpreter and turns
// the outcome into a TaskResult that holds no Python object.
//
// Thread safety: owned by one Worker and used only on its thread, under its
// interpreter's GIL.
//
// Invariants:
//   1. Every script gets a new `__main__` module, sys.argv, sys.stdin and the
//      worker's output sinks; nothing of them survives into the next task
//      (sys.modules["__main__"] is reset to an empty module afterwards).
//   2. Python exceptions leave as PythonError (type, message, traceback).
//   3. All Python references are dropped by Close(), which runs before the
//      interpreter is destroyed.
#ifndef INTERPD_SCRIPT_RUNNER_H_
#define INTERPD_SCRIPT_RUNNER_H_

#include <string>
#include <vector>

#include "code_cache.h"
#include "interp_context.h"
#include "interpd/task.h"
#include "interpd_module.h"
#include "task_state.h"

namespace interpd {

// Flattens a Python exception (type, str(), formatted traceback). `filename`
// and `source` let the traceback show lines of code that is not a file.
// REQUIRES: GIL; no exception pending (it is passed in).
PythonError DescribePythonException(PyObject* exc, const std::string& filename, const std::string& source);

class ScriptRunner {
 public:
  ScriptRunner(InterpreterContext* ctx, size_t cache_entries) : ctx_(ctx), cache_(cache_entries) {}
  ScriptRunner(const ScriptRunner&) = delete;
  ScriptRunner& operator=(const ScriptRunner&) = delete;

  // Imports `interpd`, installs the stdio sinks and extra sys.path entries.
  // REQUIRES: GIL of a freshly created worker interpreter.
  Status Open(const std::vector<std::string>& extra_paths);
  // REQUIRES: GIL.
  void Close();

  // Runs `task`, filling `result` (status, value, output, error).
  // REQUIRES: GIL; Open() succeeded.
  void Run(Task& task, size_t output_limit, TaskResult* result);

  ModuleState* module_state() const { return state_; }
  const CodeCache& cache() const { return cache_; }

 private:
  void SetUpStreams(Task& task);
  // Classifies the pending exception into `result`; clears it.
  void TakeException(Task& task, TaskResult* result);

  InterpreterContext* ctx_;
  CodeCache cache_;
  ModuleState* state_ = nullptr;
  // Strong references, dropped by Close().
  PyObject* module_ = nullptr;       // interpd
  PyObject* sys_modules_ = nullptr;  // sys.modules
  PyObject* builtins_ = nullptr;     // the builtins module
  PyObject* blank_main_ = nullptr;   // the empty __main__ between tasks
  PyObject* stdout_ = nullptr;
  PyObject* stderr_ = nullptr;
  PyObject* stdin_ = nullptr;
};

}  // namespace interpd

#endif  // INTERPD_SCRIPT_RUNNER_H_
