#include "channel_object.h"

#include <cmath>
#include <new>
#include <string>

#include "channel_registry.h"
#include "interp_context.h"
#include "py_value.h"

namespace interpd {

namespace {

struct ChannelObject {
  PyObject_HEAD
  std::shared_ptr<ChannelCore> core;  // placement-constructed
};

ChannelObject* Self(PyObject* o) { return reinterpret_cast<ChannelObject*>(o); }

PyObject* Alloc(PyTypeObject* type, std::shared_ptr<ChannelCore> core) {
  PyObject* o = type->tp_alloc(type, 0);
  if (o == nullptr) return nullptr;
  new (&Self(o)->core) std::shared_ptr<ChannelCore>(std::move(core));
  return o;
}

ModuleState* StateOf(PyObject* self) { return GetModuleStateByType(Py_TYPE(self)); }

// Parses METH_FASTCALL | METH_KEYWORDS arguments into `out` (one slot per
// name, nullptr when not given). Written by hand because these methods are
// the per-message hot path and PyArg_ParseTupleAndKeywords costs several
// times the channel operation itself.
bool ParseArgs(const char* fname, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
               std::initializer_list<const char*> names, size_t required, PyObject** out) {
  const size_t n = names.size();
  for (size_t i = 0; i < n; ++i) out[i] = nullptr;
  if (static_cast<size_t>(nargs) > n) {
    PyErr_Format(PyExc_TypeError, "%s() takes at most %zu arguments (%zd given)", fname, n, nargs);
    return false;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) out[i] = args[i];
  const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < nkw; ++k) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, k);
    size_t i = 0;
    for (const char* name : names) {
      if (PyUnicode_CompareWithASCIIString(key, name) == 0) break;
      ++i;
    }
    if (i == n) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname, key);
      return false;
    }
    if (out[i] != nullptr) {
      PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%U'", fname, key);
      return false;
    }
    out[i] = args[nargs + k];
  }
  for (size_t i = 0; i < required; ++i) {
    if (out[i] == nullptr) {
      PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fname, names.begin()[i]);
      return false;
    }
  }
  return true;
}

// Parses a `timeout` argument: None = forever; seconds >= 0.
bool ParseTimeout(PyObject* timeout, Deadline* out) {
  if (timeout == nullptr || timeout == Py_None) {
    *out = kForever;
    return true;
  }
  const double s = PyFloat_AsDouble(timeout);
  if (s == -1.0 && PyErr_Occurred()) return false;
  if (std::isnan(s) || s < 0) {
    PyErr_SetString(PyExc_ValueError, "timeout must be a non-negative number of seconds or None");
    return false;
  }
  *out = DeadlineAfterSeconds(s);
  return true;
}

// The Interrupt a blocking call on this thread may use (invariant 2): only
// the worker's own thread runs the task; other Python threads block plainly.
Interrupt* TaskInterrupt(ModuleState* st) {
  InterpreterContext* ctx = st->ctx;
  if (ctx == nullptr || ctx->task == nullptr || PyThread_get_thread_ident() != ctx->thread_ident) return nullptr;
  return &ctx->interrupt;
}

// Raises the exception a failed channel call stands for.
PyObject* RaiseFor(ModuleState* st, const Status& s, const char* op) {
  switch (s.code()) {
    case Status::Code::kClosed:
      PyErr_Format(st->channel_closed, "%s on a closed channel", op);
      break;
    case Status::Code::kTimeout:
      PyErr_Format(PyExc_TimeoutError, "channel %s timed out", op);
      break;
    case Status::Code::kOverloaded:
      PyErr_SetString(st->channel_full, "the channel is full");
      break;
    case Status::Code::kNotFound:
      PyErr_SetString(st->channel_empty, "the channel is empty");
      break;
    case Status::Code::kResourceExhausted:
      PyErr_NoMemory();
      break;
    case Status::Code::kCancelled: {
      // The task was interrupted while blocked here: raise what the watchdog
      // raised asynchronously, and clear that pending copy so it does not
      // fire a second time.
      InterpreterContext* ctx = st->ctx;
      const bool timeout = ctx && ctx->task && EndsAsTimeout(ctx->task->interrupt());
      if (ctx) PyThreadState_SetAsyncExc(ctx->thread_ident, nullptr);
      PyErr_SetString(timeout ? st->task_timeout : st->task_cancelled,
                      timeout ? "the task's time limit passed while it waited on a channel"
                              : "the task was cancelled while it waited on a channel");
      break;
    }
    default:
      PyErr_SetString(PyExc_RuntimeError, s.ToString().c_str());
  }
  return nullptr;
}

// Converts `obj` for sending (invariant 1), pickling it if the channel
// allows and it is not shareable as such.
bool Prepare(ModuleState* st, ChannelCore& core, PyObject* obj, Value* out) {
  ToValueOptions opts;
  opts.allow_mutable = false;
  opts.allow_subclasses = false;
  opts.zero_copy_bytes = true;
  if (ToValue(st, obj, opts, out)) return true;
  if (!core.pickle() || !PyErr_ExceptionMatches(st->not_shareable)) return false;
  PyErr_Clear();
  PyObject* pickle = PyImport_ImportModule("pickle");
  if (pickle == nullptr) return false;
  PyObject* data = PyObject_CallMethod(pickle, "dumps", "Oi", obj, 5);
  Py_DECREF(pickle);
  if (data == nullptr) return false;
  *out = Value::Pickled(std::string(PyBytes_AS_STRING(data), static_cast<size_t>(PyBytes_GET_SIZE(data))));
  Py_DECREF(data);
  return true;
}

PyObject* CH_new(PyTypeObject* type, PyObject* args, PyObject* kwds) {
  SafePoint();
  static const char* kwlist[] = {"maxsize", "pickle", nullptr};
  Py_ssize_t maxsize = 0;
  int pickle = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|n$p:Channel", const_cast<char**>(kwlist), &maxsize, &pickle)) {
    return nullptr;
  }
  if (maxsize < 0) {
    PyErr_SetString(PyExc_ValueError, "maxsize must be >= 0 (0 = unbounded)");
    return nullptr;
  }
  return Alloc(type, ChannelCore::Create(static_cast<size_t>(maxsize), pickle != 0));
}

void CH_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  Self(self)->core.~shared_ptr();
  tp->tp_free(self);
  Py_DECREF(tp);
}

PyObject* CH_send(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  SafePoint();
  PyObject* a[2];
  if (!ParseArgs("send", args, nargs, kwnames, {"obj", "timeout"}, 1, a)) return nullptr;
  ModuleState* st = StateOf(self);
  ChannelCore& core = *Self(self)->core;
  Value v;
  if (!Prepare(st, core, a[0], &v)) return nullptr;
  // The common case never releases the GIL: a slot is free.
  Status s = core.TrySendFrom(v);
  if (s.code() == Status::Code::kOverloaded) {
    Deadline deadline;
    if (!ParseTimeout(a[1], &deadline)) return nullptr;
    Interrupt* intr = TaskInterrupt(st);
    std::shared_ptr<ChannelCore> keep = Self(self)->core;
    Py_BEGIN_ALLOW_THREADS s = keep->Send(std::move(v), deadline, intr);
    Py_END_ALLOW_THREADS
  } else if (a[1] != nullptr && a[1] != Py_None) {
    Deadline unused;
    if (!ParseTimeout(a[1], &unused)) return nullptr;  // still reject a bad timeout
  }
  if (!s.ok()) return RaiseFor(st, s, "send");
  Py_RETURN_NONE;
}

PyObject* CH_send_nowait(PyObject* self, PyObject* obj) {
  SafePoint();
  ModuleState* st = StateOf(self);
  ChannelCore& core = *Self(self)->core;
  Value v;
  if (!Prepare(st, core, obj, &v)) return nullptr;
  Status s = core.TrySendFrom(v);
  if (!s.ok()) return RaiseFor(st, s, "send_nowait");
  Py_RETURN_NONE;
}

PyObject* Deliver(ModuleState* st, const Value& v) {
  if (v.kind() == ValueKind::kPickled) {
    PyObject* pickle = PyImport_ImportModule("pickle");
    if (pickle == nullptr) return nullptr;
    PyObject* r = PyObject_CallMethod(pickle, "loads", "y#", v.str().data(), static_cast<Py_ssize_t>(v.str().size()));
    Py_DECREF(pickle);
    return r;
  }
  return FromValue(st, v);
}

PyObject* CH_recv(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  SafePoint();
  PyObject* a[1];
  if (!ParseArgs("recv", args, nargs, kwnames, {"timeout"}, 0, a)) return nullptr;
  ModuleState* st = StateOf(self);
  Deadline deadline;
  if (!ParseTimeout(a[0], &deadline)) return nullptr;
  Value v;
  Status s = Self(self)->core->TryRecv(&v);
  if (s.code() == Status::Code::kNotFound) {
    Interrupt* intr = TaskInterrupt(st);
    std::shared_ptr<ChannelCore> keep = Self(self)->core;
    Py_BEGIN_ALLOW_THREADS s = keep->Recv(&v, deadline, intr);
    Py_END_ALLOW_THREADS
  }
  if (!s.ok()) return RaiseFor(st, s, "recv");
  return Deliver(st, v);
}

PyObject* CH_recv_nowait(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  SafePoint();
  PyObject* a[1];
  if (!ParseArgs("recv_nowait", args, nargs, kwnames, {"default"}, 0, a)) return nullptr;
  ModuleState* st = StateOf(self);
  Value v;
  Status s = Self(self)->core->TryRecv(&v);
  if (s.code() == Status::Code::kNotFound && a[0] != nullptr) return Py_NewRef(a[0]);
  if (!s.ok()) return RaiseFor(st, s, "recv_nowait");
  return Deliver(st, v);
}

PyObject* CH_close(PyObject* self, PyObject*) {
  Self(self)->core->Close();
  Py_RETURN_NONE;
}

PyObject* CH_qsize(PyObject* self, PyObject*) { return PyLong_FromSize_t(Self(self)->core->size()); }
PyObject* CH_get_closed(PyObject* self, void*) { return PyBool_FromLong(Self(self)->core->closed()); }
PyObject* CH_get_id(PyObject* self, void*) { return PyLong_FromUnsignedLongLong(Self(self)->core->id()); }
PyObject* CH_get_maxsize(PyObject* self, void*) { return PyLong_FromSize_t(Self(self)->core->maxsize()); }

PyObject* CH_repr(PyObject* self) {
  const ChannelCore& c = *Self(self)->core;
  return PyUnicode_FromFormat("<interpd.Channel id=%llu maxsize=%zu%s%s>", static_cast<unsigned long long>(c.id()),
                              c.maxsize(), c.pickle() ? " pickle" : "", c.closed() ? " closed" : "");
}

Py_hash_t CH_hash(PyObject* self) {
  Py_hash_t h = static_cast<Py_hash_t>(Self(self)->core->id());
  return h == -1 ? -2 : h;
}

PyObject* CH_richcompare(PyObject* self, PyObject* other, int op) {
  if ((op != Py_EQ && op != Py_NE) || !Py_IS_TYPE(other, Py_TYPE(self))) Py_RETURN_NOTIMPLEMENTED;
  const bool eq = Self(self)->core->id() == Self(other)->core->id();
  return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

PyMethodDef kMethods[] = {
    {"send", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(CH_send)), METH_FASTCALL | METH_KEYWORDS,
     "send(obj, timeout=None)\n\nSends a shareable value, waiting while the channel is full.\n"
     "Raises ChannelClosed, TimeoutError, or NotShareableError (nothing is sent then)."},
    {"send_nowait", CH_send_nowait, METH_O, "send_nowait(obj)\n\nSends or raises ChannelFull."},
    {"recv", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(CH_recv)), METH_FASTCALL | METH_KEYWORDS,
     "recv(timeout=None)\n\nReceives the next value, waiting while the channel is empty.\n"
     "After close(), what was sent before is still received; then ChannelClosed."},
    {"recv_nowait", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(CH_recv_nowait)),
     METH_FASTCALL | METH_KEYWORDS, "recv_nowait(default=<raise>)\n\nReceives, or returns default / raises ChannelEmpty."},
    {"close", CH_close, METH_NOARGS, "Closes the channel for everyone and wakes every waiter."},
    {"qsize", CH_qsize, METH_NOARGS, "Number of values waiting (a snapshot)."},
    {nullptr, nullptr, 0, nullptr},
};
PyGetSetDef kGetSet[] = {
    {"closed", CH_get_closed, nullptr, "True once close() was called.", nullptr},
    {"id", CH_get_id, nullptr, "Process-wide unique id; equal channels have equal ids.", nullptr},
    {"maxsize", CH_get_maxsize, nullptr, "Capacity (0 = unbounded).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};
PyType_Slot kSlots[] = {
    {Py_tp_doc, const_cast<char*>("Channel(maxsize=0, *, pickle=False)\n\n"
                                  "A multi-producer multi-consumer channel between interpreters. Values\n"
                                  "cross as new objects (SharedBuffer without a copy); a channel can itself\n"
                                  "be sent. With pickle=True, values that are not shareable are pickled.")},
    {Py_tp_new, reinterpret_cast<void*>(CH_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(CH_dealloc)},
    {Py_tp_repr, reinterpret_cast<void*>(CH_repr)},
    {Py_tp_hash, reinterpret_cast<void*>(CH_hash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(CH_richcompare)},
    {Py_tp_methods, kMethods},
    {Py_tp_getset, kGetSet},
    {0, nullptr},
};
PyType_Spec kSpec = {"interpd.Channel", sizeof(ChannelObject), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
                     kSlots};

}  // namespace

int AddChannelType(PyObject* module, ModuleState* st) {
  st->channel_type = PyType_FromModuleAndSpec(module, &kSpec, nullptr);
  if (st->channel_type == nullptr) return -1;
  return PyModule_AddObjectRef(module, "Channel", st->channel_type);
}

PyObject* NewChannelObject(ModuleState* st, std::shared_ptr<ChannelCore> core) {
  return Alloc(reinterpret_cast<PyTypeObject*>(st->channel_type), std::move(core));
}

const std::shared_ptr<ChannelCore>* ChannelObjectCore(ModuleState* st, PyObject* obj) {
  if (st == nullptr || st->channel_type == nullptr ||
      !Py_IS_TYPE(obj, reinterpret_cast<PyTypeObject*>(st->channel_type))) {
    return nullptr;
  }
  return &Self(obj)->core;
}

PyObject* NamedChannel(PyObject* module, PyObject* args, PyObject* kwds) {
  SafePoint();
  static const char* kwlist[] = {"name", "maxsize", "pickle", nullptr};
  const char* name = nullptr;
  Py_ssize_t name_len = 0;
  Py_ssize_t maxsize = 0;
  int pickle = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "s#|n$p:channel", const_cast<char**>(kwlist), &name, &name_len,
                                   &maxsize, &pickle)) {
    return nullptr;
  }
  if (maxsize < 0) {
    PyErr_SetString(PyExc_ValueError, "maxsize must be >= 0 (0 = unbounded)");
    return nullptr;
  }
  std::shared_ptr<ChannelCore> core;
  Status s = ChannelRegistry::Global().GetOrCreate(std::string_view(name, static_cast<size_t>(name_len)),
                                                   static_cast<size_t>(maxsize), pickle != 0, &core);
  if (!s.ok()) {
    PyErr_SetString(PyExc_ValueError, s.message().c_str());
    return nullptr;
  }
  return NewChannelObject(GetModuleState(module), std::move(core));
}

}  // namespace interpd
