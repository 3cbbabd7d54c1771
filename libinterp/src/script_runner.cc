#include "script_runner.h"

#include <chrono>
#include <climits>
#include <optional>

#include "memory_accounting.h"
#include "py_value.h"

namespace interpd {

namespace {

std::string ToUtf8(PyObject* str) {
  if (str == nullptr) return {};
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(str, &n);
  if (p != nullptr) return std::string(p, static_cast<size_t>(n));
  PyErr_Clear();
  PyObject* enc = PyUnicode_AsEncodedString(str, "utf-8", "backslashreplace");
  if (enc == nullptr) {
    PyErr_Clear();
    return "<unprintable>";
  }
  std::string out(PyBytes_AS_STRING(enc), static_cast<size_t>(PyBytes_GET_SIZE(enc)));
  Py_DECREF(enc);
  return out;
}

// str(obj) as UTF-8, never failing.
std::string SafeStr(PyObject* obj) {
  PyObject* s = PyObject_Str(obj);
  if (s == nullptr) {
    PyErr_Clear();
    return "<exception str() failed>";
  }
  std::string out = ToUtf8(s);
  Py_DECREF(s);
  return out;
}

// The name traceback.format_exception_only() prints: qualname, prefixed by
// the module unless it is builtins or __main__.
std::string TypeName(PyTypeObject* type) {
  PyObject* qual = PyType_GetQualName(type);
  std::string name = qual ? ToUtf8(qual) : std::string(type->tp_name);
  Py_XDECREF(qual);
  if (!qual) PyErr_Clear();
  PyObject* mod = nullptr;
  if (compat::GetOptionalAttrString(reinterpret_cast<PyObject*>(type), "__module__", &mod) > 0 &&
      PyUnicode_Check(mod)) {
    std::string m = ToUtf8(mod);
    if (m != "builtins" && m != "__main__") name = m + "." + name;
  }
  Py_XDECREF(mod);
  PyErr_Clear();
  return name;
}

std::string SecondsText(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", s);
  return buf;
}

}  // namespace

Status ScriptRunner::Open(const std::vector<std::string>& extra_paths) {
  InterpreterContext::ForImport() = ctx_;
  module_ = PyImport_ImportModule("interpd");
  InterpreterContext::ForImport() = nullptr;
  if (module_ == nullptr) {
    PyErr_Print();
    return Status::Internal("cannot import the interpd module in a worker interpreter");
  }
  state_ = GetModuleState(module_);
  sys_modules_ = Py_NewRef(PyImport_GetModuleDict());
  builtins_ = PyImport_ImportModule("builtins");
  blank_main_ = PyModule_New("__main__");
  stdout_ = NewTextSink(state_, 1);
  stderr_ = NewTextSink(state_, 2);
  stdin_ = NewTextSource(state_);
  if (!builtins_ || !blank_main_ || !stdout_ || !stderr_ || !stdin_ ||
      PyModule_AddObjectRef(blank_main_, "__builtins__", builtins_) != 0) {
    PyErr_Print();
    return Status::Internal("cannot set up a worker interpreter's __main__ and stdio");
  }
  PyObject* path = PySys_GetObject("path");  // borrowed
  if (path != nullptr && PyList_Check(path)) {
    Py_ssize_t at = 0;
    for (const auto& p : extra_paths) {
      PyObject* s = PyUnicode_DecodeFSDefault(p.c_str());
      if (s == nullptr || PyList_Insert(path, at++, s) != 0) {
        Py_XDECREF(s);
        PyErr_Print();
        return Status::Internal("cannot extend sys.path with " + p);
      }
      Py_DECREF(s);
    }
  }
  // Stray writes between tasks (from threads a script left running) go to
  // the sinks too, which drop them while no task is current.
  if (PySys_SetObject("stdout", stdout_) != 0 || PySys_SetObject("stderr", stderr_) != 0 ||
      PySys_SetObject("stdin", stdin_) != 0) {
    PyErr_Print();
    return Status::Internal("cannot install the worker's stdio");
  }
  return Status::OK();
}

void ScriptRunner::Close() {
  cache_.Clear();
  if (sys_modules_ != nullptr && blank_main_ != nullptr) {
    PyDict_SetItemString(sys_modules_, "__main__", blank_main_);
    PyErr_Clear();
  }
  Py_CLEAR(stdin_);
  Py_CLEAR(stderr_);
  Py_CLEAR(stdout_);
  Py_CLEAR(blank_main_);
  Py_CLEAR(builtins_);
  Py_CLEAR(sys_modules_);
  Py_CLEAR(module_);
  state_ = nullptr;
}

void ScriptRunner::SetUpStreams(Task& task) {
  const TaskRequest& req = task.request;
  ctx_->stdin_text = req.stdin_text;
  ctx_->stdin_pos = 0;
  // A script may have replaced or closed them: reinstall every time.
  PySys_SetObject("stdout", stdout_);
  PySys_SetObject("stderr", stderr_);
  PySys_SetObject("stdin", stdin_);
  PyObject* argv = PyList_New(static_cast<Py_ssize_t>(req.args.size() + 1));
  if (argv != nullptr) {
    PyList_SET_ITEM(argv, 0, PyUnicode_DecodeFSDefault(req.filename.c_str()));
    for (size_t k = 0; k < req.args.size(); ++k) {
      PyList_SET_ITEM(argv, static_cast<Py_ssize_t>(k + 1),
                      PyUnicode_DecodeUTF8(req.args[k].data(), static_cast<Py_ssize_t>(req.args[k].size()),
                                           "surrogateescape"));
    }
    PySys_SetObject("argv", argv);
    Py_DECREF(argv);
  }
  PyErr_Clear();
}

void ScriptRunner::Run(Task& task, size_t output_limit, TaskResult* result) {
  const auto t0 = std::chrono::steady_clock::now();
  const TaskRequest& req = task.request;
  result->interpreter_id = ctx_->interpreter_id;
  ctx_->output.Begin(&task, output_limit);
  SetUpStreams(task);

  PyObject* main = PyModule_New("__main__");
  PyObject* globals = main ? PyModule_GetDict(main) : nullptr;  // borrowed
  PyObject* value = nullptr;
  bool ready = globals != nullptr && PyDict_SetItemString(globals, "__builtins__", builtins_) == 0;
  if (ready && req.define_file) {
    PyObject* f = PyUnicode_DecodeFSDefault(req.filename.c_str());
    ready = f != nullptr && PyDict_SetItemString(globals, "__file__", f) == 0;
    Py_XDECREF(f);
  }
  ready = ready && PyDict_SetItemString(sys_modules_, "__main__", main) == 0;

  CodeCache::Compiled code;
  // The script's memory quota covers compiling and running it, not what the
  // runner does afterwards (formatting a MemoryError's traceback needs memory).
  std::optional<ScopedMemoryLimit> quota(std::in_place, req.memory_limit);
  if (ready && cache_.Get(req.code, req.filename, &code)) {
    PyObject* r = PyEval_EvalCode(code.body, globals, globals);
    if (r != nullptr) {
      Py_DECREF(r);
      value = code.last ? PyEval_EvalCode(code.last, globals, globals) : Py_NewRef(Py_None);
    }
    Py_CLEAR(code.body);
    Py_CLEAR(code.last);
  }
  quota.reset();

  if (value != nullptr) {
    result->status = TaskStatus::kOk;
    if (value != Py_None && !ToValue(state_, value, ToValueOptions{}, &result->value)) {
      if (PyErr_ExceptionMatches(state_->not_shareable)) {
        PyObject* exc = PyErr_GetRaisedException();
        result->status = TaskStatus::kError;
        result->error = PythonError{"interpd.NotRepresentable",
                                    "the script's final value cannot leave the interpreter: " + SafeStr(exc), ""};
        Py_DECREF(exc);
      }
      // Any other exception (an interrupt, a MemoryError) is classified below.
    }
    Py_DECREF(value);
  }
  if (PyErr_Occurred()) {
    TakeException(task, result);
  } else if (task.interrupt() == InterruptReason::kTimeout || task.interrupt() == InterruptReason::kCancel ||
             task.interrupt() == InterruptReason::kCpuLimit) {
    // The script caught the interrupt and still finished: it overran anyway.
    const bool timeout = task.interrupt() != InterruptReason::kCancel;
    result->status = timeout ? TaskStatus::kTimeout : TaskStatus::kCancelled;
    result->value = Value();
    result->error = PythonError{timeout ? "interpd.TaskTimeout" : "interpd.TaskCancelled",
                                task.interrupt() == InterruptReason::kCpuLimit
                                    ? "the script used more than its " + SecondsText(req.cpu_limit.count()) +
                                          " s CPU time limit (it caught the interrupt)"
                                : timeout ? "the script ran past its " + SecondsText(req.timeout.count()) +
                                                " s timeout (it caught the interrupt)"
                                          : "the script was cancelled (it caught the interrupt)",
                                ""};
  }

  ctx_->output.End();
  result->stdout_text = ctx_->output.TakeStdout();
  result->stderr_text = ctx_->output.TakeStderr();
  result->truncated = ctx_->output.truncated();
  ctx_->output.Begin(nullptr, 0);
  ctx_->stdin_text.clear();

  // Invariant 1: the task's module goes; its globals die with it unless the
  // script left references elsewhere (cycles wait for the garbage collector).
  PyDict_SetItemString(sys_modules_, "__main__", blank_main_);
  PyErr_Clear();
  Py_XDECREF(main);
  result->duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void ScriptRunner::TakeException(Task& task, TaskResult* result) {
  PyObject* exc = PyErr_GetRaisedException();
  const InterruptReason why = task.interrupt();
  result->value = Value();
  if (why == InterruptReason::kTimeout || why == InterruptReason::kCancel || why == InterruptReason::kShutdown ||
      why == InterruptReason::kCpuLimit) {
    const bool timeout = why == InterruptReason::kTimeout || why == InterruptReason::kCpuLimit;
    result->status = timeout ? TaskStatus::kTimeout : TaskStatus::kCancelled;
    PythonError err = DescribePythonException(exc, task.request.filename, task.request.code);
    const bool ours = PyErr_GivenExceptionMatches(exc, state_->task_timeout) ||
                      PyErr_GivenExceptionMatches(exc, state_->task_cancelled);
    if (ours) {
      err.type = timeout ? "interpd.TaskTimeout" : "interpd.TaskCancelled";
      err.message = why == InterruptReason::kCpuLimit
                        ? "the script used more than its " + SecondsText(task.request.cpu_limit.count()) +
                              " s CPU time limit"
                    : timeout ? "the script ran past its " + SecondsText(task.request.timeout.count()) + " s timeout"
                    : why == InterruptReason::kShutdown ? "the script was cancelled: the pool is shutting down"
                                                  : "the script was cancelled";
    }
    result->error = std::move(err);
  } else if (PyErr_GivenExceptionMatches(exc, PyExc_SystemExit)) {
    result->status = TaskStatus::kExit;
    PyObject* code = PyObject_GetAttrString(exc, "code");
    int exit_code = 1;
    if (code == nullptr) {
      PyErr_Clear();
    } else if (code == Py_None) {
      exit_code = 0;
    } else if (PyLong_Check(code)) {
      // An int that does not fit an exit status is a failure (1).
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(code, &overflow);
      if (PyErr_Occurred()) PyErr_Clear();
      exit_code = overflow || v < INT_MIN || v > INT_MAX ? 1 : static_cast<int>(v);
    } else {
      // sys.exit("message"): Python prints the message to stderr, exits 1.
      ctx_->output.Write(OutputStream::kStderr, SafeStr(code) + "\n");
    }
    Py_XDECREF(code);
    result->exit_code = exit_code;
  } else {
    result->status = TaskStatus::kError;
    result->error = DescribePythonException(exc, task.request.filename, task.request.code);
  }
  Py_DECREF(exc);
  PyErr_Clear();
}

PythonError DescribePythonException(PyObject* exc, const std::string& filename, const std::string& source) {
  PythonError err;
  err.type = TypeName(Py_TYPE(exc));
  err.message = SafeStr(exc);
  // traceback.format_exception shows source lines through linecache; the
  // script is not a file, so lend linecache its text for the duration.
  PyObject* traceback = PyImport_ImportModule("traceback");
  PyObject* linecache = traceback ? PyImport_ImportModule("linecache") : nullptr;
  PyObject* cache = linecache ? PyObject_GetAttrString(linecache, "cache") : nullptr;
  PyObject* fname = PyUnicode_DecodeFSDefault(filename.c_str());
  bool lent = false;
  if (cache != nullptr && fname != nullptr && PyDict_Check(cache) && PyDict_Contains(cache, fname) == 0) {
    PyObject* src = PyUnicode_DecodeUTF8(source.data(), static_cast<Py_ssize_t>(source.size()), "replace");
    PyObject* lines = src ? PyObject_CallMethod(src, "splitlines", "O", Py_True) : nullptr;
    PyObject* entry = lines ? Py_BuildValue("(nOOO)", PyUnicode_GET_LENGTH(src), Py_None, lines, fname) : nullptr;
    lent = entry != nullptr && PyDict_SetItem(cache, fname, entry) == 0;
    Py_XDECREF(entry);
    Py_XDECREF(lines);
    Py_XDECREF(src);
  }
  PyErr_Clear();
  PyObject* parts = traceback ? PyObject_CallMethod(traceback, "format_exception", "O", exc) : nullptr;
  PyObject* empty = parts ? PyUnicode_FromString("") : nullptr;
  PyObject* text = empty ? PyUnicode_Join(empty, parts) : nullptr;
  if (text != nullptr) {
    err.traceback = ToUtf8(text);
  } else {
    PyErr_Clear();
    err.traceback = err.type + ": " + err.message + "\n";
  }
  if (lent) PyDict_DelItem(cache, fname);
  PyErr_Clear();
  Py_XDECREF(text);
  Py_XDECREF(empty);
  Py_XDECREF(parts);
  Py_XDECREF(fname);
  Py_XDECREF(cache);
  Py_XDECREF(linecache);
  Py_XDECREF(traceback);
  return err;
}

}  // namespace interpd
