// interpd.actor(), interpd.spawn() and interpd.ActorHandle: actors seen from
// inside an interpreter. Calls go through the pool's ActorSystem; a blocked
// call runs this worker's ready actors while it waits (actor_host.h).
#include <new>
#include <string>

#include "actor_host.h"
#include "actor_system.h"
#include "interp_context.h"
#include "interpd_module.h"
#include "py_value.h"
#include "worker.h"

namespace interpd {

namespace {

// What a Value of kind kActor carries: the actor's name (handles find the
// actor by name, so they survive restarts).
class ActorRef final : public Handle {
 public:
  explicit ActorRef(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  std::string Describe() const override { return "<interpd.ActorHandle " + name_ + ">"; }
  uint64_t Identity() const override { return std::hash<std::string>{}(name_); }

 private:
  std::string name_;
};

struct HandleObject {
  PyObject_HEAD
  std::shared_ptr<ActorRef> ref;
};

HandleObject* Self(PyObject* o) { return reinterpret_cast<HandleObject*>(o); }

InterpreterContext* RequireActors(ModuleState* st) {
  if (st->ctx == nullptr || st->ctx->actor_system == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "actors are available only inside an interpd worker interpreter");
    return nullptr;
  }
  return st->ctx;
}

// Raises what a failed ActorReply stands for.
PyObject* RaiseReply(ModuleState* st, const ActorReply& r) {
  switch (r.status.code()) {
    case Status::Code::kNotFound:
      PyErr_SetString(st->actor_not_found, r.status.message().c_str());
      break;
    case Status::Code::kDeadlock:
      PyErr_SetString(st->deadlock_error, r.status.message().c_str());
      break;
    case Status::Code::kPythonError: {
      // The remote exception as data: type, message and its traceback.
      const PythonError& e = *r.error;
      PyObject* exc = PyObject_CallFunction(st->actor_error, "s", (e.type + ": " + e.message).c_str());
      if (exc == nullptr) return nullptr;
      for (const auto& [attr, text] : {std::pair<const char*, const std::string*>{"type", &e.type},
                                       {"remote_message", &e.message},
                                       {"remote_traceback", &e.traceback}}) {
        PyObject* v = PyUnicode_DecodeUTF8(text->data(), static_cast<Py_ssize_t>(text->size()), "replace");
        if (v == nullptr || PyObject_SetAttrString(exc, attr, v) != 0) PyErr_Clear();
        Py_XDECREF(v);
      }
      PyErr_SetObject(st->actor_error, exc);
      Py_DECREF(exc);
      break;
    }
    case Status::Code::kNotShareable:
      PyErr_SetString(st->not_shareable, r.status.message().c_str());
      break;
    case Status::Code::kInvalidArgument:
      PyErr_SetString(PyExc_ValueError, r.status.message().c_str());
      break;
    case Status::Code::kShuttingDown:
    case Status::Code::kClosed:
    default:
      PyErr_SetString(st->actor_error, r.status.message().c_str());
  }
  return nullptr;
}

// How long a caller polls for an actor's reply before it sleeps: as long
// as a channel's receiver spins (channel_core.h, kDefaultSpin).
constexpr std::chrono::microseconds kReplySpin{20};

// Waits for `box`, running this worker's ready actors meanwhile when called
// on the worker thread. False with an exception set on timeout/interrupt.
bool WaitReply(ModuleState* st, ReplyBox& box, Deadline deadline) {
  InterpreterContext* ctx = st->ctx;
  const bool worker_thread = PyThread_get_thread_ident() == ctx->thread_ident;
  Slot* slot = ctx->slot;
  while (!box.done()) {
    if (worker_thread && ctx->actor_host != nullptr && ctx->actor_host->RunReady(64) > 0) continue;
    if (worker_thread && ctx->task != nullptr && ctx->interrupt.fired()) {
      const bool timeout = EndsAsTimeout(ctx->task->interrupt());
      PyThreadState_SetAsyncExc(ctx->thread_ident, nullptr);
      PyErr_SetString(timeout ? st->task_timeout : st->task_cancelled,
                      timeout ? "the task's time limit passed while it waited on an actor"
                              : "the task was cancelled while it waited on an actor");
      return false;
    }
    const uint32_t epoch = slot->call_word.Load();
    if (box.done() || (worker_thread && slot->ready_count.load(std::memory_order_acquire) > 0)) continue;
    // A reply from an actor on another worker usually comes within a few
    // microseconds: spin for it first (docs/benchmarks.md, Actors), then
    // sleep on the word.
    WaitWord::WaitResult r = WaitWord::WaitResult::kWoken;
    Py_BEGIN_ALLOW_THREADS
    if (!slot->call_word.SpinUntilChanged(epoch, kReplySpin, deadline)) r = slot->call_word.Wait(epoch, deadline);
    Py_END_ALLOW_THREADS
    if (r == WaitWord::WaitResult::kTimedOut && !box.done()) {
      PyErr_SetString(PyExc_TimeoutError, "the actor did not answer in time");
      return false;
    }
  }
  return true;
}

bool ParseTimeout(PyObject* timeout, Deadline* out) {
  if (timeout == nullptr || timeout == Py_None) {
    *out = kForever;
    return true;
  }
  const double s = PyFloat_AsDouble(timeout);
  if (s == -1.0 && PyErr_Occurred()) return false;
  if (!(s >= 0)) {
    PyErr_SetString(PyExc_ValueError, "timeout must be a non-negative number of seconds or None");
    return false;
  }
  *out = DeadlineAfterSeconds(s);
  return true;
}

// Converts call arguments: positional from `args[first:]`, keywords except
// the ones named in `skip`.
bool ConvertArgs(ModuleState* st, PyObject* args, Py_ssize_t first, PyObject* kwds, const char* skip, Value* a,
                 Value* k) {
  ToValueOptions opts;  // copies of lists and dicts are what a caller expects
  opts.allow_subclasses = false;
  PyObject* rest = PyTuple_GetSlice(args, first, PyTuple_GET_SIZE(args));
  if (rest == nullptr) return false;
  bool ok = ToValue(st, rest, opts, a);
  Py_DECREF(rest);
  if (!ok) return false;
  if (kwds == nullptr || PyDict_GET_SIZE(kwds) == 0) {
    *k = Value();
    return true;
  }
  PyObject* copy = PyDict_Copy(kwds);
  if (copy == nullptr) return false;
  if (skip != nullptr && PyDict_DelItemString(copy, skip) != 0) PyErr_Clear();
  ok = PyDict_GET_SIZE(copy) == 0 ? (*k = Value(), true) : ToValue(st, copy, opts, k);
  Py_DECREF(copy);
  return ok;
}

PyObject* NewHandle(ModuleState* st, std::string name) {
  auto* tp = reinterpret_cast<PyTypeObject*>(st->actor_handle_type);
  PyObject* o = tp->tp_alloc(tp, 0);
  if (o == nullptr) return nullptr;
  new (&Self(o)->ref) std::shared_ptr<ActorRef>(std::make_shared<ActorRef>(std::move(name)));
  return o;
}

PyObject* AH_call(PyObject* self, PyObject* args, PyObject* kwds) {
  SafePoint();
  ModuleState* st = GetModuleStateByType(Py_TYPE(self));
  InterpreterContext* ctx = RequireActors(st);
  if (ctx == nullptr) return nullptr;
  if (PyTuple_GET_SIZE(args) < 1 || !PyUnicode_Check(PyTuple_GET_ITEM(args, 0))) {
    PyErr_SetString(PyExc_TypeError, "call(method, *args, timeout=None, **kwargs): method must be a str");
    return nullptr;
  }
  Deadline deadline;
  PyObject* timeout = kwds ? PyDict_GetItemString(kwds, "timeout") : nullptr;  // borrowed
  if (!ParseTimeout(timeout, &deadline)) return nullptr;
  Value a, k;
  if (!ConvertArgs(st, args, 1, kwds, "timeout", &a, &k)) return nullptr;
  auto box = std::make_shared<ReplyBox>(&ctx->slot->call_word);
  std::vector<uint64_t> chain;
  if (ctx->actor_host != nullptr && PyThread_get_thread_ident() == ctx->thread_ident) {
    chain = ctx->actor_host->running();
  }
  ctx->actor_system->Call(Self(self)->ref->name(), PyUnicode_AsUTF8(PyTuple_GET_ITEM(args, 0)), std::move(a),
                          std::move(k), std::move(chain), box);
  if (!WaitReply(st, *box, deadline)) return nullptr;
  ActorReply& r = box->reply();
  if (!r.status.ok()) return RaiseReply(st, r);
  return FromValue(st, r.value);
}

PyObject* AH_send(PyObject* self, PyObject* args, PyObject* kwds) {
  SafePoint();
  ModuleState* st = GetModuleStateByType(Py_TYPE(self));
  InterpreterContext* ctx = RequireActors(st);
  if (ctx == nullptr) return nullptr;
  if (PyTuple_GET_SIZE(args) < 1 || !PyUnicode_Check(PyTuple_GET_ITEM(args, 0))) {
    PyErr_SetString(PyExc_TypeError, "send(method, *args, **kwargs): method must be a str");
    return nullptr;
  }
  const std::string& name = Self(self)->ref->name();
  // A send has no reply: refuse here what the actor would refuse.
  if (Status s = ctx->actor_system->CheckTarget(name, PyUnicode_AsUTF8(PyTuple_GET_ITEM(args, 0))); !s.ok()) {
    ActorReply r;
    r.status = std::move(s);
    return RaiseReply(st, r);
  }
  Value a, k;
  if (!ConvertArgs(st, args, 1, kwds, nullptr, &a, &k)) return nullptr;
  ctx->actor_system->Call(name, PyUnicode_AsUTF8(PyTuple_GET_ITEM(args, 0)), std::move(a), std::move(k), {}, nullptr);
  Py_RETURN_NONE;
}

PyObject* AH_get_name(PyObject* self, void*) { return PyUnicode_FromString(Self(self)->ref->name().c_str()); }
PyObject* AH_repr(PyObject* self) { return PyUnicode_FromString(Self(self)->ref->Describe().c_str()); }
Py_hash_t AH_hash(PyObject* self) {
  Py_hash_t h = static_cast<Py_hash_t>(Self(self)->ref->Identity());
  return h == -1 ? -2 : h;
}
PyObject* AH_richcompare(PyObject* self, PyObject* other, int op) {
  if ((op != Py_EQ && op != Py_NE) || !Py_IS_TYPE(other, Py_TYPE(self))) Py_RETURN_NOTIMPLEMENTED;
  const bool eq = Self(self)->ref->name() == Self(other)->ref->name();
  return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}
void AH_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  Self(self)->ref.~shared_ptr();
  tp->tp_free(self);
  Py_DECREF(tp);
}

PyMethodDef kMethods[] = {
    {"call", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(AH_call)), METH_VARARGS | METH_KEYWORDS,
     "call(method, *args, timeout=None, **kwargs)\n\nCalls a method and returns its result. Raises ActorError\n"
     "(the method raised), TimeoutError, ActorNotFound, or DeadlockError."},
    {"send", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(AH_send)), METH_VARARGS | METH_KEYWORDS,
     "send(method, *args, **kwargs)\n\nQueues a call without waiting; its result and errors are dropped."},
    {nullptr, nullptr, 0, nullptr},
};
PyGetSetDef kGetSet[] = {
    {"name", AH_get_name, nullptr, "The actor's name.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};
PyType_Slot kSlots[] = {
    {Py_tp_doc, const_cast<char*>("A handle to a named actor (interpd.actor(name)). Shareable: send it to\n"
                                  "another interpreter and call the actor from there.")},
    {Py_tp_dealloc, reinterpret_cast<void*>(AH_dealloc)},
    {Py_tp_repr, reinterpret_cast<void*>(AH_repr)},
    {Py_tp_hash, reinterpret_cast<void*>(AH_hash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(AH_richcompare)},
    {Py_tp_methods, kMethods},
    {Py_tp_getset, kGetSet},
    {0, nullptr},
};
PyType_Spec kSpec = {"interpd.ActorHandle", sizeof(HandleObject), 0,
                     Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION, kSlots};

}  // namespace

PyObject* ActorLookup(PyObject* module, PyObject* name) {
  SafePoint();
  ModuleState* st = GetModuleState(module);
  InterpreterContext* ctx = RequireActors(st);
  if (ctx == nullptr) return nullptr;
  if (!PyUnicode_Check(name)) {
    PyErr_SetString(PyExc_TypeError, "actor(name): name must be a str");
    return nullptr;
  }
  const char* n = PyUnicode_AsUTF8(name);
  if (n == nullptr) return nullptr;
  if (!ctx->actor_system->Find(n)) {
    PyErr_Format(st->actor_not_found, "no actor named \"%s\"", n);
    return nullptr;
  }
  return NewHandle(st, n);
}

PyObject* ActorSpawn(PyObject* module, PyObject* args, PyObject* kwds) {
  SafePoint();
  ModuleState* st = GetModuleState(module);
  InterpreterContext* ctx = RequireActors(st);
  if (ctx == nullptr) return nullptr;
  if (PyTuple_GET_SIZE(args) < 3) {
    PyErr_SetString(PyExc_TypeError, "spawn(name, code, cls, *args, **kwargs) takes at least 3 arguments");
    return nullptr;
  }
  ActorSpec spec;
  for (int i = 0; i < 3; ++i) {
    if (!PyUnicode_Check(PyTuple_GET_ITEM(args, i))) {
      PyErr_SetString(PyExc_TypeError, "spawn(name, code, cls, ...): name, code and cls must be str");
      return nullptr;
    }
  }
  spec.name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(args, 0));
  spec.code = PyUnicode_AsUTF8(PyTuple_GET_ITEM(args, 1));
  spec.class_name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(args, 2));
  if (!ConvertArgs(st, args, 3, kwds, nullptr, &spec.args, &spec.kwargs)) return nullptr;
  auto box = std::make_shared<ReplyBox>(&ctx->slot->call_word);
  ctx->actor_system->Spawn(std::move(spec), box);
  if (!WaitReply(st, *box, kForever)) return nullptr;
  ActorReply& r = box->reply();
  if (!r.status.ok()) return RaiseReply(st, r);
  return NewHandle(st, PyUnicode_AsUTF8(PyTuple_GET_ITEM(args, 0)));
}

int AddActorTypes(PyObject* module, ModuleState* st) {
  st->actor_handle_type = PyType_FromModuleAndSpec(module, &kSpec, nullptr);
  if (st->actor_handle_type == nullptr) return -1;
  return PyModule_AddObjectRef(module, "ActorHandle", st->actor_handle_type);
}

Value ActorHandleValue(ModuleState* st, PyObject* obj, bool* is_handle) {
  *is_handle = st && st->actor_handle_type && Py_IS_TYPE(obj, reinterpret_cast<PyTypeObject*>(st->actor_handle_type));
  if (!*is_handle) return Value();
  return Value::FromHandle(ValueKind::kActor, Self(obj)->ref);
}

PyObject* ActorHandleFromValue(ModuleState* st, const Value& v) {
  auto ref = std::static_pointer_cast<ActorRef>(v.handle());
  return NewHandle(st, ref->name());
}

}  // namespace interpd
