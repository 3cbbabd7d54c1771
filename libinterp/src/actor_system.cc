#include "actor_system.h"

#include <algorithm>
#include <cmath>

#include "memory_accounting.h"
#include "pool_impl.h"

namespace interpd {

std::string_view ActorStateName(ActorState s) {
  switch (s) {
    case ActorState::kStarting: return "starting";
    case ActorState::kRunning: return "running";
    case ActorState::kRestarting: return "restarting";
    case ActorState::kFailed: return "failed";
    case ActorState::kStopping: return "stopping";
    case ActorState::kStopped: return "stopped";
  }
  return "?";
}

// ---- Reply sinks ---------------------------------------------------------------

void ReplyBox::Deliver(ActorReply reply) {
  reply_ = std::move(reply);
  done_.store(true, std::memory_order_release);
  word_->Advance();
  word_->WakeAll();
}

void CallbackSink::Deliver(ActorReply reply) {
  dispatcher_->Post([fn = std::move(fn_), r = std::move(reply)]() mutable { fn(std::move(r)); });
}

namespace {

ActorReply Fail(Status s) {
  ActorReply r;
  r.status = std::move(s);
  return r;
}

void Answer(const std::shared_ptr<ReplySink>& sink, ActorReply r) {
  if (sink) sink->Deliver(std::move(r));
}

}  // namespace

Actor::~Actor() {
  // Messages never handled (the pool is gone): still answered (invariant 4).
  ActorMessage* m = nullptr;
  while (mailbox.try_dequeue(m)) {
    Answer(m->reply, Fail(Status::Closed("actor \"" + spec.name + "\" is gone")));
    delete m;
  }
}

// ---- ActorSystem -------------------------------------------------------------------

ActorSystem::ActorSystem(PoolImpl* pool) : pool_(pool) {}

ActorSystem::~ActorSystem() {
  {
    std::lock_guard<std::mutex> lock(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
}

void ActorSystem::Start() {
  supervisor_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "interpd-actors");
    SupervisorLoop();
  });
}

int ActorSystem::PickSlot(int requested) const {
  if (requested >= 0) return requested;
  // Least loaded by hosted actors, dedicated actor slots first.
  int best = 0;
  std::pair<int, int> best_key{2, INT32_MAX};
  for (int i = 0; i < pool_->actor_slot_count(); ++i) {
    const Slot& s = pool_->slot(i);
    std::pair<int, int> key{s.dedicated_to_actors ? 0 : 1, s.actors_hosted.load(std::memory_order_relaxed)};
    if (key < best_key) {
      best_key = key;
      best = i;
    }
  }
  return best;
}

void ActorSystem::Schedule(const std::shared_ptr<Actor>& actor) {
  if (actor->scheduled.exchange(true, std::memory_order_acq_rel)) return;  // invariant 2
  Slot& slot = pool_->slot(actor->slot);
  slot.ready.enqueue(actor);
  slot.ready_count.fetch_add(1, std::memory_order_release);
  slot.WakeForActorWork();
}

void ActorSystem::Post(const std::shared_ptr<Actor>& actor, ActorMessage* msg) {
  actor->mailbox.enqueue(msg);
  actor->queued.fetch_add(1, std::memory_order_release);
  Schedule(actor);
}

void ActorSystem::Spawn(ActorSpec spec, std::shared_ptr<ReplySink> reply) {
  if (stopping()) return Answer(reply, Fail(Status::ShuttingDown("the worker pool is shutting down")));
  if (spec.name.empty() || spec.name.size() > 256) {
    return Answer(reply, Fail(Status::InvalidArgument("actor names are 1 to 256 characters")));
  }
  if (spec.memory_limit != 0 && !MemoryAccounting::installed()) {
    return Answer(reply, Fail(Status::InvalidArgument(
                             "memory_limit needs memory accounting, which this runtime was started without")));
  }
  if (spec.worker >= pool_->actor_slot_count()) {
    return Answer(reply, Fail(Status::InvalidArgument("no worker " + std::to_string(spec.worker) + " (workers are 0.." +
                                                      std::to_string(pool_->actor_slot_count() - 1) + ")")));
  }
  std::shared_ptr<Actor> actor;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (by_name_.count(spec.name)) {
      return Answer(reply, Fail(Status::AlreadyExists("an actor named \"" + spec.name + "\" already exists")));
    }
    const int slot = PickSlot(spec.worker);
    const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
    actor = std::make_shared<Actor>(id, std::move(spec), slot);
    by_name_.emplace(actor->spec.name, actor);
    names_.emplace(id, actor->spec.name);
    pool_->slot(slot).actors_hosted.fetch_add(1, std::memory_order_relaxed);
  }
  auto* msg = new ActorMessage;
  msg->kind = ActorMessage::Kind::kConstruct;
  msg->reply = std::move(reply);
  Post(actor, msg);
}

Status ActorSystem::CheckTarget(std::string_view name, std::string_view method) const {
  std::shared_ptr<Actor> actor = Find(name);
  if (!actor) return Status::NotFound("no actor named \"" + std::string(name) + "\"");
  const ActorState st = actor->state.load(std::memory_order_acquire);
  if (st == ActorState::kFailed || st == ActorState::kStopping || st == ActorState::kStopped) {
    std::string why = "actor \"" + std::string(name) + "\" is " + std::string(ActorStateName(st));
    std::lock_guard<std::mutex> lock(actor->mu);
    if (st == ActorState::kFailed && actor->last_error) {
      why += ": " + actor->last_error->type + ": " + actor->last_error->message;
    }
    return Status::Closed(why);
  }
  if (method.empty() || method[0] == '_') {
    return Status::InvalidArgument("method \"" + std::string(method) +
                                   "\" cannot be called: names starting with '_' are private");
  }
  return Status::OK();
}

void ActorSystem::Call(std::string_view name, std::string method, Value args, Value kwargs,
                       std::vector<uint64_t> chain, std::shared_ptr<ReplySink> reply) {
  if (Status s = CheckTarget(name, method); !s.ok()) return Answer(reply, Fail(std::move(s)));
  std::shared_ptr<Actor> actor = Find(name);
  if (!actor) return Answer(reply, Fail(Status::NotFound("no actor named \"" + std::string(name) + "\"")));
  if (reply && std::find(chain.begin(), chain.end(), actor->id) != chain.end()) {
    // It is waiting (directly or through others) for this very call.
    std::string cycle;
    auto it = std::find(chain.begin(), chain.end(), actor->id);
    for (; it != chain.end(); ++it) cycle += NameOf(*it) + " -> ";
    cycle += std::string(name);
    return Answer(reply, Fail(Status::Deadlock("deadlock: actor \"" + std::string(name) +
                                               "\" is waiting in this call chain (" + cycle +
                                               "); a synchronous call here could never be answered "
                                               "(use send(), or restructure the calls)")));
  }
  auto* msg = new ActorMessage;
  msg->kind = ActorMessage::Kind::kCall;
  msg->method = std::move(method);
  msg->args = std::move(args);
  msg->kwargs = std::move(kwargs);
  msg->chain = std::move(chain);
  msg->reply = std::move(reply);
  Post(actor, msg);
}

void ActorSystem::Stop(std::string_view name, std::shared_ptr<ReplySink> reply) {
  std::shared_ptr<Actor> actor = Find(name);
  if (!actor) return Answer(reply, Fail(Status::NotFound("no actor named \"" + std::string(name) + "\"")));
  ActorState st = actor->state.load(std::memory_order_acquire);
  if (st == ActorState::kStopping || st == ActorState::kStopped) {
    return Answer(reply, Fail(Status::Closed("actor \"" + std::string(name) + "\" is already stopping")));
  }
  actor->state.store(ActorState::kStopping, std::memory_order_release);
  auto* msg = new ActorMessage;
  msg->kind = ActorMessage::Kind::kStop;
  msg->reply = std::move(reply);
  Post(actor, msg);
}

void ActorSystem::OnStopped(const std::shared_ptr<Actor>& actor) {
  actor->state.store(ActorState::kStopped, std::memory_order_release);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(actor->spec.name);
  if (it != by_name_.end() && it->second == actor) {
    by_name_.erase(it);
    pool_->slot(actor->slot).actors_hosted.fetch_sub(1, std::memory_order_relaxed);
  }
}

std::shared_ptr<Actor> ActorSystem::Find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::string ActorSystem::NameOf(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_.find(id);
  return it == names_.end() ? "#" + std::to_string(id) : it->second;
}

size_t ActorSystem::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_name_.size();
}

std::vector<ActorInfo> ActorSystem::List() const {
  std::vector<std::shared_ptr<Actor>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [n, a] : by_name_) all.push_back(a);
  }
  std::vector<ActorInfo> out;
  for (const auto& a : all) {
    ActorInfo info;
    info.name = a->spec.name;
    info.class_name = a->spec.class_name;
    info.worker = a->slot;
    info.state = a->state.load(std::memory_order_acquire);
    info.messages = a->messages.load(std::memory_order_relaxed);
    info.restarts = a->restarts.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(a->mu);
    info.last_error = a->last_error;
    out.push_back(std::move(info));
  }
  return out;
}

void ActorSystem::OnFailure(const std::shared_ptr<Actor>& actor, PythonError why) {
  const auto now = std::chrono::steady_clock::now();
  bool restart = false;
  std::chrono::duration<double> delay{0};
  {
    std::lock_guard<std::mutex> lock(actor->mu);
    actor->last_error = why;
    if (actor->spec.restart == RestartPolicy::kOnFailure && !stopping() &&
        actor->state.load(std::memory_order_acquire) != ActorState::kStopping) {
      auto& recent = actor->recent_restarts;
      const auto window = std::chrono::duration_cast<std::chrono::steady_clock::duration>(actor->spec.restart_window);
      recent.erase(std::remove_if(recent.begin(), recent.end(), [&](auto t) { return now - t > window; }),
                   recent.end());
      if (static_cast<int>(recent.size()) < actor->spec.max_restarts) {
        // Exponential backoff: 0.1 s, 0.2 s, 0.4 s ... at most 5 s.
        delay = std::chrono::duration<double>(std::min(5.0, 0.1 * std::pow(2.0, static_cast<double>(recent.size()))));
        recent.push_back(now);
        restart = true;
      }
    }
  }
  if (!restart) {
    actor->state.store(ActorState::kFailed, std::memory_order_release);
    return;
  }
  actor->state.store(ActorState::kRestarting, std::memory_order_release);
  actor->restarts.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(timer_mu_);
    due_.emplace(now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay), actor);
  }
  timer_cv_.notify_all();
}

void ActorSystem::OnWorkerReplaced(int slot) {
  std::vector<std::shared_ptr<Actor>> hosted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [n, a] : by_name_) {
      if (a->slot == slot) hosted.push_back(a);
    }
  }
  for (const auto& a : hosted) {
    // The old worker owned the scheduled flag (invariant 2); it is gone.
    a->scheduled.store(false, std::memory_order_release);
    const ActorState st = a->state.load(std::memory_order_acquire);
    if (st == ActorState::kRunning || st == ActorState::kStarting) {
      OnFailure(a, PythonError{"interpd.WorkerLost",
                               "the actor's worker was abandoned (a task there ignored its timeout) and replaced", ""});
    }
    if (a->queued.load(std::memory_order_acquire) > 0) Schedule(a);
  }
}

void ActorSystem::SupervisorLoop() {
  std::unique_lock<std::mutex> lock(timer_mu_);
  while (!timer_stop_) {
    if (due_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    // A copy: the node may be erased while the wait has the lock released.
    const auto when = first->first;
    if (std::chrono::steady_clock::now() < when) {
      timer_cv_.wait_until(lock, when);
      continue;
    }
    std::shared_ptr<Actor> actor = first->second;
    due_.erase(first);
    lock.unlock();
    if (actor->state.load(std::memory_order_acquire) == ActorState::kRestarting && !stopping()) {
      auto* msg = new ActorMessage;
      msg->kind = ActorMessage::Kind::kConstruct;
      Post(actor, msg);
    }
    lock.lock();
  }
}

void ActorSystem::StopAll(std::chrono::duration<double> grace) {
  stopping_.store(true, std::memory_order_release);
  std::vector<std::shared_ptr<Actor>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [n, a] : by_name_) all.push_back(a);
  }
  // Ask each to stop (on_stop runs after its current message), then wait.
  // Shared with the boxes: a reply may come after this gives up waiting.
  auto done = std::make_shared<WaitWord>();
  std::vector<std::shared_ptr<ReplyBox>> boxes;
  for (const auto& a : all) {
    auto box = std::make_shared<ReplyBox>(done);
    boxes.push_back(box);
    ActorState st = a->state.load(std::memory_order_acquire);
    if (st == ActorState::kFailed || st == ActorState::kStopped || st == ActorState::kStopping) {
      OnStopped(a);
      box->Deliver(ActorReply{});
      continue;
    }
    a->state.store(ActorState::kStopping, std::memory_order_release);
    auto* msg = new ActorMessage;
    msg->kind = ActorMessage::Kind::kStop;
    msg->reply = box;
    Post(a, msg);
  }
  const Deadline until = DeadlineAfterSeconds(grace.count());
  for (;;) {
    const uint32_t epoch = done->Load();
    if (std::all_of(boxes.begin(), boxes.end(), [](const auto& b) { return b->done(); })) break;
    if (done->Wait(epoch, until) == WaitWord::WaitResult::kTimedOut) break;
  }
  {
    std::lock_guard<std::mutex> lock(timer_mu_);
    timer_stop_ = true;
    due_.clear();
  }
  timer_cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
}

}  // namespace interpd
