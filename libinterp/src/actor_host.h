// ActorHost: the worker side of actors. It owns the actor instances living
// in one worker's interpreter and handles their messages.
//
// Scheduling policy (documented in docs/actors.md and tested):
//   - A worker runs its ready actors before it takes its next script, a
//     batch at a time, then takes one script if one waits: actors and
//     scripts interleave, and neither starves the other.
//   - A script (or actor method) blocked in an actor call on this worker
//     runs this worker's ready actors inline while it waits, so a call to an
//     actor that lives on the caller's own worker is answered, not deadlocked.
//   - A long script on an actor's worker delays that actor's messages until
//     the script ends (at most its timeout). Slots dedicated to actors
//     ([actors] dedicated_workers) take no unpinned scripts at all.
//
// Thread safety: used only on its worker's thread, under its interpreter's
// GIL.
//
// Invariants:
//   1. instances_ holds a strong reference to each live actor instance of
//      this interpreter; Close() drops them before the interpreter goes.
//   2. running_ is the chain of actors whose methods are executing on this
//      thread right now, outermost first; it is what a call made from inside
//      a method carries for deadlock detection.
#ifndef INTERPD_ACTOR_HOST_H_
#define INTERPD_ACTOR_HOST_H_

#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "actor_system.h"
#include "interp_context.h"
#include "interpd_module.h"
#include "memory_accounting.h"

namespace interpd {

struct Slot;

class ActorHost {
 public:
  ActorHost(ActorSystem& system, Slot& slot, InterpreterContext& ctx, ModuleState* module,
            std::function<bool()> abandoned);
  ~ActorHost();

  // Handles up to `budget` messages of ready actors. Returns how many.
  int RunReady(int budget);
  // Drops every instance (on_stop is not called: the actors are being
  // stopped or lost with the worker). REQUIRES: GIL.
  void Close();

  const std::vector<uint64_t>& running() const { return running_; }
  // Actor instances living in this interpreter now (a worker hosting any is
  // not recycled: worker_resources.cc).
  size_t live() const { return instances_.size(); }

 private:
  int RunActor(const std::shared_ptr<Actor>& actor, int budget);
  void Handle(const std::shared_ptr<Actor>& actor, ActorMessage& msg);
  // Builds the instance; on failure reports to the supervisor and returns
  // the error.
  bool Construct(const std::shared_ptr<Actor>& actor, PythonError* error);
  void Invoke(const std::shared_ptr<Actor>& actor, ActorMessage& msg);
  void StopActor(const std::shared_ptr<Actor>& actor, ActorMessage& msg);
  PythonError TakeError(const Actor& actor);

  // Charges what the actor's Python code grows the interpreter by to the
  // actor, and holds it to spec.memory_limit (a ScopedMemoryLimit of what
  // is left). Only for actors with a limit. Growth of actors it calls
  // inline on this worker inside the scope is charged to them, not to it.
  class MemoryScope {
   public:
    MemoryScope(ActorHost& host, Actor& actor);
    ~MemoryScope();
    MemoryScope(const MemoryScope&) = delete;
    MemoryScope& operator=(const MemoryScope&) = delete;

   private:
    ActorHost& host_;
    Actor& actor_;
    MemoryAccount* account_ = nullptr;
    int64_t base_ = 0;
    int64_t nested_at_start_ = 0;
    std::optional<ScopedMemoryLimit> limit_;
  };

  ActorSystem& system_;
  Slot& slot_;
  InterpreterContext& ctx_;
  ModuleState* module_;
  std::function<bool()> abandoned_;
  std::unordered_map<uint64_t, PyObject*> instances_;  // invariant 1
  std::vector<uint64_t> running_;                      // invariant 2
  // Growth measured by the MemoryScopes that ended inside the current one.
  int64_t nested_growth_ = 0;
};

}  // namespace interpd

#endif  // INTERPD_ACTOR_HOST_H_
