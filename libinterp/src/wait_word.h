// WaitWord: a 32-bit atomic word that threads can sleep on with an absolute
// deadline, built directly on the Linux futex.
//
// Why not std::atomic<T>::wait: it has no timeout (C++20), and neither has
// Boost.Atomic 1.81. Channel send/recv need "block until X or until the
// deadline", so we talk to the futex ourselves: FUTEX_WAIT_BITSET with an
// absolute CLOCK_MONOTONIC deadline (std::chrono::steady_clock is
// CLOCK_MONOTONIC on Linux, so a Deadline converts without reading a clock),
// and FUTEX_WAKE.
//
// Do not call std::atomic::notify_* / wait on the word behind a WaitWord:
// libstdc++ keeps its own waiter table for those and would not see ours.
//
// Usage: change the word (Store/Advance), then WakeOne/WakeAll.
// Wait(expected, deadline) returns once the word no longer holds `expected`.
// Channels do not use WaitWord directly: they sleep on an EventCount
// (event_count.h), which needs the waiter count and the word updated in one
// atomic step; both share the futex calls declared at the bottom.
//
// Thread safety: every method may be called from any thread concurrently.
//
// Invariants:
//   1. waiters_ counts the threads inside Wait(). It is incremented before
//      the waiter reads word_ for the last time before sleeping, and the
//      kernel compares word_ again before it queues the thread.
//   2. A waker that changes the word with a seq_cst store/RMW and then reads
//      waiters_ == 0 knows that every waiter will see the change before it
//      sleeps (store then load on both sides, all seq_cst: the Dekker
//      handshake). Hence wakes skip the syscall safely.
//   3. Wait() returns kWoken only once word_ != expected was observed; a
//      futex return with the word unchanged (spurious wake, EINTR) puts the
//      thread back to sleep, so a wake without a change of the word is lost
//      by design (WakeOne/WakeAll REQUIRE a change first).
#ifndef INTERPD_WAIT_WORD_H_
#define INTERPD_WAIT_WORD_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace interpd {

// One CPU "pause": tells the core we spin (saves power, yields to the
// sibling hyperthread, avoids a memory-order machine clear on exit).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// An absolute point on the monotonic clock; Deadline::max() means "forever".
using Deadline = std::chrono::steady_clock::time_point;

inline constexpr Deadline kForever = Deadline::max();

// now + d, saturating at kForever (so a huge Python timeout cannot overflow).
// A negative d yields a deadline in the past (the operation does not block).
Deadline DeadlineAfter(std::chrono::nanoseconds d);
// The same for a timeout in seconds as Python gives it (float). +inf and
// anything beyond ~292 years yield kForever. REQUIRES: !isnan(seconds).
Deadline DeadlineAfterSeconds(double seconds);

class WaitWord {
 public:
  enum class WaitResult { kWoken, kTimedOut };

  explicit WaitWord(uint32_t initial = 0) : word_(initial) {}
  WaitWord(const WaitWord&) = delete;
  WaitWord& operator=(const WaitWord&) = delete;

  // ---- The word ----

  // seq_cst: a waiter's last read of the word must be ordered after its
  // increment of waiters_ (invariant 2); readers outside a wait use it too
  // because the cost on x86 is that of a plain load.
  uint32_t Load() const { return word_.load(std::memory_order_seq_cst); }
  // seq_cst for the same handshake, seen from the waker's side.
  void Store(uint32_t v) { word_.store(v, std::memory_order_seq_cst); }
  // Adds one (modulo 2^32) and returns the new value.
  uint32_t Advance() { return word_.fetch_add(1, std::memory_order_seq_cst) + 1; }

  // ---- Waiting ----

  // Blocks until the word != expected (kWoken) or `deadline` passes
  // (kTimedOut). Returns kWoken at once if the word already differs.
  // Absorbs EINTR and spurious wakeups (invariant 3). Never polls.
  WaitResult Wait(uint32_t expected, Deadline deadline);

  // Polls for up to `spin` (never past `deadline`), yielding the CPU between
  // polls so a thread that must run on this CPU to change the word can;
  // true once the word != expected. For answers usually only microseconds
  // away, where a futex sleep and wake-up would cost more than the wait.
  bool SpinUntilChanged(uint32_t expected, std::chrono::nanoseconds spin, Deadline deadline) const;

  // ---- Waking ----

  // Wake one / every thread sleeping on the word; no syscall when nobody is
  // counted as a waiter. REQUIRES: the word was changed before the call, or
  // the wake may be absorbed (invariant 3).
  void WakeOne();
  void WakeAll();

  // seq_cst: this load is the waker's half of the Dekker handshake
  // (invariant 2); it must not be reordered before the waker's change.
  bool has_waiters() const { return waiters_.load(std::memory_order_seq_cst) != 0; }

 private:
  // The futex word. Its own cache line: wakers write it, waiters read it.
  alignas(64) std::atomic<uint32_t> word_;
  // Threads inside Wait() (invariant 1).
  std::atomic<uint32_t> waiters_{0};
};

// ---- The two futex calls (private futexes: one process) ----
namespace futex {

// Sleeps while *word == expected, until woken or `deadline` (absolute,
// CLOCK_MONOTONIC; kForever = no timeout). Returns 0 when woken (possibly
// spuriously), else the errno: EAGAIN (*word != expected on entry),
// ETIMEDOUT, EINTR. REQUIRES: word is 4-byte aligned.
int WaitUntil(const void* word, uint32_t expected, Deadline deadline);
// Wakes up to `count` threads sleeping on word. Returns how many it woke.
int Wake(const void* word, int count);

}  // namespace futex

}  // namespace interpd

#endif  // INTERPD_WAIT_WORD_H_
