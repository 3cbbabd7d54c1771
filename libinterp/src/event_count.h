// EventCount: lets threads sleep until a condition kept elsewhere (a
// channel's counters, its queue) may have changed, with a deadline, and lets
// the threads that change it skip all work when nobody sleeps.
//
//   waiter:                                  waker:
//     for (;;) {                               change the condition (seq_cst RMW,
//       if (condition) break;                    or a store then a seq_cst fence)
//       uint32_t t = ec.PrepareWait();         ec.NotifyAll();
//       if (condition) { ec.CancelWait(t); break; }
//       ec.CommitWait(t, deadline);
//     }
//
// Why not WaitWord plus a separate waiter count: a woken thread stays counted
// until the scheduler runs it (tens of microseconds on a loaded machine), so
// every change made meanwhile paid a futile FUTEX_WAKE syscall, which slowed
// the waker, which let the queue run dry again: a measured 1.9 million
// syscalls for 3 million channel messages. Here the epoch (the futex word)
// and the waiter count share one 64-bit atomic, and NotifyAll() bumps the
// epoch *and* zeroes the count in one CAS: a notified thread is no longer
// counted, so the next change costs one load again. The price: every sleeper
// wakes on every notify (no wake-one), which is cheap for the few waiters a
// channel has per side (at most one per worker thread).
//
// Thread safety: every method from any thread.
//
// Invariants:
//   1. state_ = epoch << 32 | waiters. waiters counts the threads that
//      called PrepareWait(t) with t == the current epoch and have not yet
//      left (CancelWait/CommitWait). NotifyAll() is the only writer of the
//      epoch; it sets waiters to 0 in the same step.
//   2. A waiter is counted before its last check of the condition; a waker
//      reads state_ after its change (both seq_cst). So either the waiter
//      sees the change, or the waker sees the waiter and bumps the epoch,
//      which the kernel compares before queueing the thread (no lost wakeup).
//   3. A waiter leaving on its own (CancelWait, timeout) uncounts itself only
//      if the epoch is still its ticket; otherwise a NotifyAll already did.
//   4. The futex word is the high half of state_. Epochs wrap modulo 2^32; a
//      waiter is confused only if exactly 2^32 notifies happen between its
//      PrepareWait and the kernel's comparison.
#ifndef INTERPD_EVENT_COUNT_H_
#define INTERPD_EVENT_COUNT_H_

#include <atomic>
#include <cstdint>

#include "wait_word.h"

namespace interpd {

class EventCount {
 public:
  using WaitResult = WaitWord::WaitResult;

  EventCount() = default;
  EventCount(const EventCount&) = delete;
  EventCount& operator=(const EventCount&) = delete;

  // Counts the caller as a waiter; returns the ticket (the current epoch).
  // REQUIRES: followed on the same thread by exactly one CancelWait(ticket)
  // or CommitWait(ticket, ...).
  uint32_t PrepareWait();

  // The condition became true (or the caller gives up): stop waiting.
  void CancelWait(uint32_t ticket);

  // Sleeps until a NotifyAll() after PrepareWait() (kWoken) or the deadline
  // (kTimedOut). EINTR and spurious wakeups are absorbed. The caller is no
  // longer counted when it returns. Callers re-check their condition after
  // either result.
  WaitResult CommitWait(uint32_t ticket, Deadline deadline);

  // Wakes every counted waiter; one load and nothing else when there is
  // none. REQUIRES: the caller changed the condition first, ordered before
  // this call by a seq_cst RMW or fence (invariant 2).
  void NotifyAll();

  // seq_cst: the waker's half of the handshake of invariant 2.
  bool has_waiters() const {
    return (state_.load(std::memory_order_seq_cst) & kWaitersMask) != 0;
  }

 private:
  static constexpr uint64_t kWaitersMask = 0xffffffffu;
  static uint32_t EpochOf(uint64_t s) { return static_cast<uint32_t>(s >> 32); }

  // Uncounts the caller if the epoch is still `ticket` (invariant 3).
  // Returns whether it did.
  bool Uncount(uint32_t ticket);

  // The 32-bit half of state_ that holds the epoch, for the futex.
  const void* epoch_word() const;

  // Lock-free; on its own cache line (read on every channel operation,
  // written only by waiters and notifiers).
  alignas(64) std::atomic<uint64_t> state_{0};
};

}  // namespace interpd

#endif  // INTERPD_EVENT_COUNT_H_
