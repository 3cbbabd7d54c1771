// The `interpd` Python module, built into every interpreter of the process.
//
// It is a multi-phase-init module with per-interpreter state (PEP 489/687),
// so it loads in isolated interpreters; each interpreter gets its own module
// object, types and exceptions. Nothing in it is shared between interpreters.
//
// Thread safety: everything here runs under the GIL of the interpreter that
// owns the module object.
#ifndef INTERPD_INTERPD_MODULE_H_
#define INTERPD_INTERPD_MODULE_H_

#include "python_compat.h"

namespace interpd {

struct InterpreterContext;

struct ModuleState {
  // The worker's context (interp_context.h invariant 1), or nullptr outside
  // worker interpreters.
  InterpreterContext* ctx = nullptr;

  // Strong references, released by the module's m_clear.
  PyObject* sink_type = nullptr;        // interpd._TextSink (sys.stdout/err)
  PyObject* byte_sink_type = nullptr;   // interpd._ByteSink (.buffer of a sink)
  PyObject* source_type = nullptr;      // interpd._TextSource (sys.stdin)
  PyObject* task_timeout = nullptr;     // interpd.TaskTimeout (BaseException)
  PyObject* task_cancelled = nullptr;   // interpd.TaskCancelled (BaseException)
  PyObject* not_shareable = nullptr;    // interpd.NotShareableError (ValueError)
  PyObject* shared_buffer_type = nullptr;  // interpd.SharedBuffer
  PyObject* channel_type = nullptr;        // interpd.Channel
  PyObject* channel_closed = nullptr;      // interpd.ChannelClosed
  PyObject* channel_empty = nullptr;       // interpd.ChannelEmpty
  PyObject* channel_full = nullptr;        // interpd.ChannelFull
  PyObject* actor_handle_type = nullptr;   // interpd.ActorHandle
  PyObject* actor_error = nullptr;         // interpd.ActorError
  PyObject* deadlock_error = nullptr;      // interpd.DeadlockError (RuntimeError)
  PyObject* actor_not_found = nullptr;     // interpd.ActorNotFound (LookupError)
};

ModuleState* GetModuleState(PyObject* module);
// The state of the module that defined `type`.
ModuleState* GetModuleStateByType(PyTypeObject* type);

// New sink objects for sys.stdout (stream 1) and sys.stderr (stream 2), and
// a source for sys.stdin. REQUIRES: GIL; `state` of this interpreter.
PyObject* NewTextSink(ModuleState* state, int stream);
PyObject* NewTextSource(ModuleState* state);

// A releasing safe point (share.h): every interpd call starts with one.
void SafePoint();

}  // namespace interpd

extern "C" PyObject* PyInit_interpd();

#endif  // INTERPD_INTERPD_MODULE_H_
