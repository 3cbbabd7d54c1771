#include "wait_word.h"

#include <pthread.h>
#include <signal.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <limits>
#include <thread>
#include <vector>

using interpd::Deadline;
using interpd::DeadlineAfter;
using interpd::kForever;
using interpd::WaitWord;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// Generous upper bounds: the machine is a shared 2-core VM and these tests
// also run under ThreadSanitizer. They catch "did not wake" and "slept a
// whole extra timeout", not scheduling jitter.
constexpr auto kPrompt = milliseconds(500);
constexpr auto kSlack = milliseconds(300);

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

TEST_CASE("Wait returns at once when the word already differs from expected", "[wait_word]") {
  WaitWord w(5);
  auto t0 = Clock::now();
  CHECK(w.Wait(4, kForever) == WaitWord::WaitResult::kWoken);
  CHECK(Clock::now() - t0 < kPrompt);
  CHECK_FALSE(w.has_waiters());
}

TEST_CASE("Wait times out at its deadline when nobody changes the word", "[wait_word]") {
  WaitWord w(0);
  for (auto timeout : {milliseconds(1), milliseconds(30), milliseconds(80)}) {
    auto t0 = Clock::now();
    CHECK(w.Wait(0, t0 + timeout) == WaitWord::WaitResult::kTimedOut);
    auto elapsed = Clock::now() - t0;
    CAPTURE(Ms(timeout), Ms(elapsed));
    CHECK(elapsed >= timeout);
    CHECK(elapsed < timeout + kSlack);
  }
  CHECK_FALSE(w.has_waiters());
}

TEST_CASE("a deadline in the past times out without sleeping", "[wait_word]") {
  WaitWord w(0);
  auto t0 = Clock::now();
  CHECK(w.Wait(0, t0 - milliseconds(10)) == WaitWord::WaitResult::kTimedOut);
  CHECK(Clock::now() - t0 < kPrompt);
}

TEST_CASE("a store followed by WakeOne wakes a waiting thread promptly", "[wait_word]") {
  WaitWord w(0);
  std::atomic<bool> waiting{false};
  WaitWord::WaitResult result = WaitWord::WaitResult::kTimedOut;
  Clock::duration woke_after{};
  std::thread t([&] {
    waiting.store(true);
    auto t0 = Clock::now();
    result = w.Wait(0, DeadlineAfter(std::chrono::seconds(10)));
    woke_after = Clock::now() - t0;
  });
  while (!waiting.load()) std::this_thread::yield();
  std::this_thread::sleep_for(milliseconds(20));  // let it reach the futex
  w.Store(1);
  w.WakeOne();
  t.join();
  CHECK(result == WaitWord::WaitResult::kWoken);
  CHECK(woke_after < kPrompt + milliseconds(20));
}

TEST_CASE("Advance followed by WakeAll wakes every waiter", "[wait_word]") {
  WaitWord w(7);
  constexpr int kThreads = 4;
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      if (w.Wait(7, DeadlineAfter(std::chrono::seconds(10))) == WaitWord::WaitResult::kWoken) {
        woken.fetch_add(1);
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(30));
  CHECK(w.Advance() == 8);
  w.WakeAll();
  for (auto& t : threads) t.join();
  CHECK(woken.load() == kThreads);
  CHECK_FALSE(w.has_waiters());
}

namespace {
void NoopHandler(int) {}
}  // namespace

TEST_CASE("Wait keeps sleeping through signals (EINTR) until its deadline", "[wait_word]") {
  struct sigaction sa = {};
  struct sigaction old = {};
  sa.sa_handler = NoopHandler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the futex returns EINTR
  REQUIRE(sigaction(SIGUSR1, &sa, &old) == 0);

  WaitWord w(0);
  std::atomic<bool> started{false};
  WaitWord::WaitResult result = WaitWord::WaitResult::kWoken;
  Clock::duration elapsed{};
  const auto timeout = milliseconds(150);
  std::thread t([&] {
    started.store(true);
    auto t0 = Clock::now();
    result = w.Wait(0, t0 + timeout);
    elapsed = Clock::now() - t0;
  });
  while (!started.load()) std::this_thread::yield();
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
    pthread_kill(t.native_handle(), SIGUSR1);
  }
  t.join();
  sigaction(SIGUSR1, &old, nullptr);
  CHECK(result == WaitWord::WaitResult::kTimedOut);
  CHECK(elapsed >= timeout);
  CHECK(elapsed < timeout + kSlack);
}

TEST_CASE("DeadlineAfter saturates huge timeouts to forever and allows the past", "[wait_word]") {
  CHECK(DeadlineAfter(std::chrono::nanoseconds::max()) == kForever);
  CHECK(DeadlineAfter(std::chrono::nanoseconds::max() - std::chrono::nanoseconds(1)) == kForever);
  CHECK(interpd::DeadlineAfterSeconds(1e300) == kForever);
  CHECK(interpd::DeadlineAfterSeconds(std::numeric_limits<double>::infinity()) == kForever);
  auto before = Clock::now();
  Deadline half = interpd::DeadlineAfterSeconds(0.5);
  CHECK(half >= before + milliseconds(500));
  CHECK(half < before + milliseconds(600));
  CHECK(interpd::DeadlineAfterSeconds(-1.0) < Clock::now());
  auto now = Clock::now();
  Deadline d = DeadlineAfter(milliseconds(-5));
  CHECK(d < now);
  Deadline soon = DeadlineAfter(milliseconds(100));
  CHECK(soon > now);
  CHECK(soon < now + std::chrono::seconds(10));
}
