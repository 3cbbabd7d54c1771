// PoolImpl, resource control: the compat and fresh lanes, recycling
// hand-over, spares, and the memory figures in Stats (pool_impl.h has the
// contract; docs/resources.md the design).
#include <string>

#include "memory_accounting.h"
#include "pool_impl.h"

namespace interpd {

namespace {

// What CPython says when an isolated interpreter imports a single-phase-init
// extension module ("module X does not support loading in subinterpreters").
constexpr std::string_view kSinglePhaseRefusal = "does not support loading in subinterpreters";

bool RefusedSinglePhase(const TaskResult& r) {
  return r.status == TaskStatus::kError && r.error && r.error->type == "ImportError" &&
         r.error->message.find(kSinglePhaseRefusal) != std::string::npos;
}

const char* SlotLaneName(SlotLane lane) {
  switch (lane) {
    case SlotLane::kIsolated: return "isolated";
    case SlotLane::kCompat: return "compat";
    case SlotLane::kFresh: return "fresh";
  }
  return "?";
}

}  // namespace

std::string_view LaneName(Lane lane) {
  switch (lane) {
    case Lane::kIsolated: return "isolated";
    case Lane::kCompat: return "compat";
    case Lane::kAuto: return "auto";
  }
  return "?";
}

Status PoolImpl::CheckResourceOptions() const {
  if (options_.fresh_spares < 0 || options_.fresh_spares > 1024) {
    return Status::InvalidArgument("fresh_spares must be between 0 and 1024");
  }
  if (options_.compat_workers < 0 || options_.compat_workers > 1024) {
    return Status::InvalidArgument("compat_workers must be between 0 and 1024");
  }
  if (options_.recycle.max_memory != 0 && !MemoryAccounting::installed()) {
    return Status::InvalidArgument(
        "recycling on memory (max_memory) needs memory accounting, which this runtime was started without");
  }
  return Status::OK();
}

void PoolImpl::AddLaneSlots() {
  regular_ = slots_.size();
  compat_begin_ = slots_.size();
  for (int i = 0; i < options_.compat_workers; ++i) {
    slots_.push_back(std::make_unique<Slot>(static_cast<int>(slots_.size()), SlotLane::kCompat));
  }
  fresh_begin_ = slots_.size();
  for (int i = 0; i < options_.fresh_spares; ++i) {
    slots_.push_back(std::make_unique<Slot>(static_cast<int>(slots_.size()), SlotLane::kFresh));
  }
}

Status PoolImpl::CheckLanes(const TaskRequest& r) const {
  if (r.memory_limit != 0 && !MemoryAccounting::installed()) {
    return Status::InvalidArgument("memory_limit needs memory accounting, which this runtime was started without");
  }
  if (r.isolation == Isolation::kFresh) {
    if (options_.fresh_spares == 0) {
      return Status::InvalidArgument("fresh isolation is not enabled: the pool keeps no spare interpreters");
    }
    if (r.worker >= 0) return Status::InvalidArgument("a fresh run cannot be pinned to a worker");
    if (r.lane != Lane::kIsolated) {
      return Status::InvalidArgument("fresh interpreters are isolated: a fresh run takes the isolated lane only");
    }
  }
  if (r.lane == Lane::kCompat) {
    if (options_.compat_workers == 0) return Status::InvalidArgument("the compat lane has no workers");
    if (r.worker >= 0) return Status::InvalidArgument("a compat-lane run cannot be pinned to a worker");
  }
  return Status::OK();
}

bool PoolImpl::SubmitToLane(const TaskPtr& task) {
  if (task->request.isolation == Isolation::kFresh) {
    PushToLane(fresh_, fresh_begin_, slots_.size(), task);
    return true;
  }
  if (task->request.lane == Lane::kCompat) {
    PushToLane(compat_, compat_begin_, fresh_begin_, task);
    return true;
  }
  return false;
}

void PoolImpl::PushToLane(LaneQueue& lane, size_t begin, size_t end, const TaskPtr& task) {
  if (lane.depth.fetch_add(1, std::memory_order_relaxed) >= options_.queue_limit) {
    lane.depth.fetch_sub(1, std::memory_order_relaxed);
    Refuse(task, Status::Overloaded(std::to_string(options_.queue_limit) + " tasks are already waiting for this lane"));
    return;
  }
  lane.queue.push(TaskPtr(task).detach());
  // The same handshake as Submit(): push, full fence, then look for an idle
  // worker (worker.cc NextTask publishes `idle` before its last look).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  WakeOneIdle(begin, end);
}

bool PoolImpl::TryPopShared(const Slot& slot, TaskPtr* out) {
  LaneQueue* lane = nullptr;
  switch (slot.lane) {
    case SlotLane::kIsolated: return TryPopShared(out);
    case SlotLane::kCompat: lane = &compat_; break;
    case SlotLane::kFresh: lane = &fresh_; break;
  }
  Task* raw = nullptr;
  if (!lane->queue.pop(raw)) return false;
  lane->depth.fetch_sub(1, std::memory_order_relaxed);
  *out = TaskPtr(raw, /*add_ref=*/false);
  return true;
}

void PoolImpl::CompleteRun(Slot& slot, const TaskPtr& task, TaskResult result) {
  // The worker's memory figure is exact when the caller gets the result.
  MemoryAccounting::FlushThread();
  // Counted before the result is delivered, so a caller that got it finds
  // it in Stats().
  if (slot.lane == SlotLane::kFresh) fresh_runs_.fetch_add(1, std::memory_order_relaxed);
  if (slot.lane != SlotLane::kCompat && RefusedSinglePhase(result)) {
    const bool retry = task->request.lane == Lane::kAuto && compat_begin_ != fresh_begin_ &&
                       task->interrupt() == InterruptReason::kNone && !task->finished() &&
                       accepting_.load(std::memory_order_acquire);
    if (retry) {
      compat_retries_.fetch_add(1, std::memory_order_relaxed);
      // The task was claimed by the isolated worker; whoever claims it next
      // (a compat worker, or Cancel()) owns it, exactly as when it was
      // first queued. The first attempt's result is dropped.
      task->Unclaim();
      PushToLane(compat_, compat_begin_, fresh_begin_, task);
      return;
    }
    result.error->message += compat_begin_ != fresh_begin_
                                 ? " (interpd: the isolated lane cannot load single-phase-init extension modules; "
                                   "run this script in the compat lane: lane \"compat\" or \"auto\")"
                                 : " (interpd: the isolated lane cannot load single-phase-init extension modules, "
                                   "and the compat lane that can has no workers)";
  }
  Complete(*task, std::move(result));
}

bool PoolImpl::HandOver(Slot& slot, const std::shared_ptr<Worker>& from, const std::shared_ptr<Worker>& to,
                        RecycleReason why) {
  std::lock_guard<std::mutex> pool_lock(mu_);
  std::lock_guard<std::mutex> lock(slot.mu);
  if (workers_stopping_ || slot.worker != from) return false;
  slot.worker = to;
  slot.recycled[static_cast<size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  recycled_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void PoolImpl::SpareSpent(Slot& slot, const std::shared_ptr<Worker>& spent) {
  std::shared_ptr<Worker> next;
  {
    std::lock_guard<std::mutex> pool_lock(mu_);
    std::lock_guard<std::mutex> lock(slot.mu);
    if (workers_stopping_ || slot.worker != spent) return;
    next = std::make_shared<Worker>(shared_from_this(), &slot);
    slot.worker = next;
  }
  // Its interpreter is created on its own thread; fresh runs queued
  // meanwhile wait in fresh_ for it or for another spare.
  next->Start();
}

void PoolImpl::InterpreterDestroyed(int64_t left_behind) {
  destroyed_.fetch_add(1, std::memory_order_relaxed);
  left_behind_.fetch_add(left_behind, std::memory_order_relaxed);
}

bool PoolImpl::starting_workers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !workers_stopping_;
}

void PoolImpl::DrainLaneQueues(const std::function<void(Task*)>& cancel) {
  for (LaneQueue* lane : {&compat_, &fresh_}) {
    Task* raw = nullptr;
    while (lane->queue.pop(raw)) {
      lane->depth.fetch_sub(1, std::memory_order_relaxed);
      cancel(raw);
    }
  }
}

void PoolImpl::AddResourceStats(const Slot& slot, const Worker* worker, WorkerStats* ws) const {
  ws->lane = SlotLaneName(slot.lane);
  for (size_t i = 0; i < slot.recycled.size(); ++i) {
    ws->recycled_by[i] = slot.recycled[i].load(std::memory_order_relaxed);
    ws->recycled += ws->recycled_by[i];
  }
  if (worker != nullptr) {
    const int64_t bytes = worker->memory_bytes();
    ws->memory_bytes = bytes > 0 ? bytes : 0;
    ws->worker_tasks = worker->tasks_done();
    ws->worker_age_seconds = worker->age_seconds();
  }
}

std::vector<WorkerStats>& PoolImpl::StatsListFor(const Slot& slot, PoolStats* st) const {
  switch (slot.lane) {
    case SlotLane::kIsolated: return st->workers;
    case SlotLane::kCompat: return st->compat_workers;
    case SlotLane::kFresh: return st->spares;
  }
  return st->workers;
}

void PoolImpl::AddResourceTotals(PoolStats* st) const {
  st->compat_queued = compat_.depth.load(std::memory_order_relaxed);
  st->fresh_queued = fresh_.depth.load(std::memory_order_relaxed);
  st->fresh_runs = fresh_runs_.load(std::memory_order_relaxed);
  st->compat_retries = compat_retries_.load(std::memory_order_relaxed);
  st->recycled = recycled_.load(std::memory_order_relaxed);
  st->interpreters_destroyed = destroyed_.load(std::memory_order_relaxed);
  st->memory_left_behind = left_behind_.load(std::memory_order_relaxed);
  st->memory_accounting = MemoryAccounting::installed();
}

}  // namespace interpd
