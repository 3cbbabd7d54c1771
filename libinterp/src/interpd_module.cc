#include "interpd_module.h"

#include <cstring>

#include "channel_object.h"
#include "interp_context.h"
#include "py_value.h"
#include "share.h"
#include "shared_buffer_object.h"

namespace interpd {

int AddStdioTypes(PyObject* module, ModuleState* st);  // stdio_objects.cc
// actor_object.cc
int AddActorTypes(PyObject* module, ModuleState* st);
PyObject* ActorLookup(PyObject* module, PyObject* name);
PyObject* ActorSpawn(PyObject* module, PyObject* args, PyObject* kwds);

namespace {

InterpreterContext* RequireContext(PyObject* module) {
  ModuleState* st = GetModuleState(module);
  if (st == nullptr || st->ctx == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "this interpd function works only inside an interpd worker interpreter");
    return nullptr;
  }
  return st->ctx;
}

PyObject* WorkerId(PyObject* module, PyObject*) {
  InterpreterContext* ctx = RequireContext(module);
  return ctx ? PyLong_FromLong(ctx->worker_id) : nullptr;
}

PyObject* IsShareable(PyObject* module, PyObject* obj) {
  SafePoint();
  ToValueOptions opts;
  opts.allow_mutable = false;
  opts.allow_subclasses = false;
  Value v;
  if (ToValue(GetModuleState(module), obj, opts, &v)) Py_RETURN_TRUE;
  if (!PyErr_ExceptionMatches(GetModuleState(module)->not_shareable)) return nullptr;
  PyErr_Clear();
  Py_RETURN_FALSE;
}

PyObject* InterpreterId(PyObject*, PyObject*) {
  return PyLong_FromLongLong(PyInterpreterState_GetID(PyInterpreterState_Get()));
}

PyMethodDef kModuleMethods[] = {
    {"worker_id", WorkerId, METH_NOARGS, "worker_id() -> int\n\nThe index of the worker slot running this code."},
    {"interpreter_id", InterpreterId, METH_NOARGS,
     "interpreter_id() -> int\n\nCPython's ID of the interpreter running this code."},
    {"is_shareable", IsShareable, METH_O,
     "is_shareable(obj) -> bool\n\nWhether obj can be sent to another interpreter as it is."},
    {"actor", ActorLookup, METH_O,
     "actor(name) -> ActorHandle\n\nA handle to the named actor; raises ActorNotFound if there is none."},
    {"spawn", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(ActorSpawn)), METH_VARARGS | METH_KEYWORDS,
     "spawn(name, code, cls, *args, **kwargs) -> ActorHandle\n\n"
     "Creates the actor `name`: runs `code` in a fresh module on the least loaded\n"
     "worker and instantiates its class `cls` with args and kwargs. Returns once\n"
     "__init__ has run; raises ActorError if it failed."},
    {"channel", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(NamedChannel)), METH_VARARGS | METH_KEYWORDS,
     "channel(name, maxsize=0, *, pickle=False) -> Channel\n\n"
     "The channel with this name, created on first use: the same channel in\n"
     "every interpreter. The first creator's maxsize and pickle win. A closed\n"
     "named channel is replaced by a new one on the next call."},
    {nullptr, nullptr, 0, nullptr},
};

PyObject* NewException(PyObject* module, const char* name, const char* doc, PyObject* base) {
  PyObject* exc = PyErr_NewExceptionWithDoc(name, doc, base, nullptr);
  if (exc == nullptr) return nullptr;
  const char* dot = std::strrchr(name, '.');
  if (PyModule_AddObjectRef(module, dot ? dot + 1 : name, exc) != 0) {
    Py_DECREF(exc);
    return nullptr;
  }
  return exc;
}

int ModuleExec(PyObject* module) {
  ModuleState* st = GetModuleState(module);
  st->ctx = InterpreterContext::ForImport();
  if (AddStdioTypes(module, st) != 0) return -1;
  st->task_timeout = NewException(
      module, "interpd.TaskTimeout",
      "Raised inside a script whose time limit has passed. It derives from\n"
      "BaseException so that `except Exception` does not swallow it.",
      PyExc_BaseException);
  if (st->task_timeout == nullptr) return -1;
  st->task_cancelled = NewException(module, "interpd.TaskCancelled",
                                    "Raised inside a script that its client cancelled.", PyExc_BaseException);
  if (st->task_cancelled == nullptr) return -1;
  st->not_shareable = NewException(
      module, "interpd.NotShareableError",
      "Raised when a value cannot cross to another interpreter (or leave this\n"
      "one as a result). The message names the offending type.",
      PyExc_ValueError);
  if (st->not_shareable == nullptr) return -1;
  st->channel_closed = NewException(module, "interpd.ChannelClosed", "The channel was closed.", PyExc_Exception);
  st->channel_empty = NewException(module, "interpd.ChannelEmpty", "recv_nowait() on an empty channel.",
                                   PyExc_Exception);
  st->channel_full = NewException(module, "interpd.ChannelFull", "send_nowait() on a full channel.", PyExc_Exception);
  if (!st->channel_closed || !st->channel_empty || !st->channel_full) return -1;
  if (AddSharedBufferType(module, st) != 0 || AddChannelType(module, st) != 0) return -1;
  st->actor_error = NewException(module, "interpd.ActorError",
                                 "An actor call failed. When the method raised, .type, .remote_message and\n"
                                 ".remote_traceback describe the exception in the actor.",
                                 PyExc_Exception);
  st->deadlock_error = NewException(module, "interpd.DeadlockError",
                                    "A synchronous actor call that could never be answered (a call cycle).",
                                    PyExc_RuntimeError);
  st->actor_not_found = NewException(module, "interpd.ActorNotFound", "No actor has this name.", PyExc_LookupError);
  if (!st->actor_error || !st->deadlock_error || !st->actor_not_found) return -1;
  if (AddActorTypes(module, st) != 0) return -1;
  return 0;
}

int ModuleTraverse(PyObject* module, visitproc visit, void* arg) {
  ModuleState* st = GetModuleState(module);
  if (st == nullptr) return 0;
  Py_VISIT(st->sink_type);
  Py_VISIT(st->byte_sink_type);
  Py_VISIT(st->source_type);
  Py_VISIT(st->task_timeout);
  Py_VISIT(st->task_cancelled);
  Py_VISIT(st->not_shareable);
  Py_VISIT(st->shared_buffer_type);
  Py_VISIT(st->channel_type);
  Py_VISIT(st->channel_closed);
  Py_VISIT(st->channel_empty);
  Py_VISIT(st->channel_full);
  Py_VISIT(st->actor_handle_type);
  Py_VISIT(st->actor_error);
  Py_VISIT(st->deadlock_error);
  Py_VISIT(st->actor_not_found);
  return 0;
}

int ModuleClear(PyObject* module) {
  ModuleState* st = GetModuleState(module);
  if (st == nullptr) return 0;
  Py_CLEAR(st->sink_type);
  Py_CLEAR(st->byte_sink_type);
  Py_CLEAR(st->source_type);
  Py_CLEAR(st->task_timeout);
  Py_CLEAR(st->task_cancelled);
  Py_CLEAR(st->not_shareable);
  Py_CLEAR(st->shared_buffer_type);
  Py_CLEAR(st->channel_type);
  Py_CLEAR(st->channel_closed);
  Py_CLEAR(st->channel_empty);
  Py_CLEAR(st->channel_full);
  Py_CLEAR(st->actor_handle_type);
  Py_CLEAR(st->actor_error);
  Py_CLEAR(st->deadlock_error);
  Py_CLEAR(st->actor_not_found);
  return 0;
}

void ModuleFree(void* module) { ModuleClear(static_cast<PyObject*>(module)); }

PyModuleDef_Slot kModuleSlots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(ModuleExec)},
    // Each interpreter gets its own module object and state, and nothing is
    // shared, so the module is safe under a per-interpreter GIL.
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {0, nullptr},
};

PyModuleDef kModuleDef = {
    PyModuleDef_HEAD_INIT,
    "interpd",
    "interpd: run Python in parallel on isolated interpreters.\n\n"
    "Available inside scripts and actors run by the interpd daemon.",
    sizeof(ModuleState),
    kModuleMethods,
    kModuleSlots,
    ModuleTraverse,
    ModuleClear,
    ModuleFree,
};

}  // namespace

void SafePoint() {
  // Give back what other interpreters released (share.h), under this
  // interpreter's GIL, which every interpd call holds.
  if (ShareOwner* owner = ShareOwner::Current()) owner->Drain();
}

ModuleState* GetModuleState(PyObject* module) { return static_cast<ModuleState*>(PyModule_GetState(module)); }

ModuleState* GetModuleStateByType(PyTypeObject* type) {
  return static_cast<ModuleState*>(PyType_GetModuleState(type));
}

}  // namespace interpd

extern "C" PyObject* PyInit_interpd() { return PyModuleDef_Init(&interpd::kModuleDef); }
