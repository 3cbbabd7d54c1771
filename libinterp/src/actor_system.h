// ActorSystem: the registry, mailboxes, scheduling and supervision of the
// actors of one worker pool.
//
// An actor lives on one worker slot. Its mailbox is a lock-free MPMC queue
// (moodycamel, as channels use); messages are C++ structs because a reply
// may go to a daemon callback or to a blocked interpreter. Posting a message
// marks the actor scheduled and puts it on its slot's ready queue (once),
// then wakes the slot: its worker runs ready actors before its next script,
// and a script blocked in an actor call on that worker runs them inline
// (actor_host.h), so a caller never waits on its own worker.
//
// Deadlocks: every synchronous call carries its chain of actors (the actors
// whose methods are waiting, innermost last). A call to an actor already in
// the chain can never be answered (an actor handles one message at a time),
// so it fails at once with kDeadlock naming the cycle.
//
// Thread safety: every public method from any thread. The registry is
// protected by mu_; actors' counters and state are atomics; mailboxes and
// ready queues are lock-free. Python objects are never touched here.
//
// Invariants:
//   1. Names are unique among actors not yet removed; stop removes a name.
//   2. An actor is on at most one ready queue at a time, and only while its
//      `scheduled` flag is set by whoever put it there; while its messages
//      are being handled the handler owns the flag.
//   3. Messages of one sender thread are handled in the order sent (the
//      mailbox is FIFO per producer thread; one actor runs one at a time).
//   4. Every message with a reply sink gets exactly one reply.
#ifndef INTERPD_ACTOR_SYSTEM_H_
#define INTERPD_ACTOR_SYSTEM_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include "interpd/actors.h"
#include "interpd/pool.h"
#include "wait_word.h"

namespace interpd {

class PoolImpl;

// Where an actor's answer goes.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // Exactly once per message (invariant 4), from the actor's worker thread
  // or from the system (errors).
  virtual void Deliver(ActorReply reply) = 0;
};

// A reply the caller waits for on a WaitWord (an interpreter blocked in
// ActorHandle.call): `word` is the caller slot's call word.
class ReplyBox final : public ReplySink {
 public:
  // `word` must outlive the box (a slot's call word lives with its pool).
  explicit ReplyBox(WaitWord* word) : word_(word) {}
  // The box keeps its word alive (for waiters that may give up first).
  explicit ReplyBox(std::shared_ptr<WaitWord> word) : owned_(std::move(word)), word_(owned_.get()) {}
  void Deliver(ActorReply reply) override;
  bool done() const { return done_.load(std::memory_order_acquire); }
  // REQUIRES: done().
  ActorReply& reply() { return reply_; }

 private:
  const std::shared_ptr<WaitWord> owned_;
  WaitWord* const word_;
  std::atomic<bool> done_{false};
  ActorReply reply_;
};

// A reply handed to a callback through the pool's dispatcher (the daemon).
class CallbackSink final : public ReplySink {
 public:
  CallbackSink(std::shared_ptr<Dispatcher> d, std::function<void(ActorReply)> fn)
      : dispatcher_(std::move(d)), fn_(std::move(fn)) {}
  void Deliver(ActorReply reply) override;

 private:
  std::shared_ptr<Dispatcher> dispatcher_;
  std::function<void(ActorReply)> fn_;
};

struct ActorMessage {
  enum class Kind : uint8_t { kConstruct, kCall, kStop };
  Kind kind = Kind::kCall;
  std::string method;
  Value args;    // kTuple
  Value kwargs;  // kDict or None
  std::vector<uint64_t> chain;        // actor ids waiting synchronously, innermost last
  std::shared_ptr<ReplySink> reply;   // null: send (no answer)
};

class Actor {
 public:
  Actor(uint64_t actor_id, ActorSpec actor_spec, int actor_slot)
      : id(actor_id), spec(std::move(actor_spec)), slot(actor_slot) {}

  // Constant after construction.
  const uint64_t id;
  const ActorSpec spec;
  const int slot;

  moodycamel::ConcurrentQueue<ActorMessage*> mailbox;
  std::atomic<int64_t> queued{0};
  std::atomic<bool> scheduled{false};  // invariant 2
  std::atomic<ActorState> state{ActorState::kStarting};
  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> restarts{0};
  // Net bytes its current instance's __init__ and methods grew its
  // interpreter by, for spec.memory_limit; tracked only with a limit.
  // Written by the hosting worker thread (one at a time), relaxed.
  std::atomic<int64_t> memory_charged{0};

  // Protected by mu.
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> recent_restarts;
  std::optional<PythonError> last_error;

  ~Actor();
};

class ActorSystem {
 public:
  explicit ActorSystem(PoolImpl* pool);
  ~ActorSystem();

  void Start();
  // Stops every actor (on_stop runs), waiting up to `grace`, then the
  // supervisor thread. Later calls fail with kShuttingDown.
  void StopAll(std::chrono::duration<double> grace);

  // The reply to spawn is {worker} once __init__ ran (or its error).
  void Spawn(ActorSpec spec, std::shared_ptr<ReplySink> reply);
  // `reply` null: send, no answer. `chain`: the caller's waiting actors.
  void Call(std::string_view name, std::string method, Value args, Value kwargs, std::vector<uint64_t> chain,
            std::shared_ptr<ReplySink> reply);
  void Stop(std::string_view name, std::shared_ptr<ReplySink> reply);
  std::vector<ActorInfo> List() const;
  // Whether a message for `method` of actor `name` would be handled: OK, or
  // NotFound (no such actor), Closed (failed, stopping, stopped) or
  // InvalidArgument (a private method name). A send has no reply to carry
  // these, so senders check first.
  Status CheckTarget(std::string_view name, std::string_view method) const;
  std::shared_ptr<Actor> Find(std::string_view name) const;
  std::string NameOf(uint64_t id) const;
  size_t size() const;

  // ---- For the worker side (actor_host) ----
  // Puts `actor` on its slot's ready queue unless it is already scheduled.
  void Schedule(const std::shared_ptr<Actor>& actor);
  // __init__ failed or the actor's worker was lost: restart or fail it.
  void OnFailure(const std::shared_ptr<Actor>& actor, PythonError why);
  // The actor handled its stop message: drop its name.
  void OnStopped(const std::shared_ptr<Actor>& actor);
  // A worker was replaced: actors on that slot lost their instances.
  void OnWorkerReplaced(int slot);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

 private:
  void Post(const std::shared_ptr<Actor>& actor, ActorMessage* msg);
  int PickSlot(int requested) const;
  void SupervisorLoop();

  PoolImpl* const pool_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Actor>, std::less<>> by_name_;  // protected by mu_
  std::map<uint64_t, std::string> names_;                               // protected by mu_

  // Restarts waiting for their backoff, by due time (protected by timer_mu_).
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::shared_ptr<Actor>> due_;
  bool timer_stop_ = false;
  std::thread supervisor_;
};

}  // namespace interpd

#endif  // INTERPD_ACTOR_SYSTEM_H_
