// Interrupt: lets a watchdog thread cancel a blocking channel operation
// (ChannelCore::Send/Recv) promptly, without knowing which channel the
// blocked thread waits on.
//
// Why it exists: a task blocked in a channel has released its GIL and sleeps
// in a futex; an asynchronous Python exception (PyThreadState_SetAsyncExc)
// is only checked when the thread runs bytecode again, so it cannot reach
// that thread. The runtime gives each task an Interrupt, passes it to every
// blocking channel call, and Fire()s it when the task must stop. The call
// then returns Status::kCancelled.
//
// How the wake reaches the waiter (and why it cannot be lost):
//   A blocked operation sleeps on one of the channel's EventCounts. Before
//   it sleeps it registers that EventCount here (Attach, under mu_), then
//   counts itself as a waiter (PrepareWait), then checks fired(). Fire()
//   sets fired_ first and then, under mu_, NotifyAll()s the registered
//   EventCount. Two cases:
//     - Fire's critical section comes before Attach's: fired_ was set before
//       it, so the waiter's later check of fired() sees it and never sleeps.
//     - it comes after: Fire sees the EventCount. The waiter counted itself
//       before its check of fired() found it false, so (seq_cst order) before
//       the fired_ store, before Fire's NotifyAll reads the count: the notify
//       sees the waiter (or a notify in between already woke it) and bumps
//       the epoch the waiter sleeps on. That is the EventCount handshake
//       with "fired" as the condition.
//   Notifying a channel's EventCount wakes the other waiters of that
//   channel too; they re-check their condition and sleep again. Interrupts
//   are rare, so that cost is irrelevant.
//   The alternative designs were worse: sleeping on a word owned by the
//   Interrupt would need channels to keep lists of parked threads (a lock on
//   the hot path), and futex_waitv (Linux 5.16+) would tie us to newer
//   kernels for one rare event.
//
// Lifetime: Detach() takes mu_, so once it returns Fire() no longer touches
// the EventCount; the channel only has to outlive the blocking call, which its
// caller guarantees by holding a reference.
//
// Thread safety: Fire(), fired() from any thread at any time. Attach/Detach
// are called by the channel for the one thread that uses the Interrupt in a
// blocking call.
//
// Invariants:
//   1. fired_ goes false -> true once (until Reset()).
//   2. ec_ is non-null only between Attach() and Detach() of a blocking
//      call; at most one call at a time uses an Interrupt.
#ifndef INTERPD_INTERRUPT_H_
#define INTERPD_INTERRUPT_H_

#include <atomic>
#include <mutex>

#include "event_count.h"

namespace interpd {

class Interrupt {
 public:
  Interrupt() = default;
  Interrupt(const Interrupt&) = delete;
  Interrupt& operator=(const Interrupt&) = delete;

  // Makes the current and every later blocking call that is given this
  // Interrupt return kCancelled promptly. Idempotent.
  void Fire();

  // seq_cst: the waiter's check must be ordered after its PrepareWait(), and
  // Fire()'s store before its NotifyAll() (see the header comment).
  bool fired() const { return fired_.load(std::memory_order_seq_cst); }

  // Re-arms the Interrupt for reuse by the next task.
  // REQUIRES: no blocking call is using it.
  void Reset() { fired_.store(false, std::memory_order_seq_cst); }

  // ---- For blocking operations (ChannelCore) ----
  // REQUIRES: ec outlives the matching Detach(); calls are paired, not
  // nested, and made by one thread at a time.
  void Attach(EventCount* ec);
  void Detach();

 private:
  std::atomic<bool> fired_{false};

  std::mutex mu_;
  // Protected by mu_: what the current blocking call sleeps on.
  EventCount* ec_ = nullptr;
};

}  // namespace interpd

#endif  // INTERPD_INTERRUPT_H_
