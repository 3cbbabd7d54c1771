#include "wait_word.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>
#include <thread>

namespace interpd {

namespace {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t),
              "the futex reads the atomic's object representation");
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// libstdc++ implements steady_clock with clock_gettime(CLOCK_MONOTONIC), so a
// steady_clock time_point *is* the absolute CLOCK_MONOTONIC time that
// FUTEX_WAIT_BITSET expects (without FUTEX_CLOCK_REALTIME).
timespec ToTimespec(Deadline deadline) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  if (ns < 0) ns = 0;
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return ts;
}

}  // namespace

namespace futex {

int WaitUntil(const void* word, uint32_t expected, Deadline deadline) {
  timespec ts;
  const timespec* tsp = nullptr;
  if (deadline != kForever) {
    ts = ToTimespec(deadline);
    tsp = &ts;
  }
  long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp,
                    nullptr, FUTEX_BITSET_MATCH_ANY);
  return rc == 0 ? 0 : errno;
}

int Wake(const void* word, int count) {
  long rc = syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, nullptr, nullptr, 0);
  return rc < 0 ? 0 : static_cast<int>(rc);
}

}  // namespace futex

Deadline DeadlineAfter(std::chrono::nanoseconds d) {
  Deadline now = std::chrono::steady_clock::now();
  if (d > std::chrono::nanoseconds::zero() && d >= kForever - now) return kForever;
  return now + d;
}

Deadline DeadlineAfterSeconds(double seconds) {
  // 9.2e9 s is std::chrono::nanoseconds' range: saturate before converting.
  if (seconds >= 9.0e9) return kForever;
  if (seconds <= -9.0e9) seconds = -9.0e9;
  return DeadlineAfter(std::chrono::nanoseconds(static_cast<int64_t>(seconds * 1e9)));
}

WaitWord::WaitResult WaitWord::Wait(uint32_t expected, Deadline deadline) {
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  WaitResult result = WaitResult::kWoken;
  for (;;) {
    // seq_cst load after our seq_cst increment of waiters_ (invariant 2).
    // The kernel compares again under its own lock.
    if (word_.load(std::memory_order_seq_cst) != expected) break;
    if (deadline != kForever && std::chrono::steady_clock::now() >= deadline) {
      result = WaitResult::kTimedOut;
      break;
    }
    int err = futex::WaitUntil(&word_, expected, deadline);
    if (err == ETIMEDOUT) {
      // The word may have changed just as the deadline passed: report the
      // change, the more useful answer.
      if (word_.load(std::memory_order_seq_cst) == expected) result = WaitResult::kTimedOut;
      break;
    }
    // 0 (woken, perhaps spuriously), EAGAIN (already changed), EINTR (a
    // signal): re-check the word; the absolute deadline needs no adjusting.
  }
  // Relaxed: a waker that still sees us counted pays one needless syscall.
  waiters_.fetch_sub(1, std::memory_order_relaxed);
  return result;
}

bool WaitWord::SpinUntilChanged(uint32_t expected, std::chrono::nanoseconds spin, Deadline deadline) const {
  if (spin.count() <= 0) return word_.load(std::memory_order_acquire) != expected;
  const auto now = std::chrono::steady_clock::now();
  const Deadline until = deadline - now <= spin ? deadline : now + spin;
  do {
    for (int k = 0; k < 32; ++k) {
      if (word_.load(std::memory_order_acquire) != expected) return true;
      CpuRelax();
    }
    std::this_thread::yield();
  } while (std::chrono::steady_clock::now() < until);
  return word_.load(std::memory_order_acquire) != expected;
}

void WaitWord::WakeOne() {
  if (has_waiters()) futex::Wake(&word_, 1);
}

void WaitWord::WakeAll() {
  if (has_waiters()) futex::Wake(&word_, INT_MAX);
}

}  // namespace interpd
