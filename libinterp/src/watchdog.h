// Watchdog: enforces task deadlines and cancellations on running tasks.
//
// For a task past its deadline, past its CPU time limit (the worker
// thread's CPU clock), or cancelled, it asks the worker to raise
// TaskTimeout/TaskCancelled in its interpreter. If the task has not finished
// `interrupt_grace` later (stuck in C code, sleeping, or swallowing the
// exception), it completes the task as timed out / cancelled and has the pool
// abandon that worker and start a fresh one in its slot.
//
// Thread safety: all methods may be called from any thread; state is
// protected by mu_. The watchdog thread sleeps on a condition variable until
// the earliest deadline it knows (it is not a worker: a mutex and a timed
// wait are the simple, correct tool for a handful of deadlines).
//
// Invariants:
//   1. At most one entry per slot: a slot runs one task at a time.
//   2. A worker is abandoned only after its task's interrupt was requested
//      and the grace period passed without the task finishing. The task is
//      reported `worker_replaced` only if the watchdog's Complete() wins (if
//      the task finished at that very moment, its own result stands).
//   3. CPU limits are checked without polling: a thread's CPU clock cannot
//      run faster than wall time, so after a check that found `used`
//      seconds of a `limit`, the next check is due no sooner than
//      limit - used seconds later (at least 1 ms). A thread that sleeps is
//      checked a few times; one that computes is caught within ~1 ms.
#ifndef INTERPD_WATCHDOG_H_
#define INTERPD_WATCHDOG_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "task_state.h"

namespace interpd {

class PoolImpl;
class Worker;

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  Watchdog(PoolImpl* pool, size_t slots);
  ~Watchdog();

  void Start();
  void Stop();

  // The worker in `slot` started `task`, which must stop by `deadline`
  // (time_point::max(): none) and within its request's cpu_limit, measured
  // on the worker's thread from now. REQUIRES: called on the worker thread.
  void Arm(int slot, const std::shared_ptr<Worker>& worker, const TaskPtr& task, Clock::time_point deadline);
  // The task in `slot` finished.
  void Disarm(int slot, const Task* task);
  // Interrupts `task` now if it runs in `slot` (cancel, shutdown).
  void InterruptNow(int slot, const std::shared_ptr<Worker>& worker, const TaskPtr& task, InterruptReason why);

 private:
  struct Entry {
    TaskPtr task;
    std::shared_ptr<Worker> worker;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point give_up = Clock::time_point::max();  // set once interrupted
    InterruptReason why = InterruptReason::kNone;
    double cpu_limit = 0;                                    // seconds; 0 = none
    double cpu_start = 0;                                    // worker CPU clock at Arm
    Clock::time_point cpu_check = Clock::time_point::max();  // next CPU clock reading
  };
  // Invariant 3: reads the worker's CPU clock; fires or reschedules.
  void CheckCpu(Entry& e, Clock::time_point now);

  void Run();
  void Fire(Entry& e, InterruptReason why, Clock::time_point now);

  PoolImpl* const pool_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> entries_;  // by slot; protected by mu_
  bool stop_ = false;           // protected by mu_
  std::thread thread_;
};

}  // namespace interpd

#endif  // INTERPD_WATCHDOG_H_
