#include "worker.h"

#include <time.h>

#include <string>
#include <thread>

#include "actor_host.h"
#include "pool_impl.h"
#include "wait_word.h"  // CpuRelax

namespace interpd {

Worker::Worker(std::shared_ptr<PoolImpl> pool, Slot* slot) : pool_(std::move(pool)), slot_(slot) { ctx_.worker_id = slot->index; }

Worker::~Worker() {
  // Reached only after the thread ended (it holds a reference) or when the
  // process is exiting with the thread stuck: never finalize from here.
  interp_.Leak();
}

void Worker::Start() {
  Runtime::ThreadStarted();
  std::thread([self = shared_from_this()]() mutable {
    self->ThreadMain();
    self.reset();            // may destroy this Worker and the pool
    Runtime::ThreadEnded();  // last: the runtime may finalize right after this
  }).detach();
}

Status Worker::WaitReady() {
  while (ready_.load(std::memory_order_acquire) == 0) ready_.wait(0, std::memory_order_acquire);
  return start_status_;
}

void Worker::RequestStop() {
  stop_.store(true, std::memory_order_release);
  slot_->Wake();
}

void Worker::Abandon() {
  abandoned_.store(true, std::memory_order_release);
  slot_->Wake();
}

bool Worker::WaitExited(std::chrono::duration<double> timeout) {
  // Shutdown is rare; a short sleep loop keeps this simple and bounded.
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (exited_.load(std::memory_order_acquire) == 0) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

double Worker::cpu_seconds() const {
  if (!has_cpu_clock_ || exited_.load(std::memory_order_acquire)) return 0;
  timespec ts{};
  if (clock_gettime(cpu_clock_, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void Worker::ThreadMain() {
  const std::string name = "interpd-w" + std::to_string(slot_->index);
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  has_cpu_clock_ = pthread_getcpuclockid(pthread_self(), &cpu_clock_) == 0;
  BeginResources();

  start_status_ = Interpreter::Create(InterpreterKind(), &interp_);
  if (start_status_.ok()) {
    thread_ident_ = PyThread_get_thread_ident();
    interp_state_ = interp_.state();
    ctx_.interpreter_id = interp_.id();
    interpreter_id_.store(interp_.id(), std::memory_order_relaxed);
    ctx_.thread_ident = thread_ident_;
    // Releases of this interpreter's exports wake the worker if it is idle,
    // so an idle owner frees what receivers let go (DESIGN.md).
    Slot* slot = slot_;
    ctx_.share_owner = std::make_shared<ShareOwner>(interp_.id(), [slot] {
      if (slot->ClaimIdle()) slot->Wake();
    });
    ShareOwner::Current() = ctx_.share_owner.get();
    share_owner_.store(ctx_.share_owner.get(), std::memory_order_release);
    runner_ = std::make_unique<ScriptRunner>(&ctx_, pool_->options().code_cache_entries);
    start_status_ = runner_->Open(pool_->runtime().options().extra_paths);
    if (start_status_.ok()) start_status_ = SetUpResources();
  }
  if (start_status_.ok()) {
    host_ = std::make_unique<ActorHost>(pool_->actors(), *slot_, ctx_, runner_->module_state(),
                                        [this] { return abandoned(); });
    ctx_.actor_system = &pool_->actors();
    ctx_.slot = slot_;
    ctx_.actor_host = host_.get();
  }
  if (!start_status_.ok()) {
    state_.store(State::kFailed, std::memory_order_relaxed);
    if (interp_.valid()) {
      if (runner_) runner_->Close();
      interp_.Destroy();
    }
    ready_.store(1, std::memory_order_release);
    ready_.notify_all();
  } else {
    state_.store(State::kIdle, std::memory_order_relaxed);
    ready_.store(1, std::memory_order_release);
    ready_.notify_all();
    BeforeLoop();
    Loop();
    Teardown();
  }
  EndResources();
  state_.store(State::kExited, std::memory_order_relaxed);
  exited_.store(1, std::memory_order_release);
  exited_.notify_all();
}

void Worker::Loop() {
  while (TaskPtr task = NextTask()) {
    RunTask(std::move(task));
    if (AfterTask()) break;
  }
}

TaskPtr Worker::TryPop() {
  // Alternate between the inbox and the shared queue so that neither can
  // starve the other (a flood of pinned work must not stall unpinned work
  // on a one-worker pool, and vice versa).
  prefer_shared_ = !prefer_shared_;
  for (int pass = 0; pass < 2; ++pass) {
    if (prefer_shared_ == (pass == 0)) {
      if (slot_->dedicated_to_actors) continue;  // takes pinned work only
      TaskPtr t;
      if (pool_->TryPopShared(*slot_, &t)) return t;
    } else {
      Task* raw = nullptr;
      if (slot_->inbox.pop(raw)) {
        slot_->inbox_depth.fetch_sub(1, std::memory_order_relaxed);
        return TaskPtr(raw, /*add_ref=*/false);
      }
    }
  }
  return nullptr;
}

TaskPtr Worker::NextTask() {
  const auto spin = pool_->options().idle_spin;
  for (;;) {
    // A safe point: release what receivers gave back (share.h).
    ctx_.share_owner->Drain();
    if (stop_.load(std::memory_order_acquire) || abandoned_.load(std::memory_order_acquire)) return nullptr;
    if (HandOverIfReady()) return nullptr;
    // Actors first, a batch at a time, then one script if any waits: the
    // two interleave and neither starves (actor_host.h).
    const int handled = host_->RunReady(256);
    if (TaskPtr t = TryPop()) return t;
    if (handled > 0) continue;
    // Invariant 5: spin briefly before parking.
    if (spin.count() > 0) {
      const auto until = std::chrono::steady_clock::now() + spin;
      do {
        for (int k = 0; k < 64; ++k) CpuRelax();
        if (TaskPtr t = TryPop()) return t;
        // A submitter that shares our CPU (2 CPUs, scheduler's choice) can
        // only push while we are off it: without this, every hand-off there
        // cost the whole spin. With a CPU to ourselves it returns at once.
        std::this_thread::yield();
      } while (std::chrono::steady_clock::now() < until && !stop_.load(std::memory_order_relaxed) &&
               slot_->ready_count.load(std::memory_order_relaxed) == 0);
    }
    // Park. Publish `idle` before the last look at the queues; a submitter
    // pushes before it reads `idle` (both with full fences), so either we see
    // its task or it sees us idle and bumps `wake`.
    const uint32_t epoch = slot_->wake.load(std::memory_order_acquire);
    slot_->idle.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (TaskPtr t = TryPop()) {
      slot_->idle.store(false, std::memory_order_relaxed);
      return t;
    }
    if (HandOverIfReady()) {
      // The slot is the successor's now: take nothing more from it.
      slot_->idle.store(false, std::memory_order_relaxed);
      return nullptr;
    }
    if (stop_.load(std::memory_order_acquire) || abandoned_.load(std::memory_order_acquire) ||
        ctx_.share_owner->pending() || slot_->ready_count.load(std::memory_order_acquire) > 0) {
      slot_->idle.store(false, std::memory_order_relaxed);
      continue;
    }
    state_.store(State::kIdle, std::memory_order_relaxed);
    {
      GilRelease release;  // DESIGN: idle workers wait with their GIL released
      slot_->wake.wait(epoch, std::memory_order_acquire);
    }
    slot_->idle.store(false, std::memory_order_relaxed);
  }
}

void Worker::RunTask(TaskPtr task) {
  if (!task->Claim()) return;  // cancelled while queued
  state_.store(State::kBusy, std::memory_order_relaxed);
  TaskResult result;
  result.id = task->id;
  result.worker = slot_->index;
  result.lane = slot_->lane == SlotLane::kCompat ? Lane::kCompat : Lane::kIsolated;
  result.queued_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - task->submitted).count();

  {
    std::lock_guard<std::mutex> lock(slot_->mu);
    if (!abandoned()) slot_->running = task;
  }
  // Invariant 2: publish the running task while holding the GIL.
  current_.store(task.get(), std::memory_order_release);
  current_id_.store(task->id, std::memory_order_relaxed);
  const bool timed = task->request.timeout.count() > 0;
  if (timed || task->request.cpu_limit.count() > 0) {
    const auto deadline = !timed ? std::chrono::steady_clock::time_point::max()
                                 : std::chrono::steady_clock::now() +
                                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(task->request.timeout);
    pool_->watchdog().Arm(slot_->index, shared_from_this(), task, deadline);
  }
  if (task->interrupt() != InterruptReason::kNone) {
    // Cancelled between being dequeued and published: interrupt it now.
    pool_->watchdog().InterruptNow(slot_->index, shared_from_this(), task, task->interrupt());
  }

  ctx_.interrupt.Reset();
  ctx_.task = task.get();
  const size_t limit = task->request.output_limit ? task->request.output_limit : pool_->options().output_limit;
  const uint64_t hits = runner_->cache().hits();
  const uint64_t misses = runner_->cache().misses();
  runner_->Run(*task, limit, &result);
  slot_->cache_hits.fetch_add(runner_->cache().hits() - hits, std::memory_order_relaxed);
  slot_->cache_misses.fetch_add(runner_->cache().misses() - misses, std::memory_order_relaxed);

  ctx_.task = nullptr;
  current_.store(nullptr, std::memory_order_release);
  current_id_.store(0, std::memory_order_relaxed);
  // An interrupt may have landed after the script's last instruction; it
  // must not fire in the next task.
  PyThreadState_SetAsyncExc(thread_ident_, nullptr);
  PyErr_Clear();
  pool_->watchdog().Disarm(slot_->index, task.get());
  {
    std::lock_guard<std::mutex> lock(slot_->mu);
    if (slot_->running == task) slot_->running.reset();
  }
  slot_->tasks_run.fetch_add(1, std::memory_order_relaxed);
  tasks_done_.fetch_add(1, std::memory_order_relaxed);
  pool_->CompleteRun(*slot_, task, std::move(result));
}

void Worker::StopOtherThreads() {
  // Threads a script started and left running would make Py_EndInterpreter
  // wait for them forever: ask each to exit (SystemExit ends a thread quietly).
  PyThreadState* me = PyThreadState_Get();
  for (PyThreadState* ts = PyInterpreterState_ThreadHead(interp_state_); ts; ts = PyThreadState_Next(ts)) {
    if (ts != me) PyThreadState_SetAsyncExc(ts->thread_id, PyExc_SystemExit);
  }
}

void Worker::DrainExports() {
  // Invariant 2 of share.h: wait (bounded) until receivers let go of what
  // this interpreter exported, releasing as records come back; then orphan
  // the rest. Garbage cycles may hold views of *other* owners: collect them
  // first so those owners can drain too.
  PyGC_Collect();
  ShareOwner& owner = *ctx_.share_owner;
  owner.Drain();
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(pool_->options().share_drain_timeout);
  while (owner.live() > 0 && std::chrono::steady_clock::now() < until) {
    {
      GilRelease release;  // teardown is rare: a short sleep keeps this simple
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    owner.Drain();
  }
  owner.Orphan();
  orphaned_exports_.store(owner.orphaned(), std::memory_order_relaxed);
}

void Worker::Teardown() {
  state_.store(State::kStopping, std::memory_order_relaxed);
  // Invariant 3: no interrupter may attach once we start tearing down.
  closing_.store(true, std::memory_order_seq_cst);
  if (interrupters_.load(std::memory_order_seq_cst) != 0) {
    GilRelease release;  // interrupters need our GIL to finish
    int n;
    while ((n = interrupters_.load(std::memory_order_acquire)) != 0) interrupters_.wait(n);
  }
  StopOtherThreads();
  host_->Close();
  runner_->Close();
  DrainExports();
  ShareOwner::Current() = nullptr;
  interp_.Destroy();
}

void Worker::Interrupt(const TaskPtr& task, interpd::InterruptReason why) {
  if (current_.load(std::memory_order_acquire) != task.get()) return;
  interrupters_.fetch_add(1, std::memory_order_seq_cst);
  if (closing_.load(std::memory_order_seq_cst)) {
    interrupters_.fetch_sub(1, std::memory_order_release);
    interrupters_.notify_all();
    return;
  }
  Runtime::ThreadStarted();
  // A short-lived thread per interrupt: attaching to the interpreter blocks
  // until its GIL is free, which for a task stuck in C code is never. The
  // watchdog thread itself must not block, so it hands the wait off.
  std::thread([self = shared_from_this(), task = TaskPtr(task), why]() mutable {
    PyThreadState* ts = PyThreadState_New(self->interp_state_);
    PyEval_RestoreThread(ts);
    if (self->current_.load(std::memory_order_acquire) == task.get()) {
      ModuleState* st = self->runner_->module_state();
      PyObject* type = EndsAsTimeout(why) ? st->task_timeout : st->task_cancelled;
      PyThreadState_SetAsyncExc(self->thread_ident_, type);
      // A task blocked in a channel has its GIL released and runs no
      // bytecode: wake it there too (interrupt.h).
      self->ctx_.interrupt.Fire();
      self->slot_->Wake();  // and out of a wait for an actor's reply
    }
    PyThreadState_Clear(ts);
    PyThreadState_DeleteCurrent();
    self->interrupters_.fetch_sub(1, std::memory_order_release);
    self->interrupters_.notify_all();
    task.reset();
    self.reset();
    Runtime::ThreadEnded();
  }).detach();
}

}  // namespace interpd
