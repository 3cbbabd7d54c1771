#include "interpreter.h"

#include <string>
#include <utility>

namespace interpd {

Interpreter::Interpreter(Interpreter&& other) noexcept
    : tstate_(std::exchange(other.tstate_, nullptr)),
      interp_(std::exchange(other.interp_, nullptr)),
      id_(std::exchange(other.id_, -1)),
      kind_(other.kind_) {}

Interpreter& Interpreter::operator=(Interpreter&& other) noexcept {
  if (this != &other) {
    if (valid()) Destroy();
    tstate_ = std::exchange(other.tstate_, nullptr);
    interp_ = std::exchange(other.interp_, nullptr);
    id_ = std::exchange(other.id_, -1);
    kind_ = other.kind_;
  }
  return *this;
}

Interpreter::~Interpreter() {
  if (valid()) Destroy();
}

Status Interpreter::Create(Kind kind, Interpreter* out) {
  if (compat::CurrentThreadState() != nullptr) {
    return Status::Internal("Interpreter::Create: a thread state is already attached to this thread");
  }
  PyInterpreterConfig config = {};
  if (kind == Kind::kIsolated) {
    config.use_main_obmalloc = 0;
    config.allow_fork = 0;
    config.allow_exec = 0;
    config.allow_threads = 1;
    config.allow_daemon_threads = 0;
    config.check_multi_interp_extensions = 1;
    config.gil = PyInterpreterConfig_OWN_GIL;
  } else {
    // The legacy configuration: what mod_wsgi-style embedders have always
    // used, and the only one in which single-phase-init extensions import.
    config.use_main_obmalloc = 1;
    config.allow_fork = 0;
    config.allow_exec = 0;
    config.allow_threads = 1;
    config.allow_daemon_threads = 0;
    config.check_multi_interp_extensions = 0;
    config.gil = PyInterpreterConfig_SHARED_GIL;
  }

  // CPython requires the caller to hold the GIL of some interpreter with a
  // current thread state. This thread has none, so borrow a temporary thread
  // state of the main interpreter (as pybind11's subinterpreter does). An own
  // GIL interpreter releases the main GIL when it is created.
  PyThreadState* main_ts = PyThreadState_New(PyInterpreterState_Main());
  if (main_ts == nullptr) return Status::Internal("PyThreadState_New(main) failed");
  PyEval_RestoreThread(main_ts);

  PyThreadState* sub_ts = nullptr;
  PyStatus st = Py_NewInterpreterFromConfig(&sub_ts, &config);
  if (PyStatus_Exception(st) || sub_ts == nullptr) {
    std::string why = st.err_msg ? st.err_msg : "unknown error";
    if (st.func) why = std::string(st.func) + ": " + why;
    // On failure the main thread state is current again.
    PyThreadState_Clear(main_ts);
    PyThreadState_DeleteCurrent();
    return Status::Internal("Py_NewInterpreterFromConfig failed: " + why);
  }

  // Drop the borrowed main thread state: switch to it (taking the main GIL),
  // delete it (releasing the main GIL), then attach the new interpreter again.
  PyThreadState_Swap(main_ts);
  PyThreadState_Clear(main_ts);
  PyThreadState_DeleteCurrent();
  PyEval_RestoreThread(sub_ts);

  Interpreter interp;
  interp.tstate_ = sub_ts;
  interp.interp_ = PyThreadState_GetInterpreter(sub_ts);
  interp.id_ = PyInterpreterState_GetID(interp.interp_);
  interp.kind_ = kind;
  *out = std::move(interp);
  return Status::OK();
}

void Interpreter::Destroy() {
  if (!valid()) return;
  PyThreadState* ts = std::exchange(tstate_, nullptr);
  interp_ = nullptr;
  Py_EndInterpreter(ts);
  // Py_EndInterpreter leaves no thread state attached (and, for a shared-GIL
  // interpreter, has released the main GIL).
}

}  // namespace interpd
