// WorkerPool: N worker threads, each pinned to its own isolated interpreter,
// running submitted scripts in parallel.
//
// Thread safety: every public method may be called from any thread,
// concurrently, except that the destructor must not race with other calls.
//
// Invariants:
//   1. Every submitted task completes exactly once: its callback runs (or its
//      future becomes ready) once, whether it ran, failed, timed out, was
//      cancelled, was refused, or lost its worker.
//   2. Completion callbacks and output callbacks run on the Dispatcher, never
//      on a worker thread; the callbacks of one task run in order.
//   3. A worker's interpreter is created and destroyed on its own thread, and
//      no other thread runs Python in it (the watchdog only attaches briefly
//      to raise an exception in it).
//   4. Unpinned tasks run on whichever worker is free (FIFO); pinned tasks
//      run on their worker in submission order.
//   5. A worker whose task ignores its interrupt for `interrupt_grace` is
//      abandoned and replaced by a fresh worker in the same slot; tasks queued
//      for that slot are served by the replacement. Other slots never notice.
#ifndef INTERPD_POOL_H_
#define INTERPD_POOL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "interpd/actors.h"
#include "interpd/runtime.h"
#include "interpd/status.h"
#include "interpd/task.h"

namespace interpd {

class Task;
class PoolImpl;

// Runs callbacks off the worker threads. Post() must not block for long and
// must run the functions it is given in the order it is given them.
class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  virtual void Post(std::function<void()> fn) = 0;
};

// When a worker's interpreter is replaced by a new one (docs/resources.md,
// "Recycling"). Checked after each task; zero disables a rule.
struct RecycleOptions {
  uint64_t max_tasks = 0;                    // tasks run by one interpreter
  size_t max_memory = 0;                     // its accounted memory, in bytes
  std::chrono::duration<double> max_age{0};  // time since it was created

  friend bool operator==(const RecycleOptions&, const RecycleOptions&) = default;
};

enum class RecycleReason : uint8_t { kMaxTasks = 0, kMaxMemory = 1, kMaxAge = 2 };
// "max_tasks", "max_memory", "max_age".
std::string_view RecycleReasonName(RecycleReason reason);

struct PoolOptions {
  int workers = 0;                              // 0: one per CPU
  // Extra slots that run actors (and pinned work) but no unpinned scripts;
  // they are numbered after the script workers. New actors go there first.
  int actor_workers = 0;
  size_t queue_limit = 10000;                   // tasks waiting; beyond: refused (kOverloaded)
  std::chrono::microseconds idle_spin{50};      // spin before parking (see worker.h)
  std::chrono::duration<double> interrupt_grace{2.0};
  size_t output_limit = 1 << 20;                // default per-task stdout+stderr cap
  size_t code_cache_entries = 256;              // compiled scripts kept per interpreter
  // How long a worker being destroyed waits for other interpreters to let go
  // of the buffers it shared before giving up on them (share.h invariant 2).
  std::chrono::duration<double> share_drain_timeout{5.0};
  // At shutdown, once no task runs any more, drop the process's named
  // channels (and the values waiting in them) before interpreters are torn
  // down, so their owners need not wait for shares nobody will receive. For
  // a process with one pool (the daemon); off by default because named
  // channels outlive a pool (another pool may still receive from them).
  bool release_named_channels_at_shutdown = false;
  // Where callbacks run. nullptr: an internal dispatcher thread.
  std::shared_ptr<Dispatcher> dispatcher;
  RecycleOptions recycle;
  // Pre-created interpreters for Isolation::kFresh, each run by a spare
  // worker that runs one task and destroys its interpreter; a new spare is
  // started in its place at once. 0: fresh runs are refused.
  int fresh_spares = 0;
  // Workers of the compat lane (Lane::kCompat): they share the main GIL, so
  // they take turns. 0: compat runs are refused and `auto` never retries.
  int compat_workers = 0;
};

// A reference to a submitted task, usable to cancel it.
class TaskHandle {
 public:
  TaskHandle();
  ~TaskHandle();
  TaskHandle(const TaskHandle&);
  TaskHandle& operator=(const TaskHandle&);
  TaskHandle(TaskHandle&&) noexcept;
  TaskHandle& operator=(TaskHandle&&) noexcept;

  TaskId id() const;
  explicit operator bool() const { return task_ != nullptr; }
  bool done() const;

 private:
  friend class PoolImpl;
  friend class TaskFuture;
  friend class WorkerPool;
  explicit TaskHandle(Task* task);  // takes a new reference
  Task* task_ = nullptr;
};

// The result of a task, once it completes.
class TaskFuture {
 public:
  TaskFuture() = default;
  const TaskHandle& handle() const { return handle_; }
  bool ready() const;
  // Waits (spinning briefly, then parking) and returns the result.
  // REQUIRES: called at most once.
  TaskResult Get();
  // Waits up to `timeout`; true when ready.
  bool WaitFor(std::chrono::duration<double> timeout) const;

 private:
  friend class WorkerPool;
  TaskHandle handle_;
};

struct WorkerStats {
  int id = 0;
  std::string state;             // "starting", "idle", "busy", "stopped"
  int64_t interpreter_id = -1;
  uint64_t tasks_run = 0;        // by this slot, across replacements
  TaskId current_task = 0;       // 0 when idle
  uint64_t replacements = 0;     // times this slot's worker was abandoned
  double cpu_seconds = 0;        // CPU time of the current worker thread
  size_t inbox_depth = 0;        // pinned tasks waiting for this worker
  uint64_t code_cache_hits = 0;  // scripts found compiled (this slot, all workers)
  uint64_t code_cache_misses = 0;
  std::string lane;              // "isolated", "compat", or "fresh" (a spare)
  // Accounted memory of the current interpreter (0 without accounting).
  int64_t memory_bytes = 0;
  uint64_t worker_tasks = 0;     // tasks run by the current interpreter
  double worker_age_seconds = 0; // since the current interpreter was created
  // Times this slot's interpreter was recycled, in all and by reason
  // (indexed by RecycleReason).
  uint64_t recycled = 0;
  uint64_t recycled_by[3] = {0, 0, 0};
  int64_t shared_exports = 0;    // buffers of this worker's interpreter shared right now
};

struct PoolStats {
  std::vector<WorkerStats> workers;
  size_t queued = 0;             // unpinned tasks waiting
  uint64_t submitted = 0;
  uint64_t completed = 0;
  uint64_t timeouts = 0;
  uint64_t cancelled = 0;
  uint64_t abandoned_workers = 0;  // total workers abandoned
  int stuck_threads = 0;           // abandoned worker threads still alive
  std::vector<WorkerStats> compat_workers;  // the compat lane
  std::vector<WorkerStats> spares;          // the fresh-isolation spares
  size_t compat_queued = 0;        // compat-lane tasks waiting
  size_t fresh_queued = 0;         // fresh runs waiting for a spare
  uint64_t fresh_runs = 0;         // tasks run in a fresh interpreter
  uint64_t compat_retries = 0;     // `auto` runs retried in the compat lane
  uint64_t recycled = 0;           // interpreters recycled (all slots)
  // Interpreters destroyed (recycled, spent spares, shutdown, abandoned
  // ones that came back) and the accounted bytes they left behind: memory
  // CPython never freed when it destroyed them (docs/resources.md).
  uint64_t interpreters_destroyed = 0;
  int64_t memory_left_behind = 0;
  bool memory_accounting = false;
};

class WorkerPool {
 public:
  // Starts the workers and waits until every interpreter is ready.
  static Status Create(Runtime& runtime, const PoolOptions& options, std::unique_ptr<WorkerPool>* out);
  // Shutdown(0) if not done yet.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Submits a script; the future becomes ready when it completes.
  TaskFuture Submit(TaskRequest request);
  // Submits a script; `done` runs once on the dispatcher when it completes.
  TaskHandle Submit(TaskRequest request, std::function<void(TaskResult)> done);

  // Cancels a queued task (it never runs) or interrupts a running one. Returns
  // false if the task had already completed.
  bool Cancel(const TaskHandle& task);

  // Stops accepting work (later submits complete as refused with
  // kShuttingDown), lets running and queued tasks finish for up to `grace`,
  // then cancels what is left, and destroys every interpreter on its thread.
  void Shutdown(std::chrono::duration<double> grace);
  // Cuts a Shutdown() in progress short: its grace period ends now (a
  // second SIGTERM). Any thread.
  void HurryShutdown();
  // Changes limits while running (SIGHUP); later submissions and interrupts
  // use the new values.
  void SetLimits(size_t queue_limit, std::chrono::duration<double> interrupt_grace);

  int size() const;
  PoolStats Stats() const;

  // ---- Actors (actors.h). `done` runs on the dispatcher. ----
  // Replies once __init__ ran: OK with `worker`, or its error.
  void SpawnActor(ActorSpec spec, std::function<void(ActorReply)> done);
  // `done` empty: a send (no reply, errors dropped).
  void CallActor(std::string_view name, std::string method, Value args, Value kwargs,
                 std::function<void(ActorReply)> done);
  bool HasActor(std::string_view name) const;
  // OK if a message for `method` of `name` would be handled; else why not
  // (NotFound, Closed, InvalidArgument). Sends check this first.
  Status CheckActorTarget(std::string_view name, std::string_view method) const;
  // Graceful: after the current message, on_stop() runs; the name is freed.
  void StopActor(std::string_view name, std::function<void(ActorReply)> done);
  std::vector<ActorInfo> ListActors() const;

 private:
  explicit WorkerPool(std::shared_ptr<PoolImpl> impl);
  // Shared with the workers (see worker.h: an abandoned worker may outlive
  // the WorkerPool object).
  std::shared_ptr<PoolImpl> impl_;
};

}  // namespace interpd

#endif  // INTERPD_POOL_H_
