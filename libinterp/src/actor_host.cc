#include "actor_host.h"

#include "py_value.h"
#include "script_runner.h"
#include "worker.h"

namespace interpd {

namespace {

ActorReply Error(Status s) {
  ActorReply r;
  r.status = std::move(s);
  return r;
}

void Answer(ActorMessage& msg, ActorReply r) {
  if (msg.reply) {
    msg.reply->Deliver(std::move(r));
    msg.reply.reset();  // invariant 4 of actor_system.h: once
  }
}

std::string ActorFile(const Actor& a) { return "<actor " + a.spec.name + ">"; }

}  // namespace

ActorHost::ActorHost(ActorSystem& system, Slot& slot, InterpreterContext& ctx, ModuleState* module,
                     std::function<bool()> abandoned)
    : system_(system), slot_(slot), ctx_(ctx), module_(module), abandoned_(std::move(abandoned)) {}

ActorHost::~ActorHost() = default;

void ActorHost::Close() {
  for (auto& [id, obj] : instances_) Py_DECREF(obj);
  instances_.clear();
}

int ActorHost::RunReady(int budget) {
  int handled = 0;
  while (handled < budget && !abandoned_()) {
    std::shared_ptr<Actor> actor;
    if (!slot_.ready.try_dequeue(actor)) break;
    slot_.ready_count.fetch_sub(1, std::memory_order_acq_rel);
    handled += RunActor(actor, budget - handled < 64 ? budget - handled : 64);
  }
  return handled;
}

int ActorHost::RunActor(const std::shared_ptr<Actor>& actor, int budget) {
  // We own actor->scheduled while handling (invariant 2 of actor_system.h).
  int n = 0;
  while (n < budget) {
    if (abandoned_()) return n;  // the replacement worker resets the flag
    ActorMessage* raw = nullptr;
    if (!actor->mailbox.try_dequeue(raw)) break;
    actor->queued.fetch_sub(1, std::memory_order_acq_rel);
    std::unique_ptr<ActorMessage> msg(raw);
    Handle(actor, *msg);
    ++n;
  }
  actor->scheduled.store(false, std::memory_order_seq_cst);
  // A message posted after our last look but before the flag dropped saw
  // the flag set and did not schedule: look once more.
  if (actor->queued.load(std::memory_order_seq_cst) > 0) system_.Schedule(actor);
  return n;
}

void ActorHost::Handle(const std::shared_ptr<Actor>& actor, ActorMessage& msg) {
  const ActorState st = actor->state.load(std::memory_order_acquire);
  if (st == ActorState::kStopped) {
    Answer(msg, Error(Status::Closed("actor \"" + actor->spec.name + "\" is stopped")));
    return;
  }
  // Actor output belongs to no script (even when this runs nested inside a
  // script's call); it is dropped. Return values carry results.
  ctx_.output.Suspend();
  switch (msg.kind) {
    case ActorMessage::Kind::kConstruct: {
      if (instances_.count(actor->id)) {  // a delayed restart found it already rebuilt
        Answer(msg, ActorReply{});
        break;
      }
      PythonError err;
      ActorReply r;
      r.worker = actor->slot;
      if (!Construct(actor, &err)) {
        r.status = Status::PythonError(err.type + ": " + err.message);
        if (actor->state.load(std::memory_order_acquire) == ActorState::kRestarting) {
          // Say so: the supervisor will try again (restart policy).
          r.status = Status::PythonError(r.status.message() + " (restarting: restart policy on-failure)");
        }
        r.error = std::move(err);
      }
      Answer(msg, std::move(r));
      break;
    }
    case ActorMessage::Kind::kCall:
      Invoke(actor, msg);
      break;
    case ActorMessage::Kind::kStop:
      StopActor(actor, msg);
      break;
  }
  ctx_.output.Resume();
}

ActorHost::MemoryScope::MemoryScope(ActorHost& host, Actor& actor) : host_(host), actor_(actor) {
  if (actor.spec.memory_limit == 0 || !MemoryAccounting::installed()) return;
  account_ = MemoryAccounting::BoundAccount();
  if (account_ == nullptr) return;
  MemoryAccounting::FlushThread();
  base_ = account_->bytes();
  nested_at_start_ = host_.nested_growth_;
  const size_t asked = actor.spec.memory_limit;
  const int64_t limit = asked > static_cast<size_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(asked);
  const int64_t left = limit - actor.memory_charged.load(std::memory_order_relaxed);
  // Used up: a room of one byte (0 would mean no limit) fails the next
  // allocation that reaches the hooks.
  limit_.emplace(left > 0 ? static_cast<size_t>(left) : 1);
}

ActorHost::MemoryScope::~MemoryScope() {
  if (account_ == nullptr) return;
  limit_.reset();  // flushes the thread's running sum
  const int64_t growth = account_->bytes() - base_;
  const int64_t nested = host_.nested_growth_ - nested_at_start_;
  actor_.memory_charged.fetch_add(growth - nested, std::memory_order_relaxed);
  host_.nested_growth_ = nested_at_start_ + growth;
}

PythonError ActorHost::TakeError(const Actor& actor) {
  PyObject* exc = PyErr_GetRaisedException();
  PythonError e = DescribePythonException(exc, ActorFile(actor), actor.spec.code);
  Py_XDECREF(exc);
  PyErr_Clear();
  return e;
}

bool ActorHost::Construct(const std::shared_ptr<Actor>& actor, PythonError* error) {
  const ActorSpec& spec = actor->spec;
  PyObject* instance = nullptr;
  PyObject* module = PyModule_New("__actor__");
  PyObject* globals = module ? PyModule_GetDict(module) : nullptr;
  PyObject* code = nullptr;
  // A new instance starts with nothing charged; the old one, if any, is gone.
  actor->memory_charged.store(0, std::memory_order_relaxed);
  std::optional<MemoryScope> memory(std::in_place, *this, *actor);
  do {
    if (globals == nullptr || PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) != 0) break;
    code = Py_CompileString(spec.code.c_str(), ActorFile(*actor).c_str(), Py_file_input);
    if (code == nullptr) break;
    PyObject* r = PyEval_EvalCode(code, globals, globals);
    if (r == nullptr) break;
    Py_DECREF(r);
    PyObject* cls = PyDict_GetItemString(globals, spec.class_name.c_str());  // borrowed
    if (cls == nullptr || !PyCallable_Check(cls)) {
      PyErr_Format(PyExc_NameError, "the actor's code defines no class named '%s'", spec.class_name.c_str());
      break;
    }
    PyObject* args = spec.args.is_none() ? PyTuple_New(0) : FromValue(module_, spec.args);
    if (args != nullptr && PyList_Check(args)) {
      PyObject* t = PyList_AsTuple(args);
      Py_DECREF(args);
      args = t;
    }
    PyObject* kwargs = (args && !spec.kwargs.is_none()) ? FromValue(module_, spec.kwargs) : nullptr;
    if (args != nullptr && (spec.kwargs.is_none() || kwargs != nullptr)) instance = PyObject_Call(cls, args, kwargs);
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
  } while (false);
  Py_XDECREF(code);
  Py_XDECREF(module);
  memory.reset();  // before the traceback is formatted, as for a run
  if (instance == nullptr) {
    *error = TakeError(*actor);
    system_.OnFailure(actor, *error);
    return false;
  }
  instances_[actor->id] = instance;
  actor->state.store(ActorState::kRunning, std::memory_order_release);
  return true;
}

void ActorHost::Invoke(const std::shared_ptr<Actor>& actor, ActorMessage& msg) {
  auto it = instances_.find(actor->id);
  if (it == instances_.end()) {
    // Restarting, or its old worker was lost: rebuild now rather than
    // making the caller wait for the backoff timer.
    PythonError err;
    if (actor->state.load(std::memory_order_acquire) == ActorState::kFailed || !Construct(actor, &err)) {
      ActorReply r = Error(Status::Closed("actor \"" + actor->spec.name + "\" is not running" +
                                          (err.type.empty() ? "" : ": " + err.type + ": " + err.message)));
      Answer(msg, std::move(r));
      return;
    }
    it = instances_.find(actor->id);
  }
  if (msg.method.empty() || msg.method[0] == '_') {  // also checked when posted
    Answer(msg, Error(Status::InvalidArgument("method \"" + msg.method +
                                              "\" cannot be called: names starting with '_' are private")));
    return;
  }
  actor->messages.fetch_add(1, std::memory_order_relaxed);
  PyObject* bound = PyObject_GetAttrString(it->second, msg.method.c_str());
  PyObject* args = bound ? FromValue(module_, msg.args) : nullptr;
  if (args != nullptr && PyList_Check(args)) {
    PyObject* t = PyList_AsTuple(args);
    Py_DECREF(args);
    args = t;
  }
  PyObject* kwargs = (args && !msg.kwargs.is_none()) ? FromValue(module_, msg.kwargs) : nullptr;
  PyObject* result = nullptr;
  if (args != nullptr && (msg.kwargs.is_none() || kwargs != nullptr)) {
    // Invariant 2: calls made by this method carry the chain.
    std::vector<uint64_t> saved = std::move(running_);
    running_ = msg.chain;
    running_.push_back(actor->id);
    {
      MemoryScope memory(*this, *actor);
      result = PyObject_Call(bound, args, kwargs);
    }
    running_ = std::move(saved);
  }
  Py_XDECREF(kwargs);
  Py_XDECREF(args);
  Py_XDECREF(bound);
  ActorReply r;
  if (result == nullptr) {
    if (!msg.reply) {
      PyErr_Clear();  // a send: nobody to tell; the actor keeps running
      return;
    }
    r.error = TakeError(*actor);
    r.status = Status::PythonError(r.error->type + ": " + r.error->message);
  } else {
    if (msg.reply) {
      ToValueOptions opts;  // lists and dicts are fine: the caller gets copies
      if (!ToValue(module_, result, opts, &r.value)) {
        PyObject* exc = PyErr_GetRaisedException();
        PyObject* text = PyObject_Str(exc);
        r.status = Status::NotShareable(std::string("the return value of ") + actor->spec.class_name + "." +
                                        msg.method + " cannot leave the actor: " +
                                        (text ? PyUnicode_AsUTF8(text) : "?"));
        Py_XDECREF(text);
        Py_XDECREF(exc);
        PyErr_Clear();
      }
    }
    Py_DECREF(result);
  }
  Answer(msg, std::move(r));
}

void ActorHost::StopActor(const std::shared_ptr<Actor>& actor, ActorMessage& msg) {
  auto it = instances_.find(actor->id);
  ActorReply r;
  if (it != instances_.end()) {
    PyObject* on_stop = nullptr;
    if (compat::GetOptionalAttrString(it->second, "on_stop", &on_stop) > 0) {
      PyObject* res = PyObject_CallNoArgs(on_stop);
      if (res == nullptr) {
        // Reported, but the actor stops all the same.
        r.error = TakeError(*actor);
      }
      Py_XDECREF(res);
    }
    Py_XDECREF(on_stop);
    PyErr_Clear();
    Py_DECREF(it->second);
    instances_.erase(it);
  }
  system_.OnStopped(actor);
  // Messages that arrived after the stop are answered, never dropped.
  ActorMessage* raw = nullptr;
  while (actor->mailbox.try_dequeue(raw)) {
    actor->queued.fetch_sub(1, std::memory_order_acq_rel);
    std::unique_ptr<ActorMessage> late(raw);
    Answer(*late, Error(Status::Closed("actor \"" + actor->spec.name + "\" stopped")));
  }
  Answer(msg, std::move(r));
}

}  // namespace interpd
