// InterpreterContext: the C++ state of one worker interpreter that Python
// code reaches through the `interpd` module (its module state points here).
//
// Thread safety: owned by one Worker; every field is used only under that
// worker interpreter's GIL, except where noted.
//
// Invariants:
//   1. A context outlives every module object that points to it: the worker
//      destroys its interpreter (and so the module) before the context.
//   2. Interpreters not run by a worker (the main interpreter) have no
//      context; `interpd` functions there raise RuntimeError.
#ifndef INTERPD_INTERP_CONTEXT_H_
#define INTERPD_INTERP_CONTEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include <memory>

#include "interrupt.h"
#include "output_capture.h"
#include "share.h"

namespace interpd {

class ActorHost;
class ActorSystem;
struct Slot;

struct InterpreterContext {
  // Constant after the worker starts.
  int worker_id = -1;
  int64_t interpreter_id = -1;

  // The worker thread's ident (for clearing its pending async exception).
  unsigned long thread_ident = 0;

  // The task running now (nullptr between tasks).
  Task* task = nullptr;

  // The owner side of this interpreter's zero-copy exports (share.h).
  std::shared_ptr<ShareOwner> share_owner;

  // Fired by the watchdog's interrupter (with the GIL of this interpreter)
  // to wake the current task out of a blocking channel call, where its GIL
  // is released and an async exception cannot reach it. Reset per task.
  // Fire() is safe from any thread.
  Interrupt interrupt;

  // The pool's actors, this worker's slot and its actor host (actor_host.h).
  ActorSystem* actor_system = nullptr;
  Slot* slot = nullptr;
  ActorHost* actor_host = nullptr;

  // The current task's captured output and standard input.
  OutputCapture output;
  std::string stdin_text;
  size_t stdin_pos = 0;

  // The binding that the `interpd` module's exec function picks up: set on
  // the worker thread around the first import of the module.
  static InterpreterContext*& ForImport() {
    static thread_local InterpreterContext* ctx = nullptr;
    return ctx;
  }
};

}  // namespace interpd

#endif  // INTERPD_INTERP_CONTEXT_H_
