// Worker: one OS thread that owns one interpreter and runs tasks in it.
// Slot: the stable place a worker occupies in the pool (its index, inbox and
// wake word); when a worker is abandoned, a new one takes over its slot.
//
// Thread safety: a Worker's Python state (interp_, runner_, ctx_) is touched
// only by its own thread, or by an interrupter thread that holds the
// interpreter's GIL through its own thread state. Control flags are atomics
// readable from any thread.
//
// Invariants:
//   1. The interpreter is created, used and destroyed on the worker thread;
//      no other thread runs Python in it, except an interrupter raising an
//      exception (holding the GIL, for a few instructions).
//   2. `current_` changes only while the worker holds its GIL, so an
//      interrupter that holds the GIL sees the task actually running.
//   3. The interpreter is not destroyed while an interrupter may attach to
//      it: teardown sets `closing_` and waits for `interrupters_` to drain.
//   4. An abandoned worker never takes another task; if its stuck task ever
//      returns, it tears its interpreter down and its thread ends.
//   5. Idle workers wait on their slot's wake word with the GIL released,
//      after a bounded spin (`idle_spin`): a futex wake-up costs ~5 us here,
//      the spin catches back-to-back tasks without that cost.
//   6. One worker at a time takes tasks from a slot. A recycled worker hands
//      its slot to a standby successor between two tasks, once the
//      successor's interpreter is ready; a spare (fresh lane) runs one task
//      and gives its slot to a new spare. Queues belong to the slot, so no
//      queued task is lost either way (worker_resources.cc).
#ifndef INTERPD_WORKER_H_
#define INTERPD_WORKER_H_

#include <pthread.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include <boost/lockfree/queue.hpp>
#include <concurrentqueue/concurrentqueue.h>

#include "interp_context.h"
#include "interpreter.h"
#include "memory_accounting.h"
#include "script_runner.h"
#include "task_state.h"
#include "wait_word.h"

namespace interpd {

class Actor;
class ActorHost;
class PoolImpl;
class Worker;

// What a slot's workers run (see PoolImpl for which queue each pops).
enum class SlotLane : uint8_t {
  kIsolated,  // a regular worker: shared queue and its inbox
  kCompat,    // the compat lane: shares the main GIL
  kFresh,     // a spare: one task from the fresh queue, then a new spare
};

struct Slot {
  explicit Slot(int i, SlotLane l = SlotLane::kIsolated) : index(i), lane(l), inbox(64) {}

  // Constant after construction.
  const int index;
  const SlotLane lane;

  // Pinned tasks; each Task* holds one reference owned by the queue.
  boost::lockfree::queue<Task*> inbox;
  std::atomic<size_t> inbox_depth{0};

  // The futex word the slot's worker parks on; bumped to wake it.
  std::atomic<uint32_t> wake{0};
  // True while the worker is parked or about to park; whoever flips it back
  // to false owns the duty to bump `wake`.
  std::atomic<bool> idle{false};

  // Counters for stats (relaxed: monotonic, read approximately).
  std::atomic<uint64_t> tasks_run{0};
  std::atomic<uint64_t> replacements{0};
  std::atomic<uint64_t> cache_hits{0};
  std::atomic<uint64_t> cache_misses{0};
  // Interpreters recycled, by RecycleReason.
  std::array<std::atomic<uint64_t>, 3> recycled{};

  // Actors hosted here that have messages waiting (actor_system.h).
  moodycamel::ConcurrentQueue<std::shared_ptr<Actor>> ready;
  std::atomic<int64_t> ready_count{0};
  std::atomic<int> actors_hosted{0};
  // Set before the workers start: this slot takes no unpinned scripts,
  // only its inbox and its actors.
  bool dedicated_to_actors = false;
  // A task of this slot blocked in an actor call sleeps on this word, so
  // that both its reply and actor work for this slot wake it (actor_host.h).
  WaitWord call_word;

  // Takes the parked worker's `idle` flag (the handshake of
  // Worker::NextTask); true for the one caller that must then wake it. The
  // caller makes its work visible and issues a full fence first.
  bool ClaimIdle() { return idle.load(std::memory_order_relaxed) && idle.exchange(false, std::memory_order_acq_rel); }

  void WakeWorker() {
    wake.fetch_add(1, std::memory_order_release);
    wake.notify_all();
  }

  void Wake() {
    WakeWorker();
    WakeCaller();
  }

  // Wakes a task of this slot blocked in an actor call (WaitReply), if any.
  // The word changes first, then waiters are looked for: a caller that read
  // the old word just before it sleeps finds it changed (wait_word.h).
  void WakeCaller() {
    call_word.Advance();
    call_word.WakeAll();
  }

  // New actor work for this slot (ActorSystem::Schedule). Like a pinned
  // submit: the worker is woken only if it parked (the `idle` handshake of
  // Worker::NextTask, a full fence on each side), because notify_all costs
  // a system call whenever any thread waits in libstdc++'s wait bucket for
  // `wake`, which every slot shares: ~0.5 us of each actor call.
  void WakeForActorWork() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (ClaimIdle()) WakeWorker();
    WakeCaller();
  }

  // Protected by mu.
  mutable std::mutex mu;
  std::shared_ptr<Worker> worker;
  TaskPtr running;  // the task the worker is running, for Cancel/Shutdown
};

class Worker : public std::enable_shared_from_this<Worker> {
 public:
  enum class State : int { kStarting, kIdle, kBusy, kStopping, kExited, kFailed };

  // The worker keeps the pool alive: an abandoned worker whose stuck task
  // returns after the pool shut down still touches it on its way out.
  Worker(std::shared_ptr<PoolImpl> pool, Slot* slot);
  ~Worker();

  // Spawns the thread (detached: it keeps a reference to this Worker).
  void Start();
  // Blocks until the interpreter is ready (OK) or failed to start.
  Status WaitReady();

  // Asks the worker to leave its loop after the current task.
  void RequestStop();
  // Marks the worker abandoned (invariant 4).
  void Abandon();
  bool abandoned() const { return abandoned_.load(std::memory_order_acquire); }
  // Raises TaskTimeout/TaskCancelled in the worker's interpreter if it is
  // still running `task`. Asynchronous: returns at once.
  void Interrupt(const TaskPtr& task, InterruptReason why);
  // Blocks until the thread has ended, or until `timeout`. True if ended.
  bool WaitExited(std::chrono::duration<double> timeout);

  State state() const { return state_.load(std::memory_order_relaxed); }
  TaskId current_task_id() const { return current_id_.load(std::memory_order_relaxed); }
  int64_t interpreter_id() const { return interpreter_id_.load(std::memory_order_relaxed); }
  double cpu_seconds() const;
  // Exports of this interpreter still shared (live) / given up at teardown.
  int64_t live_exports() const {
    ShareOwner* o = share_owner_.load(std::memory_order_acquire);
    return o ? o->live() : 0;
  }
  int64_t orphaned_exports() const { return orphaned_exports_.load(std::memory_order_relaxed); }

  // ---- Resource control (worker_resources.cc) ----
  // Makes this worker a standby successor: once ready it waits for the
  // slot to be handed over (invariant 6). REQUIRES: before Start().
  void MakeStandby(const std::shared_ptr<Worker>& predecessor);
  // Accounted memory of the interpreter (relaxed: a statistic).
  int64_t memory_bytes() const { return account_.bytes(); }
  uint64_t tasks_done() const { return tasks_done_.load(std::memory_order_relaxed); }
  double age_seconds() const;

 private:
  void ThreadMain();
  void Loop();
  TaskPtr NextTask();
  TaskPtr TryPop();
  void RunTask(TaskPtr task);
  void Teardown();
  void DrainExports();
  void StopOtherThreads();

  // ---- Resource control (worker_resources.cc) ----
  // Worker thread, before the interpreter exists: bind the memory account.
  void BeginResources();
  // After ScriptRunner::Open: register the account, install the guards.
  Status SetUpResources();
  // After the interpreter is gone (or failed to start): report what it
  // left behind, unbind, stop a successor that never took over.
  void EndResources();
  // Before taking tasks: a standby waits for the slot; then the successor
  // starts if one is already due (max_tasks = 1).
  void BeforeLoop();
  // Starts a standby successor if a recycling rule says so.
  void MaybeStartSuccessor();
  // After each task: start recycling, or end a spare. True: leave the loop.
  bool AfterTask();
  // True if a ready successor took the slot: leave the loop.
  bool HandOverIfReady();
  // Whether actor instances live in this interpreter (it is then not
  // recycled). Worker thread only.
  bool HostsActors() const;
  // A standby waits here until activated, stopped, or orphaned.
  void WaitForActivation();
  Interpreter::Kind InterpreterKind() const;
  // Pays an interpreter's first-script costs before it takes a task.
  Status WarmUp();

  // Constant after construction.
  const std::shared_ptr<PoolImpl> pool_;
  Slot* const slot_;  // owned by pool_

  // Owned by the worker thread (invariant 1).
  InterpreterContext ctx_;
  Interpreter interp_;
  std::unique_ptr<ScriptRunner> runner_;
  std::unique_ptr<ActorHost> host_;
  bool prefer_shared_ = false;  // which queue TryPop looks at first

  // Set by the worker thread before it signals ready, then constant.
  unsigned long thread_ident_ = 0;     // PyThread ident, for SetAsyncExc
  PyInterpreterState* interp_state_ = nullptr;
  clockid_t cpu_clock_{};
  bool has_cpu_clock_ = false;
  Status start_status_;

  std::atomic<State> state_{State::kStarting};
  std::atomic<uint32_t> ready_{0};     // futex word: 1 once started (or failed)
  std::atomic<uint32_t> exited_{0};    // futex word: 1 once the thread ends
  std::atomic<bool> stop_{false};
  std::atomic<bool> abandoned_{false};
  std::atomic<bool> closing_{false};
  std::atomic<int> interrupters_{0};
  std::atomic<Task*> current_{nullptr};  // invariant 2
  std::atomic<TaskId> current_id_{0};
  std::atomic<int64_t> interpreter_id_{-1};

  // ---- Resource control ----
  // Charged by the worker thread (bound) and by the interpreter's other
  // threads (registered); read by Stats on any thread.
  MemoryAccount account_;
  std::atomic<uint64_t> tasks_done_{0};   // tasks this interpreter ran
  std::atomic<int64_t> born_ns_{0};       // steady_clock, set when ready
  // Set before Start(), then constant.
  bool standby_ = false;
  std::weak_ptr<Worker> predecessor_;
  // A standby's go signal; set by the predecessor (HandOverIfReady).
  std::atomic<bool> activated_{false};
  // Worker thread only: the successor being prepared and why.
  std::shared_ptr<Worker> successor_;
  uint8_t successor_reason_ = 0;
  std::chrono::steady_clock::time_point retry_recycle_after_{};
  std::atomic<int64_t> orphaned_exports_{0};
  // ctx_.share_owner for other threads (stats): published once it exists;
  // it lives as long as this Worker.
  std::atomic<ShareOwner*> share_owner_{nullptr};
};

}  // namespace interpd

#endif  // INTERPD_WORKER_H_
