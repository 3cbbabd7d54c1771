// PoolImpl: the machinery behind WorkerPool (pool.h has the contract).
//
// Thread safety: Submit/Cancel/Stats run on any thread concurrently; the
// shared queue and inboxes are lock-free (Boost.Lockfree, a linearizable
// MPMC FIFO of Task pointers); `mu_` guards only the rare paths (worker
// replacement, the abandoned list, shutdown).
//
// Invariants:
//   1. `outstanding_` counts tasks accepted and not yet finished; shutdown
//      waits on it.
//   2. Every Task* in a queue carries one reference owned by that queue.
//   3. After Shutdown() has seen `submitting_` reach zero with `accepting_`
//      false, no task can enter a queue any more.
//   4. slots_ holds the regular (isolated) slots [0, regular_), the last
//      PoolOptions::actor_workers of them dedicated to actors, then the
//      compat lane's, then the spares' (fresh lane). Pins and actors name
//      regular slots only; each lane's workers take unpinned work from their
//      lane's queue (shared_, compat_, fresh_; actor-dedicated slots take
//      none), and a wake-up for a queue goes to an idle worker of that lane
//      only.
#ifndef INTERPD_POOL_IMPL_H_
#define INTERPD_POOL_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/lockfree/queue.hpp>

#include "actor_system.h"
#include "interpd/pool.h"
#include "task_state.h"
#include "watchdog.h"
#include "worker.h"

namespace interpd {

class PoolImpl : public std::enable_shared_from_this<PoolImpl> {
 public:
  PoolImpl(Runtime& runtime, const PoolOptions& options);
  ~PoolImpl();

  Status Start();
  TaskPtr Submit(TaskRequest request, std::function<void(TaskResult)> done);
  bool Cancel(const TaskPtr& task);
  void Shutdown(std::chrono::duration<double> grace);
  void HurryShutdown();
  // The limits that may change while running (SIGHUP).
  void SetLimits(size_t queue_limit, std::chrono::duration<double> interrupt_grace);
  size_t queue_limit() const { return queue_limit_.load(std::memory_order_relaxed); }
  std::chrono::duration<double> interrupt_grace() const {
    return std::chrono::duration<double>(interrupt_grace_.load(std::memory_order_relaxed));
  }
  PoolStats Stats() const;

  // ---- Used by workers and the watchdog ----
  Runtime& runtime() { return runtime_; }
  const PoolOptions& options() const { return options_; }
  // Completes `task` with `result` (exactly once); bookkeeping for stats and
  // shutdown. Returns whether this call delivered the result.
  bool Complete(Task& task, TaskResult result);
  bool TryPopShared(TaskPtr* out);
  // Abandons the worker of `slot` running `task` and starts a replacement.
  void ReplaceWorker(Slot& slot, const std::shared_ptr<Worker>& stuck);
  Slot& slot(int i) { return *slots_[static_cast<size_t>(i)]; }
  int slot_count() const { return static_cast<int>(slots_.size()); }
  // Slots actors may live on: the regular and actor-dedicated ones, never
  // the compat lane's or the spares' (invariant 4).
  int actor_slot_count() const { return static_cast<int>(regular_); }
  ActorSystem& actors() { return *actors_; }
  Watchdog& watchdog() { return *watchdog_; }

  // ---- Resource control (pool_resources.cc) ----
  // Takes unpinned work for `slot` from its lane's queue.
  bool TryPopShared(const Slot& slot, TaskPtr* out);
  // Delivers a run a worker finished. A run refused for importing a
  // single-phase-init extension gets a hint; with Lane::kAuto it goes to the
  // compat lane's queue instead, to run there from the start.
  void CompleteRun(Slot& slot, const TaskPtr& task, TaskResult result);
  // Gives `slot` from `from` (being recycled) to its standby `to`. False if
  // `from` no longer holds the slot or the workers are being stopped.
  bool HandOver(Slot& slot, const std::shared_ptr<Worker>& from, const std::shared_ptr<Worker>& to,
                RecycleReason why);
  // A spare ran its task: start a new spare in its slot.
  void SpareSpent(Slot& slot, const std::shared_ptr<Worker>& spent);
  // A worker destroyed its interpreter, which left `left_behind` accounted
  // bytes unfreed.
  void InterpreterDestroyed(int64_t left_behind);
  // Whether new interpreters may still be started (not stopping workers).
  bool starting_workers() const;

 private:
  // Wakes one idle worker among slots_[begin, end).
  void WakeOneIdle(size_t begin, size_t end);
  void Refuse(const TaskPtr& task, Status why);
  void DrainQueuesCancelled();
  // Interrupts every running task with `why` (through the watchdog, so a task
  // that ignores it gets its worker abandoned).
  void InterruptRunning(InterruptReason why);

  // ---- Resource control (pool_resources.cc) ----
  struct LaneQueue {
    boost::lockfree::queue<Task*> queue{64};  // each Task* holds a reference
    std::atomic<size_t> depth{0};
  };
  Status CheckResourceOptions() const;
  // Appends the compat and fresh slots (invariant 4).
  void AddLaneSlots();
  // Why the pool cannot run `request` as asked, or OK.
  Status CheckLanes(const TaskRequest& request) const;
  // Queues a fresh or compat run; false if the request uses neither.
  bool SubmitToLane(const TaskPtr& task);
  void PushToLane(LaneQueue& lane, size_t begin, size_t end, const TaskPtr& task);
  void DrainLaneQueues(const std::function<void(Task*)>& cancel);
  void AddResourceStats(const Slot& slot, const Worker* worker, WorkerStats* ws) const;
  std::vector<WorkerStats>& StatsListFor(const Slot& slot, PoolStats* st) const;
  void AddResourceTotals(PoolStats* st) const;

  Runtime& runtime_;
  const PoolOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::unique_ptr<Watchdog> watchdog_;
  // Invariant 4; set by Start(), then constant.
  size_t regular_ = 0;
  size_t compat_begin_ = 0;
  size_t fresh_begin_ = 0;
  LaneQueue compat_;
  LaneQueue fresh_;
  std::unique_ptr<ActorSystem> actors_;

  boost::lockfree::queue<Task*> shared_;
  std::atomic<size_t> queued_{0};
  // Reloadable copies of options_ fields (relaxed: a new value applies to
  // the next task; no ordering with anything else is needed).
  std::atomic<size_t> queue_limit_;
  std::atomic<double> interrupt_grace_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint32_t> next_wake_{0};
  std::atomic<bool> accepting_{true};
  std::atomic<int> submitting_{0};
  std::atomic<int64_t> outstanding_{0};

  // Stats (relaxed counters).
  std::atomic<uint64_t> submitted_{0};
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> timeouts_{0};
  std::atomic<uint64_t> cancelled_{0};
  std::atomic<uint64_t> abandoned_count_{0};
  std::atomic<uint64_t> fresh_runs_{0};
  std::atomic<uint64_t> compat_retries_{0};
  std::atomic<uint64_t> recycled_{0};
  std::atomic<uint64_t> destroyed_{0};
  std::atomic<int64_t> left_behind_{0};

  // Protected by mu_ (lock order: mu_ before any Slot::mu).
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;  // signalled when outstanding_ reaches 0
  std::vector<std::shared_ptr<Worker>> abandoned_;
  bool shut_down_ = false;
  bool hurry_ = false;
  bool workers_stopping_ = false;  // no new interpreters from here on
};

}  // namespace interpd

#endif  // INTERPD_POOL_IMPL_H_
