// Interpreter: move-only owner of one CPython subinterpreter.
//
// Thread safety: an Interpreter is created, used and destroyed on one OS
// thread (its worker's). CPython thread states are bound to the thread that
// created them; using one elsewhere corrupts the runtime. Nothing here locks.
//
// Invariants:
//   1. A live Interpreter owns exactly one thread state, created on the owning
//      thread by Create(); Destroy() must run on that same thread.
//   2. Isolated interpreters have their own GIL and their own object allocator
//      (PEP 684), refuse fork/exec, daemon threads and single-phase-init
//      extension modules, and allow ordinary threads.
//   3. Compat interpreters share the main interpreter's GIL and allocator so
//      single-phase-init extensions can be imported (the extension lane).
//   4. The main interpreter is never owned by an Interpreter object.
#ifndef INTERPD_INTERPRETER_H_
#define INTERPD_INTERPRETER_H_

#include <cstdint>

#include "interpd/status.h"
#include "python_compat.h"

namespace interpd {

class Interpreter {
 public:
  enum class Kind { kIsolated, kCompat };

  Interpreter() = default;
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
  Interpreter(Interpreter&& other) noexcept;
  Interpreter& operator=(Interpreter&& other) noexcept;
  // Destroys the interpreter if still owned (see Destroy()).
  ~Interpreter();

  // Creates a subinterpreter on the calling thread. On success its thread
  // state is attached to this thread (its GIL held).
  // REQUIRES: no thread state attached to the calling thread.
  static Status Create(Kind kind, Interpreter* out);

  // Finalizes the interpreter (waits for its non-daemon threads, runs atexit
  // callbacks, frees its modules) and leaves no thread state attached.
  // REQUIRES: called on the creating thread, with this interpreter's thread
  // state attached and no other thread state of it alive.
  void Destroy();

  // Gives up ownership without finalizing (the thread is being abandoned or
  // the process is exiting without finalizing CPython).
  void Leak() { tstate_ = nullptr; }

  bool valid() const { return tstate_ != nullptr; }
  Kind kind() const { return kind_; }
  PyThreadState* thread_state() const { return tstate_; }
  PyInterpreterState* state() const { return interp_; }
  int64_t id() const { return id_; }

 private:
  PyThreadState* tstate_ = nullptr;
  PyInterpreterState* interp_ = nullptr;
  int64_t id_ = -1;
  Kind kind_ = Kind::kIsolated;
};

// Releases the attached thread state's GIL for a scope (Py_BEGIN/END_ALLOW_THREADS).
class GilRelease {
 public:
  GilRelease() : saved_(PyEval_SaveThread()) {}
  ~GilRelease() { PyEval_RestoreThread(saved_); }
  GilRelease(const GilRelease&) = delete;
  GilRelease& operator=(const GilRelease&) = delete;

 private:
  PyThreadState* saved_;
};

}  // namespace interpd

#endif  // INTERPD_INTERPRETER_H_
