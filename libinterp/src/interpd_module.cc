#include "interpd_module.h"

#include <cstring>

#include "interp_context.h"

namespace interpd {

int AddStdioTypes(PyObject* module, ModuleState* st);  // stdio_objects.cc

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

PyObject* InterpreterId(PyObject*, PyObject*) {
  return PyLong_FromLongLong(PyInterpreterState_GetID(PyInterpreterState_Get()));
}

PyMethodDef kModuleMethods[] = {
    {"worker_id", WorkerId, METH_NOARGS, "worker_id() -> int\n\nThe index of the worker slot running this code."},
    {"interpreter_id", InterpreterId, METH_NOARGS,
     "interpreter_id() -> int\n\nCPython's ID of the interpreter running this code."},
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

ModuleState* GetModuleState(PyObject* module) { return static_cast<ModuleState*>(PyModule_GetState(module)); }

ModuleState* GetModuleStateByType(PyTypeObject* type) {
  return static_cast<ModuleState*>(PyType_GetModuleState(type));
}

}  // namespace interpd

extern "C" PyObject* PyInit_interpd() { return PyModuleDef_Init(&interpd::kModuleDef); }
