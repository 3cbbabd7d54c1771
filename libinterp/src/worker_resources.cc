// Worker, resource control: the memory account, process guards, recycling
// by hand-over to a standby successor, and one-shot spares (worker.h
// invariant 6; docs/resources.md).
//
// Recycling, step by step (W: the worker being recycled, S: its successor):
//   1. After a task, W finds a rule of RecycleOptions reached (max_tasks: it
//      is about to run its last task); it starts S as a standby on the same
//      slot and keeps serving the slot meanwhile.
//   2. S creates its interpreter on its own thread, marks itself ready, wakes
//      the slot, and waits (GIL released) to be activated.
//   3. W, between two tasks (or woken from its idle wait), sees S ready and
//      hands the slot over under the pool and slot locks: slot.worker = S.
//      Then it activates S, leaves its loop, and destroys its interpreter on
//      its own thread. (max_tasks is a hard cap: after its last task W waits
//      for S instead of taking another. For max_memory and max_age, W serves
//      on until S is ready.)
//   4. S starts taking tasks from the slot's queues.
// Actors: an actor instance lives in its worker's interpreter, and
// recycling it would lose the actor's state (ActorSystem could only restart
// it from scratch, as for a worker lost to a stuck task). So a worker that
// hosts actor instances is not recycled: W starts no successor while it
// hosts any, and does not hand the slot to a ready successor while it does
// (one spawned meanwhile); recycling resumes once its actors are stopped.
// Actors whose construction is still queued on the slot are fine: they are
// the slot's, and S builds them. Per-actor memory is bounded by the actor's
// own limit instead (ActorSpec::memory_limit).
// Only one of W and S takes tasks at any time, so pinned tasks keep their
// order, and the watchdog's one entry per slot stays right. If S fails to
// start, W keeps the slot and tries again a second later. If W is abandoned
// (stuck) or stops first, S stops too (it is never handed the slot).
#include <sys/resource.h>
#include <unistd.h>

#include <thread>

#include "actor_host.h"
#include "pool_impl.h"
#include "policy.h"
#include "recycle.h"
#include "worker.h"

namespace interpd {

namespace {

// A worker leaving its slot (a spent spare, a recycled worker) destroys its
// interpreter in the background: at the lowest CPU priority, so that on a
// busy machine the teardown does not delay live work. Not for the compat
// lane: its teardown holds the main GIL, which live compat workers and
// every interpreter creation need.
void DeprioritizeTeardown(SlotLane lane) {
  if (lane != SlotLane::kCompat) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Interpreter::Kind Worker::InterpreterKind() const {
  return slot_->lane == SlotLane::kCompat ? Interpreter::Kind::kCompat : Interpreter::Kind::kIsolated;
}

void Worker::MakeStandby(const std::shared_ptr<Worker>& predecessor) {
  standby_ = true;
  predecessor_ = predecessor;
}

double Worker::age_seconds() const {
  const int64_t born = born_ns_.load(std::memory_order_relaxed);
  return born == 0 ? 0 : static_cast<double>(NowNanos() - born) * 1e-9;
}

void Worker::BeginResources() {
  // Bound before the interpreter exists: its creation and its destruction
  // are charged to it too, so what remains after Destroy() is what CPython
  // left behind.
  if (MemoryAccounting::installed()) MemoryAccounting::BindThread(&account_);
}

Status Worker::SetUpResources() {
  if (MemoryAccounting::installed()) MemoryAccounting::RegisterInterpreter(interp_state_, &account_);
  Status s = PolicyEnforcer::InstallProcessGuards(slot_->lane != SlotLane::kCompat);
  if (s.ok()) s = WarmUp();
  born_ns_.store(NowNanos(), std::memory_order_relaxed);
  return s;
}

Status Worker::WarmUp() {
  // The first script an interpreter runs pays for one-time set-up: the code
  // cache compiles through the AST (code_cache.cc), and the first use of
  // _ast builds its ~120 node types; the compiler and the eval loop have
  // first-use costs of their own. About 1.7 ms in all here, which every
  // spare would add to its one run. Pay it now, off the latency path, by
  // compiling and running a statement and an expression in a scratch
  // namespace, through a scratch cache (the runner's cache and its hit
  // counts stay untouched, and no script state is left behind) that does not
  // use the shared cache (loading from it would skip the compiler).
  CodeCache scratch(1, /*shared=*/false);
  CodeCache::Compiled code;
  PyObject* globals = PyDict_New();
  bool ok = globals != nullptr && PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) == 0 &&
            scratch.Get("x = 1\nx", "<interpd warm-up>", &code);
  if (ok) {
    PyObject* r = PyEval_EvalCode(code.body, globals, globals);
    PyObject* v = r != nullptr && code.last != nullptr ? PyEval_EvalCode(code.last, globals, globals) : nullptr;
    ok = v != nullptr;
    Py_XDECREF(v);
    Py_XDECREF(r);
  }
  Py_CLEAR(code.body);
  Py_CLEAR(code.last);
  scratch.Clear();
  Py_XDECREF(globals);
  if (!ok) {
    PyErr_Print();
    return Status::Internal("cannot compile and run a statement in a new worker interpreter");
  }
  return Status::OK();
}

void Worker::EndResources() {
  MemoryAccounting::FlushThread();
  if (interp_state_ != nullptr) {
    if (MemoryAccounting::installed()) MemoryAccounting::UnregisterInterpreter(interp_state_, &account_);
    pool_->InterpreterDestroyed(MemoryAccounting::installed() ? account_.bytes() : 0);
  }
  MemoryAccounting::BindThread(nullptr);
  if (successor_) {
    // Never handed the slot: it ends without taking a task. No GIL is held
    // here, so a compat successor can finalize (it needs the main GIL).
    successor_->RequestStop();
    successor_->WaitExited(std::chrono::seconds(10));
    successor_.reset();
  }
}

void Worker::BeforeLoop() {
  if (standby_) WaitForActivation();
  // With max_tasks, the successor warms up while this interpreter runs its
  // last task (for max_tasks = 1, while it runs its only one).
  MaybeStartSuccessor();
}

bool Worker::HostsActors() const { return host_ != nullptr && host_->live() > 0; }

void Worker::MaybeStartSuccessor() {
  if (slot_->lane == SlotLane::kFresh || successor_ || abandoned() || stop_.load(std::memory_order_acquire)) return;
  if (HostsActors()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < retry_recycle_after_) return;
  const RecycleOptions& rules = pool_->options().recycle;
  MemoryAccounting::FlushThread();
  // The task limit is looked ahead by one task; the other rules are only
  // known once reached.
  auto due = RecycleDue(rules, tasks_done() + 1, account_.bytes(), age_seconds());
  if (!due || !pool_->starting_workers()) return;
  auto next = std::make_shared<Worker>(pool_, slot_);
  next->MakeStandby(shared_from_this());
  successor_ = next;
  successor_reason_ = static_cast<uint8_t>(*due);
  next->Start();
}

bool Worker::AfterTask() {
  if (slot_->lane == SlotLane::kFresh) {
    // A spare runs exactly one task. One that was cancelled before it
    // started left the interpreter untouched: the spare stays.
    if (tasks_done() == 0) return false;
    pool_->SpareSpent(*slot_, shared_from_this());
    DeprioritizeTeardown(slot_->lane);
    return true;
  }
  MaybeStartSuccessor();
  const uint64_t cap = pool_->options().recycle.max_tasks;
  if (!successor_ || cap == 0 || tasks_done() < cap) return false;
  // max_tasks is a hard cap: take no other task until the successor can
  // take the slot. The wait is the part of its start-up that the last task
  // did not cover; other workers serve unpinned work meanwhile.
  {
    GilRelease release;
    while (successor_->ready_.load(std::memory_order_acquire) == 0) successor_->ready_.wait(0, std::memory_order_acquire);
  }
  return HandOverIfReady();
}

bool Worker::HandOverIfReady() {
  if (!successor_ || successor_->ready_.load(std::memory_order_acquire) == 0) return false;
  if (!successor_->start_status_.ok()) {
    // Its thread ends by itself; this worker keeps the slot for now.
    successor_.reset();
    retry_recycle_after_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    return false;
  }
  // An actor was built here while the successor started: keep the slot
  // (the successor waits, ready) until no actor lives here any more.
  if (HostsActors()) return false;
  if (!pool_->HandOver(*slot_, shared_from_this(), successor_, static_cast<RecycleReason>(successor_reason_))) {
    // Abandoned or being stopped: this worker is leaving anyway, and
    // EndResources stops the successor (not here: with the GIL held, a
    // compat successor could not finish).
    return false;
  }
  std::shared_ptr<Worker> next = std::move(successor_);
  next->activated_.store(true, std::memory_order_release);
  slot_->Wake();
  DeprioritizeTeardown(slot_->lane);
  return true;
}

void Worker::WaitForActivation() {
  // The predecessor may be parked on the slot's word: tell it we are ready.
  slot_->Wake();
  GilRelease release;
  for (;;) {
    // Read the word before the checks, as NextTask does, so a wake between
    // the checks and the wait is not lost.
    const uint32_t epoch = slot_->wake.load(std::memory_order_acquire);
    if (activated_.load(std::memory_order_acquire) || stop_.load(std::memory_order_acquire)) return;
    std::shared_ptr<Worker> predecessor = predecessor_.lock();
    if (!predecessor || predecessor->abandoned() || predecessor->state() == State::kExited) {
      // Orphaned: the slot went elsewhere. End without taking a task.
      stop_.store(true, std::memory_order_release);
      return;
    }
    predecessor.reset();
    slot_->wake.wait(epoch, std::memory_order_acquire);
  }
}

}  // namespace interpd
