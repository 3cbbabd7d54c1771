// Task: the shared state of one submitted script, referenced by the caller's
// handle, the queues, the worker running it and the watchdog.
//
// Thread safety: `request`, `id`, `submitted`, the completion target and
// `dispatcher` are constant after submission and read from any thread. The
// atomics below coordinate the rest; `result_` is written once by the thread
// that wins Finish() and read by the future's waiter after `done_` is set.
//
// Invariants:
//   1. Finish() delivers exactly one result, whichever of worker, watchdog
//      (abandonment), canceller or pool (refusal) gets there first.
//   2. A task's output chunks are posted to its dispatcher before its result.
//   3. The reference count is intrusive (boost::intrusive_ref_counter) so a
//      Task* can live in lock-free queues that need trivially copyable slots.
#ifndef INTERPD_TASK_STATE_H_
#define INTERPD_TASK_STATE_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <boost/smart_ptr/intrusive_ref_counter.hpp>

#include "interpd/pool.h"
#include "interpd/task.h"

namespace interpd {

// kCpuLimit: the task used up its CPU time (TaskRequest::cpu_limit); it
// ends like a timeout.
enum class InterruptReason : uint8_t { kNone = 0, kTimeout = 1, kCancel = 2, kShutdown = 3, kCpuLimit = 4 };

// A task interrupted for its time or its CPU limit raises TaskTimeout; for
// the other reasons, TaskCancelled.
inline bool EndsAsTimeout(InterruptReason why) {
  return why == InterruptReason::kTimeout || why == InterruptReason::kCpuLimit;
}

class Task : public boost::intrusive_ref_counter<Task, boost::thread_safe_counter> {
 public:
  using Clock = std::chrono::steady_clock;

  Task(TaskId task_id, TaskRequest req) : id(task_id), request(std::move(req)), submitted(Clock::now()) {}

  // Constant after submission.
  const TaskId id;
  const TaskRequest request;
  const Clock::time_point submitted;
  std::function<void(TaskResult)> callback;  // empty for future-style tasks
  std::shared_ptr<Dispatcher> dispatcher;

  // Delivers `result` unless a result was already delivered. Returns whether
  // this call delivered it. `before_delivery` runs only for the winning call,
  // before the result is visible to anyone (bookkeeping that a caller who
  // sees the result must already see).
  bool Finish(TaskResult result, const std::function<void(const TaskResult&)>& before_delivery = nullptr);

  bool finished() const { return finished_.load(std::memory_order_acquire); }

  // Why the task is being interrupted, if it is. The first reason wins.
  bool RequestInterrupt(InterruptReason why) {
    auto expected = InterruptReason::kNone;
    return interrupt_.compare_exchange_strong(expected, why, std::memory_order_acq_rel);
  }
  InterruptReason interrupt() const { return interrupt_.load(std::memory_order_acquire); }

  // Future support: wait until finished, spinning for `spin` first.
  void Wait(std::chrono::microseconds spin) const;
  bool WaitFor(std::chrono::duration<double> timeout) const;
  TaskResult TakeResult() { return std::move(result_); }

  // Whoever flips this first owns the task's fate: a worker (it runs it) or
  // Cancel() (it completes it as cancelled, and it never runs).
  bool Claim() { return !claimed_.exchange(true, std::memory_order_acq_rel); }
  // Puts a claimed task up for grabs again (an `auto` run going back to a
  // queue for the compat lane): the next Claim(), by a worker or Cancel(),
  // wins as if it were the first.
  // REQUIRES: the caller won Claim() and the task is not finished.
  void Unclaim() { claimed_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> claimed_{false};
  std::atomic<bool> finished_{false};
  std::atomic<InterruptReason> interrupt_{InterruptReason::kNone};
  std::atomic<uint32_t> done_{0};  // futex word for future waiters
  TaskResult result_;
};

using TaskPtr = boost::intrusive_ptr<Task>;

}  // namespace interpd

#endif  // INTERPD_TASK_STATE_H_
