#include "event_count.h"

#include <bit>
#include <cassert>
#include <cerrno>
#include <climits>

namespace interpd {

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t));

const void* EventCount::epoch_word() const {
  // The futex reads the epoch straight from the object representation of
  // state_: on a little-endian machine the high half is at byte offset 4.
  const char* base = reinterpret_cast<const char*>(&state_);
  return std::endian::native == std::endian::little ? base + 4 : base;
}

uint32_t EventCount::PrepareWait() {
  // seq_cst: the waiter's half of invariant 2; the returned epoch is the one
  // our count belongs to.
  return EpochOf(state_.fetch_add(1, std::memory_order_seq_cst));
}

bool EventCount::Uncount(uint32_t ticket) {
  uint64_t s = state_.load(std::memory_order_relaxed);
  while (EpochOf(s) == ticket) {
    assert((s & kWaitersMask) != 0 && "a counted waiter is missing from the count");
    // Relaxed: leaving orders nothing; at worst a waker sees us a moment
    // longer and bumps the epoch for nobody.
    if (state_.compare_exchange_weak(s, s - 1, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

void EventCount::CancelWait(uint32_t ticket) { Uncount(ticket); }

EventCount::WaitResult EventCount::CommitWait(uint32_t ticket, Deadline deadline) {
  for (;;) {
    if (EpochOf(state_.load(std::memory_order_seq_cst)) != ticket) return WaitResult::kWoken;
    if (deadline != kForever && std::chrono::steady_clock::now() >= deadline) {
      return Uncount(ticket) ? WaitResult::kTimedOut : WaitResult::kWoken;
    }
    int err = futex::WaitUntil(epoch_word(), ticket, deadline);
    if (err == ETIMEDOUT) {
      // A notify may have raced with the timeout; it wins (and uncounted us).
      return Uncount(ticket) ? WaitResult::kTimedOut : WaitResult::kWoken;
    }
    // 0 (woken or spurious), EAGAIN, EINTR: look at the epoch again.
  }
}

void EventCount::NotifyAll() {
  uint64_t s = state_.load(std::memory_order_seq_cst);
  for (;;) {
    if ((s & kWaitersMask) == 0) return;
    uint64_t next = static_cast<uint64_t>(EpochOf(s) + 1u) << 32;  // count 0
    if (state_.compare_exchange_weak(s, next, std::memory_order_seq_cst,
                                     std::memory_order_seq_cst)) {
      break;
    }
  }
  futex::Wake(epoch_word(), INT_MAX);
}

}  // namespace interpd
