#include "event_count.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

using interpd::DeadlineAfter;
using interpd::EventCount;
using interpd::kForever;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST_CASE("NotifyAll with nobody waiting changes nothing and CancelWait uncounts", "[event_count]") {
  EventCount ec;
  ec.NotifyAll();
  CHECK_FALSE(ec.has_waiters());
  uint32_t t = ec.PrepareWait();
  CHECK(ec.has_waiters());
  ec.CancelWait(t);
  CHECK_FALSE(ec.has_waiters());
}

TEST_CASE("CommitWait returns at once when a notify came after PrepareWait", "[event_count]") {
  EventCount ec;
  uint32_t t = ec.PrepareWait();
  ec.NotifyAll();  // the notify uncounts us and moves the epoch
  CHECK_FALSE(ec.has_waiters());
  auto t0 = Clock::now();
  CHECK(ec.CommitWait(t, kForever) == EventCount::WaitResult::kWoken);
  CHECK(Clock::now() - t0 < milliseconds(500));
  CHECK_FALSE(ec.has_waiters());
}

TEST_CASE("CommitWait times out at the deadline and stops counting the waiter", "[event_count]") {
  EventCount ec;
  uint32_t t = ec.PrepareWait();
  auto t0 = Clock::now();
  CHECK(ec.CommitWait(t, t0 + milliseconds(40)) == EventCount::WaitResult::kTimedOut);
  auto elapsed = Clock::now() - t0;
  CHECK(elapsed >= milliseconds(40));
  CHECK(elapsed < milliseconds(40 + 300));
  CHECK_FALSE(ec.has_waiters());
}

TEST_CASE("NotifyAll wakes every sleeping waiter", "[event_count]") {
  EventCount ec;
  std::atomic<bool> flag{false};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      for (;;) {
        if (flag.load()) break;
        uint32_t t = ec.PrepareWait();
        if (flag.load()) {
          ec.CancelWait(t);
          break;
        }
        ec.CommitWait(t, DeadlineAfter(std::chrono::seconds(10)));
      }
      done.fetch_add(1);
    });
  }
  std::this_thread::sleep_for(milliseconds(30));
  flag.store(true);
  ec.NotifyAll();
  for (auto& t : threads) t.join();
  CHECK(done.load() == 3);
  CHECK_FALSE(ec.has_waiters());
}

// A seeded handshake: the producer publishes a counter one step at a time;
// consumers wait (without timeouts that matter) for every value. A lost
// wakeup shows up as a consumer that hits its 10 s safety deadline.
TEST_CASE("no wakeup is lost when a counter is published step by step", "[event_count][stress]") {
  const uint32_t seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : 12345u;
  CAPTURE(seed);
  EventCount ec;
  std::atomic<uint32_t> value{0};
  constexpr uint32_t kSteps = 3000;
  constexpr int kConsumers = 2;
  std::vector<int> timeouts(kConsumers, 0);
  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      for (uint32_t want = 1; want <= kSteps; ++want) {
        for (;;) {
          if (value.load(std::memory_order_seq_cst) >= want) break;
          uint32_t t = ec.PrepareWait();
          if (value.load(std::memory_order_seq_cst) >= want) {
            ec.CancelWait(t);
            break;
          }
          if (ec.CommitWait(t, DeadlineAfter(std::chrono::seconds(10))) ==
              EventCount::WaitResult::kTimedOut) {
            ++timeouts[static_cast<size_t>(c)];
            return;
          }
        }
      }
    });
  }
  std::mt19937 rng(seed);
  for (uint32_t i = 1; i <= kSteps; ++i) {
    value.store(i, std::memory_order_seq_cst);
    ec.NotifyAll();
    if (rng() % 64 == 0) std::this_thread::yield();
  }
  for (auto& t : threads) t.join();
  for (int n : timeouts) CHECK(n == 0);
  CHECK_FALSE(ec.has_waiters());
}
