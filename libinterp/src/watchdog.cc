#include "watchdog.h"

#include <algorithm>
#include <cstdio>

#include "pool_impl.h"
#include "worker.h"

namespace interpd {

Watchdog::Watchdog(PoolImpl* pool, size_t slots) : pool_(pool), entries_(slots) {}

Watchdog::~Watchdog() { Stop(); }

void Watchdog::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "interpd-watch");
    Run();
  });
}

void Watchdog::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& e : entries_) e = Entry{};
}

void Watchdog::Arm(int slot, const std::shared_ptr<Worker>& worker, const TaskPtr& task,
                   Clock::time_point deadline) {
  bool earlier;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_[static_cast<size_t>(slot)];
    Entry next{task, worker, deadline, Clock::time_point::max(), InterruptReason::kNone};
    next.cpu_limit = task->request.cpu_limit.count();
    if (next.cpu_limit > 0) {
      next.cpu_start = worker->cpu_seconds();
      next.cpu_check = Clock::now() + std::chrono::duration_cast<Clock::duration>(task->request.cpu_limit);
    }
    earlier = std::min(next.deadline, next.cpu_check) < std::min(e.deadline, e.cpu_check) || !e.task;
    e = std::move(next);
  }
  if (earlier) cv_.notify_all();
}

void Watchdog::Disarm(int slot, const Task* task) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[static_cast<size_t>(slot)];
  if (e.task.get() == task) e = Entry{};
}

void Watchdog::InterruptNow(int slot, const std::shared_ptr<Worker>& worker, const TaskPtr& task, InterruptReason why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_[static_cast<size_t>(slot)];
    if (e.task != task) e = Entry{task, worker, Clock::time_point::max(), Clock::time_point::max(), InterruptReason::kNone};
    if (e.why == InterruptReason::kNone) Fire(e, why, Clock::now());
  }
  cv_.notify_all();
}

// REQUIRES: mu_ held.
void Watchdog::Fire(Entry& e, InterruptReason why, Clock::time_point now) {
  e.why = why;
  e.task->RequestInterrupt(why);
  e.give_up = now + std::chrono::duration_cast<Clock::duration>(pool_->interrupt_grace());
  e.worker->Interrupt(e.task, why);
}

// REQUIRES: mu_ held.
void Watchdog::CheckCpu(Entry& e, Clock::time_point now) {
  const double used = e.worker->cpu_seconds() - e.cpu_start;
  if (used >= e.cpu_limit) {
    e.cpu_check = Clock::time_point::max();
    Fire(e, InterruptReason::kCpuLimit, now);
    return;
  }
  const double left = std::max(e.cpu_limit - used, 0.001);
  e.cpu_check = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(left));
}

void Watchdog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const auto now = Clock::now();
    auto next = Clock::time_point::max();
    for (size_t i = 0; i < entries_.size(); ++i) {
      Entry& e = entries_[i];
      if (!e.task) continue;
      if (e.task->finished()) {
        e = Entry{};
        continue;
      }
      if (e.why == InterruptReason::kNone && now >= e.deadline) Fire(e, InterruptReason::kTimeout, now);
      if (e.why == InterruptReason::kNone && now >= e.cpu_check) CheckCpu(e, now);
      if (e.why != InterruptReason::kNone && now >= e.give_up) {
        // Invariant 2: report the task as stopped only if nobody else did,
        // then replace the worker that is stuck with it.
        TaskPtr task = std::move(e.task);
        std::shared_ptr<Worker> worker = std::move(e.worker);
        const InterruptReason why = e.why;
        e = Entry{};
        TaskResult r;
        r.id = task->id;
        r.worker = static_cast<int>(i);
        r.worker_replaced = true;
        const bool timeout = why == InterruptReason::kTimeout || why == InterruptReason::kCpuLimit;
        r.status = timeout ? TaskStatus::kTimeout : TaskStatus::kCancelled;
        char grace[32];
        std::snprintf(grace, sizeof(grace), "%g", pool_->interrupt_grace().count());
        r.error = PythonError{
            timeout ? "interpd.TaskTimeout" : "interpd.TaskCancelled",
            std::string(why == InterruptReason::kCpuLimit ? "the script used up its CPU time limit"
                        : timeout                   ? "the script ran past its timeout"
                                                    : "the script was cancelled") +
                " and did not stop within the " + grace +
                " s grace period (stuck in C code, sleeping, or ignoring the interrupt); its worker was "
                "abandoned and replaced by a fresh one",
            ""};
        lock.unlock();
        // Replace first, report second: whoever waits for the report (a
        // shutdown) then finds the stuck worker already out of its slot.
        pool_->ReplaceWorker(pool_->slot(static_cast<int>(i)), worker);
        pool_->Complete(*task, std::move(r));
        lock.lock();
        continue;
      }
      next = std::min(next, e.why == InterruptReason::kNone ? std::min(e.deadline, e.cpu_check) : e.give_up);
    }
    if (next == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, next);
    }
  }
}

}  // namespace interpd
