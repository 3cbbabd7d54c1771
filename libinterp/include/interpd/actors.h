// Actors: named, supervised Python objects living in worker interpreters.
// The types shared by the runtime's actor system and its callers (the
// daemon's actor.* methods). The operations are on WorkerPool (pool.h).
#ifndef INTERPD_ACTORS_H_
#define INTERPD_ACTORS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "interpd/status.h"
#include "interpd/task.h"
#include "interpd/value.h"

namespace interpd {

enum class RestartPolicy : uint8_t {
  kNever,      // a failed actor stays failed
  kOnFailure,  // restarted (with backoff) when __init__ fails or its worker is lost
};

struct ActorSpec {
  std::string name;
  std::string code;        // source that defines the class (run in a fresh module)
  std::string class_name;  // the class to instantiate
  Value args;              // constructor positional arguments (kList/kTuple or None)
  Value kwargs;            // constructor keyword arguments (kDict or None)
  int worker = -1;         // slot to live on; -1: the least loaded (dedicated actor workers first)
  RestartPolicy restart = RestartPolicy::kNever;
  int max_restarts = 3;    // within restart_window, then the actor is failed
  std::chrono::duration<double> restart_window{60.0};
  // Bytes the actor may add to its interpreter's accounted memory, over its
  // life: what its __init__ and methods grew the interpreter by, net. A
  // method that would pass it gets MemoryError (the actor keeps running).
  // 0: none. Needs memory accounting (docs/resources.md, "Memory limits").
  size_t memory_limit = 0;
};

enum class ActorState : uint8_t { kStarting, kRunning, kRestarting, kFailed, kStopping, kStopped };
std::string_view ActorStateName(ActorState s);

struct ActorInfo {
  std::string name;
  std::string class_name;
  int worker = -1;
  ActorState state = ActorState::kStarting;
  uint64_t messages = 0;  // messages handled
  uint64_t restarts = 0;
  std::optional<PythonError> last_error;  // why it failed / last restart
};

// The answer to a spawn, call or stop.
struct ActorReply {
  // kOk; kNotFound (no such actor); kAlreadyExists (spawn: name taken);
  // kPythonError (see `error`: the method or __init__ raised); kTimeout;
  // kClosed (the actor stopped or failed); kInvalidArgument (bad method
  // name...); kNotShareable (the result cannot leave the interpreter).
  Status status;
  Value value;                        // the method's return value
  std::optional<PythonError> error;   // for kPythonError
  int worker = -1;                    // spawn: where it lives
};

}  // namespace interpd

#endif  // INTERPD_ACTORS_H_
