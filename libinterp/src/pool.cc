#include <condition_variable>
#include <deque>
#include <thread>

#include "channel_registry.h"
#include "interpd/pool.h"
#include "pool_impl.h"
#include "wait_word.h"  // CpuRelax

namespace interpd {

std::string_view TaskStatusName(TaskStatus s) {
  switch (s) {
    case TaskStatus::kOk: return "ok";
    case TaskStatus::kError: return "error";
    case TaskStatus::kExit: return "exit";
    case TaskStatus::kTimeout: return "timeout";
    case TaskStatus::kCancelled: return "cancelled";
  }
  return "?";
}

namespace {

// The default Dispatcher: one thread running callbacks in order. A mutex and
// condition variable are enough here: callbacks are not the hot path of the
// daemon, which brings its own dispatcher (its event loop).
class ThreadDispatcher final : public Dispatcher {
 public:
  ThreadDispatcher() : thread_([this] { Run(); }) {}
  ~ThreadDispatcher() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // destroyed from one of its own callbacks
    } else {
      thread_.join();
    }
  }
  void Post(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    pthread_setname_np(pthread_self(), "interpd-cb");
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and drained
      auto fn = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // protected by mu_
  bool stop_ = false;                        // protected by mu_
  std::thread thread_;
};

}  // namespace

// ---- Task -----------------------------------------------------------------------

bool Task::Finish(TaskResult result, const std::function<void(const TaskResult&)>& before_delivery) {
  if (finished_.exchange(true, std::memory_order_acq_rel)) return false;
  if (before_delivery) before_delivery(result);
  if (callback) {
    dispatcher->Post([cb = callback, r = std::move(result)]() mutable { cb(std::move(r)); });
  } else {
    result_ = std::move(result);
    done_.store(1, std::memory_order_release);
    done_.notify_all();
  }
  return true;
}

void Task::Wait(std::chrono::microseconds spin) const {
  if (done_.load(std::memory_order_acquire)) return;
  const auto until = std::chrono::steady_clock::now() + spin;
  while (std::chrono::steady_clock::now() < until) {
    for (int k = 0; k < 64; ++k) CpuRelax();
    if (done_.load(std::memory_order_acquire)) return;
    std::this_thread::yield();  // the worker may need this CPU (worker.cc)
  }
  while (!done_.load(std::memory_order_acquire)) done_.wait(0, std::memory_order_acquire);
}

bool Task::WaitFor(std::chrono::duration<double> timeout) const {
  // Bounded waits are for tests and tools; poll at a coarse interval.
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done_.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// ---- TaskHandle / TaskFuture ----------------------------------------------------------

TaskHandle::TaskHandle() = default;
TaskHandle::TaskHandle(Task* task) : task_(task) {
  if (task_) intrusive_ptr_add_ref(task_);
}
TaskHandle::~TaskHandle() {
  if (task_) intrusive_ptr_release(task_);
}
TaskHandle::TaskHandle(const TaskHandle& o) : TaskHandle(o.task_) {}
TaskHandle& TaskHandle::operator=(const TaskHandle& o) {
  TaskHandle copy(o);
  std::swap(task_, copy.task_);
  return *this;
}
TaskHandle::TaskHandle(TaskHandle&& o) noexcept : task_(std::exchange(o.task_, nullptr)) {}
TaskHandle& TaskHandle::operator=(TaskHandle&& o) noexcept {
  std::swap(task_, o.task_);
  return *this;
}
TaskId TaskHandle::id() const { return task_ ? task_->id : 0; }
bool TaskHandle::done() const { return task_ && task_->finished(); }

bool TaskFuture::ready() const { return handle_.task_ && handle_.task_->finished() && handle_.task_->WaitFor(std::chrono::seconds(0)); }

TaskResult TaskFuture::Get() {
  Task* t = handle_.task_;
  t->Wait(std::chrono::microseconds(50));
  return t->TakeResult();
}

bool TaskFuture::WaitFor(std::chrono::duration<double> timeout) const { return handle_.task_->WaitFor(timeout); }

// ---- PoolImpl ---------------------------------------------------------------------------

PoolImpl::PoolImpl(Runtime& runtime, const PoolOptions& options)
    : runtime_(runtime),
      options_(options),
      shared_(options.queue_limit > 0 ? options.queue_limit : 1024),
      queue_limit_(options.queue_limit),
      interrupt_grace_(options.interrupt_grace.count()) {}

PoolImpl::~PoolImpl() = default;

Status PoolImpl::Start() {
  int n = options_.workers;
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (n > 1024) return Status::InvalidArgument("at most 1024 workers");
  if (options_.actor_workers < 0 || n + options_.actor_workers > 1024) {
    return Status::InvalidArgument("at most 1024 workers in all, actor workers included");
  }
  for (int i = 0; i < n + options_.actor_workers; ++i) {
    slots_.push_back(std::make_unique<Slot>(i));
    slots_.back()->dedicated_to_actors = i >= n;
  }
  if (Status s = CheckResourceOptions(); !s.ok()) return s;
  AddLaneSlots();
  watchdog_ = std::make_unique<Watchdog>(this, slots_.size());
  actors_ = std::make_unique<ActorSystem>(this);
  actors_->Start();
  // Interpreters are created in parallel, one per worker thread.
  std::vector<std::shared_ptr<Worker>> workers;
  for (auto& slot : slots_) {
    auto w = std::make_shared<Worker>(shared_from_this(), slot.get());
    slot->worker = w;
    workers.push_back(w);
    w->Start();
  }
  Status first_error;
  for (auto& w : workers) {
    Status s = w->WaitReady();
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  watchdog_->Start();
  return first_error;
}

void PoolImpl::Refuse(const TaskPtr& task, Status why) {
  TaskResult r;
  r.id = task->id;
  r.status = TaskStatus::kError;
  r.refusal = std::move(why);
  Complete(*task, std::move(r));
}

TaskPtr PoolImpl::Submit(TaskRequest request, std::function<void(TaskResult)> done) {
  TaskPtr task(new Task(next_id_.fetch_add(1, std::memory_order_relaxed), std::move(request)));
  task->callback = std::move(done);
  task->dispatcher = options_.dispatcher;
  submitted_.fetch_add(1, std::memory_order_relaxed);
  outstanding_.fetch_add(1, std::memory_order_relaxed);

  submitting_.fetch_add(1, std::memory_order_seq_cst);
  struct Leave {
    std::atomic<int>& n;
    ~Leave() { n.fetch_sub(1, std::memory_order_seq_cst); }
  } leave{submitting_};
  if (!accepting_.load(std::memory_order_seq_cst)) {
    Refuse(task, Status::ShuttingDown("the worker pool is shutting down"));
    return task;
  }
  if (Status st = CheckLanes(task->request); !st.ok()) {
    Refuse(task, std::move(st));
    return task;
  }
  if (SubmitToLane(task)) return task;
  const int pin = task->request.worker;
  if (pin >= 0) {
    if (pin >= static_cast<int>(regular_)) {
      Refuse(task, Status::InvalidArgument("no worker " + std::to_string(pin) + " (workers are 0.." +
                                           std::to_string(regular_ - 1) + ")"));
      return task;
    }
    Slot& s = *slots_[static_cast<size_t>(pin)];
    const size_t limit = queue_limit();
    if (s.inbox_depth.fetch_add(1, std::memory_order_relaxed) >= limit) {
      s.inbox_depth.fetch_sub(1, std::memory_order_relaxed);
      Refuse(task, Status::Overloaded("worker " + std::to_string(pin) + " has " +
                                      std::to_string(limit) + " tasks waiting"));
      return task;
    }
    s.inbox.push(TaskPtr(task).detach());
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (s.ClaimIdle()) s.Wake();
    return task;
  }
  const size_t limit = queue_limit();
  if (queued_.fetch_add(1, std::memory_order_relaxed) >= limit) {
    queued_.fetch_sub(1, std::memory_order_relaxed);
    Refuse(task, Status::Overloaded(std::to_string(limit) + " tasks are already waiting"));
    return task;
  }
  shared_.push(TaskPtr(task).detach());
  std::atomic_thread_fence(std::memory_order_seq_cst);
  WakeOneIdle(0, regular_);
  return task;
}

void PoolImpl::WakeOneIdle(size_t begin, size_t end) {
  const size_t n = end - begin;
  if (n == 0) return;
  const size_t start = next_wake_.fetch_add(1, std::memory_order_relaxed) % n;
  for (size_t k = 0; k < n; ++k) {
    Slot& s = *slots_[begin + (start + k) % n];
    if (s.dedicated_to_actors) continue;
    if (s.ClaimIdle()) {
      s.Wake();
      return;
    }
  }
}

bool PoolImpl::TryPopShared(TaskPtr* out) {
  Task* raw = nullptr;
  if (!shared_.pop(raw)) return false;
  queued_.fetch_sub(1, std::memory_order_relaxed);
  *out = TaskPtr(raw, /*add_ref=*/false);
  return true;
}

bool PoolImpl::Complete(Task& task, TaskResult result) {
  // Counters first: whoever receives the result and then asks for stats
  // must find it counted.
  const bool won = task.Finish(std::move(result), [this](const TaskResult& r) {
    completed_.fetch_add(1, std::memory_order_relaxed);
    if (r.status == TaskStatus::kTimeout) timeouts_.fetch_add(1, std::memory_order_relaxed);
    if (r.status == TaskStatus::kCancelled) cancelled_.fetch_add(1, std::memory_order_relaxed);
  });
  if (!won) return false;
  if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1 && !accepting_.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_cv_.notify_all();
  }
  return true;
}

bool PoolImpl::Cancel(const TaskPtr& task) {
  if (!task || task->finished()) return false;
  task->RequestInterrupt(InterruptReason::kCancel);
  if (task->Claim()) {
    // Still queued: it never runs; the worker that pops it skips it.
    TaskResult r;
    r.id = task->id;
    r.status = TaskStatus::kCancelled;
    r.error = PythonError{"interpd.TaskCancelled", "the script was cancelled before it started", ""};
    return Complete(*task, std::move(r));
  }
  // Running: find its worker and interrupt it there.
  for (auto& slot : slots_) {
    std::shared_ptr<Worker> w;
    {
      std::lock_guard<std::mutex> lock(slot->mu);
      if (slot->running != task) continue;
      w = slot->worker;
    }
    watchdog_->InterruptNow(slot->index, w, task, InterruptReason::kCancel);
    return true;
  }
  // Claimed by a worker that has not published it yet: it sees the interrupt
  // request when it does (worker.cc RunTask).
  return !task->finished();
}

void PoolImpl::InterruptRunning(InterruptReason why) {
  for (auto& slot : slots_) {
    std::shared_ptr<Worker> w;
    TaskPtr t;
    {
      std::lock_guard<std::mutex> lock(slot->mu);
      w = slot->worker;
      t = slot->running;
    }
    if (w && t) watchdog_->InterruptNow(slot->index, w, t, why);
  }
}

void PoolImpl::ReplaceWorker(Slot& slot, const std::shared_ptr<Worker>& stuck) {
  std::shared_ptr<Worker> fresh;
  {
    std::lock_guard<std::mutex> pool_lock(mu_);
    std::lock_guard<std::mutex> lock(slot.mu);
    if (slot.worker != stuck) return;  // already replaced
    stuck->Abandon();
    abandoned_.push_back(stuck);
    abandoned_count_.fetch_add(1, std::memory_order_relaxed);
    slot.replacements.fetch_add(1, std::memory_order_relaxed);
    if (shut_down_) {
      // No fresh interpreter for a pool that is going away.
      slot.worker.reset();
      return;
    }
    fresh = std::make_shared<Worker>(shared_from_this(), &slot);
    slot.worker = fresh;
  }
  // The new interpreter is created on the new thread; the slot's inbox is
  // served as soon as it is ready. Nothing waits for it here.
  fresh->Start();
  actors_->OnWorkerReplaced(slot.index);
}

void PoolImpl::DrainQueuesCancelled() {
  auto cancel = [this](Task* raw) {
    TaskPtr t(raw, false);
    if (!t->Claim()) return;  // Cancel() already completed it
    TaskResult r;
    r.id = t->id;
    r.status = TaskStatus::kCancelled;
    r.refusal = Status::ShuttingDown("the worker pool shut down before the task ran");
    r.error = PythonError{"interpd.TaskCancelled", "the pool shut down before the script started", ""};
    Complete(*t, std::move(r));
  };
  Task* raw = nullptr;
  while (shared_.pop(raw)) {
    queued_.fetch_sub(1, std::memory_order_relaxed);
    cancel(raw);
  }
  DrainLaneQueues(cancel);
  for (auto& slot : slots_) {
    while (slot->inbox.pop(raw)) {
      slot->inbox_depth.fetch_sub(1, std::memory_order_relaxed);
      cancel(raw);
    }
  }
}

void PoolImpl::Shutdown(std::chrono::duration<double> grace) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  // Actors stop first (their on_stop runs while the workers still serve).
  // Start() may have refused its options before creating them.
  if (actors_) actors_->StopAll(std::min<std::chrono::duration<double>>(grace, std::chrono::seconds(5)) +
                   std::chrono::seconds(1));
  // Invariant 3: no task can enter a queue once this loop ends.
  accepting_.store(false, std::memory_order_seq_cst);
  while (submitting_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();

  // Let accepted work finish, up to the grace period.
  {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait_for(lock, grace,
                      [this] { return hurry_ || outstanding_.load(std::memory_order_acquire) == 0; });
  }
  // Then cancel what is left: queued tasks never start, running ones are
  // interrupted (and abandoned if they ignore it).
  DrainQueuesCancelled();
  if (outstanding_.load(std::memory_order_acquire) != 0) {
    InterruptRunning(InterruptReason::kShutdown);
    // Interrupted tasks finish, or are abandoned after interrupt_grace.
    std::unique_lock<std::mutex> lock(mu_);
    const auto limit = interrupt_grace() + std::chrono::seconds(1);
    idle_cv_.wait_for(lock, limit, [this] { return outstanding_.load(std::memory_order_acquire) == 0; });
  }

  if (options_.release_named_channels_at_shutdown) ChannelRegistry::Global().Clear();
  // Stop the workers: each destroys its interpreter on its own thread.
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers_stopping_ = true;  // no successor or spare takes a slot now
  }
  std::vector<std::shared_ptr<Worker>> workers;
  for (auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->worker) workers.push_back(slot->worker);
  }
  for (auto& w : workers) w->RequestStop();
  for (auto& w : workers) {
    // A worker whose interpreter will not finalize (a script thread that
    // never ends) is left behind; the runtime then skips finalization.
    w->WaitExited(std::chrono::seconds(10));
  }
  if (watchdog_) watchdog_->Stop();
  // Break the Worker -> PoolImpl reference cycle.
  for (auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    slot->worker.reset();
  }
  std::lock_guard<std::mutex> lock(mu_);
  abandoned_.clear();
}

void PoolImpl::SetLimits(size_t queue_limit, std::chrono::duration<double> interrupt_grace) {
  queue_limit_.store(queue_limit, std::memory_order_relaxed);
  interrupt_grace_.store(interrupt_grace.count(), std::memory_order_relaxed);
}

void PoolImpl::HurryShutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  hurry_ = true;
  idle_cv_.notify_all();
}

PoolStats PoolImpl::Stats() const {
  PoolStats st;
  st.queued = queued_.load(std::memory_order_relaxed);
  st.submitted = submitted_.load(std::memory_order_relaxed);
  st.completed = completed_.load(std::memory_order_relaxed);
  st.timeouts = timeouts_.load(std::memory_order_relaxed);
  st.cancelled = cancelled_.load(std::memory_order_relaxed);
  st.abandoned_workers = abandoned_count_.load(std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& w : abandoned_) {
      if (w->state() != Worker::State::kExited) ++st.stuck_threads;
    }
  }
  for (const auto& slot : slots_) {
    WorkerStats ws;
    ws.id = slot->index;
    ws.tasks_run = slot->tasks_run.load(std::memory_order_relaxed);
    ws.replacements = slot->replacements.load(std::memory_order_relaxed);
    ws.inbox_depth = slot->inbox_depth.load(std::memory_order_relaxed);
    ws.code_cache_hits = slot->cache_hits.load(std::memory_order_relaxed);
    ws.code_cache_misses = slot->cache_misses.load(std::memory_order_relaxed);
    std::shared_ptr<Worker> w;
    {
      std::lock_guard<std::mutex> lock(slot->mu);
      w = slot->worker;
    }
    if (w) {
      static const char* kNames[] = {"starting", "idle", "busy", "stopping", "stopped", "failed"};
      ws.state = kNames[static_cast<int>(w->state())];
      ws.interpreter_id = w->interpreter_id();
      ws.current_task = w->current_task_id();
      ws.cpu_seconds = w->cpu_seconds();
      ws.shared_exports = w->live_exports();
    } else {
      ws.state = "stopped";
    }
    AddResourceStats(*slot, w.get(), &ws);
    StatsListFor(*slot, &st).push_back(std::move(ws));
  }
  AddResourceTotals(&st);
  return st;
}

// ---- WorkerPool -------------------------------------------------------------------------

WorkerPool::WorkerPool(std::shared_ptr<PoolImpl> impl) : impl_(std::move(impl)) {}

Status WorkerPool::Create(Runtime& runtime, const PoolOptions& options, std::unique_ptr<WorkerPool>* out) {
  PoolOptions opts = options;
  if (!opts.dispatcher) opts.dispatcher = std::make_shared<ThreadDispatcher>();
  auto impl = std::make_shared<PoolImpl>(runtime, opts);
  Status s = impl->Start();
  if (!s.ok()) {
    impl->Shutdown(std::chrono::seconds(0));
    return s;
  }
  out->reset(new WorkerPool(std::move(impl)));
  return Status::OK();
}

WorkerPool::~WorkerPool() {
  if (impl_) impl_->Shutdown(std::chrono::seconds(0));
}

TaskFuture WorkerPool::Submit(TaskRequest request) {
  TaskFuture f;
  f.handle_ = TaskHandle(impl_->Submit(std::move(request), nullptr).get());
  return f;
}

TaskHandle WorkerPool::Submit(TaskRequest request, std::function<void(TaskResult)> done) {
  if (!done) done = [](TaskResult) {};
  return TaskHandle(impl_->Submit(std::move(request), std::move(done)).get());
}

bool WorkerPool::Cancel(const TaskHandle& task) { return task.task_ && impl_->Cancel(TaskPtr(task.task_)); }

void WorkerPool::Shutdown(std::chrono::duration<double> grace) { impl_->Shutdown(grace); }

void WorkerPool::HurryShutdown() { impl_->HurryShutdown(); }

void WorkerPool::SetLimits(size_t queue_limit, std::chrono::duration<double> interrupt_grace) {
  impl_->SetLimits(queue_limit, interrupt_grace);
}

int WorkerPool::size() const { return static_cast<int>(impl_->Stats().workers.size()); }

void WorkerPool::SpawnActor(ActorSpec spec, std::function<void(ActorReply)> done) {
  impl_->actors().Spawn(std::move(spec), std::make_shared<CallbackSink>(impl_->options().dispatcher, std::move(done)));
}

void WorkerPool::CallActor(std::string_view name, std::string method, Value args, Value kwargs,
                           std::function<void(ActorReply)> done) {
  std::shared_ptr<ReplySink> sink;
  if (done) sink = std::make_shared<CallbackSink>(impl_->options().dispatcher, std::move(done));
  impl_->actors().Call(name, std::move(method), std::move(args), std::move(kwargs), {}, std::move(sink));
}

bool WorkerPool::HasActor(std::string_view name) const { return impl_->actors().Find(name) != nullptr; }

Status WorkerPool::CheckActorTarget(std::string_view name, std::string_view method) const {
  return impl_->actors().CheckTarget(name, method);
}

void WorkerPool::StopActor(std::string_view name, std::function<void(ActorReply)> done) {
  impl_->actors().Stop(name, std::make_shared<CallbackSink>(impl_->options().dispatcher, std::move(done)));
}

std::vector<ActorInfo> WorkerPool::ListActors() const { return impl_->actors().List(); }

PoolStats WorkerPool::Stats() const { return impl_->Stats(); }

}  // namespace interpd
