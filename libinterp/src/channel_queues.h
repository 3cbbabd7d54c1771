// The two candidate library queues behind BasicChannel, behind one tiny
// interface so the benchmark (bench/channel_queue_bench.cc) can run the same
// channel logic on both. ChannelCore uses MoodycamelQueue; see
// docs/channels.md for the numbers that decided it.
//
// Interface a BasicChannel needs from Queue:
//   explicit Queue(size_t capacity_hint);   // preallocation hint only
//   bool Push(Value&& v);   // false only if memory ran out; v is then dropped
//   bool TryPop(Value* out);// false if it *looked* empty; REQUIRES: *out is None
//   ~Queue() destroys the values still inside, each exactly once.
// Both must be multi-producer multi-consumer and lock-free (no mutex).
// Neither needs to be linearizable: BasicChannel counts published items
// itself and only pops after claiming one, retrying TryPop until it succeeds.
//
// Thread safety: Push/TryPop from any threads concurrently; construction and
// destruction need exclusive access.
#ifndef INTERPD_CHANNEL_QUEUES_H_
#define INTERPD_CHANNEL_QUEUES_H_

#include <algorithm>
#include <cstddef>
#include <new>
#include <utility>

#include <boost/lockfree/queue.hpp>
#include <concurrentqueue/concurrentqueue.h>

#include "interpd/value.h"

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer's annotation interface (compiler-rt, libtsan).
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace interpd {

// moodycamel::ConcurrentQueue<Value>: one sub-queue per producer thread
// (implicit producers), so producers never contend with each other; values
// are moved in and out, no Raw round trip. Not linearizable across
// producers: FIFO per producer thread only.
class MoodycamelQueue {
 public:
  static constexpr const char* kName = "moodycamel";

  explicit MoodycamelQueue(size_t capacity_hint)
      : q_(std::clamp<size_t>(capacity_hint, 64, 1024)) {}

  bool Push(Value&& v) { return q_.enqueue(Slot(std::move(v))); }
  bool TryPop(Value* out) {
    Slot slot;
    if (!q_.try_dequeue(slot)) return false;
    *out = std::move(slot.value());
    return true;
  }

 private:
  // What the queue stores: a Value plus one ThreadSanitizer annotation.
  //
  // Why: moodycamel reuses a slot once the element in it was destroyed and
  // the block's "dequeued" counter says so; that counter is read relaxed and
  // followed by std::atomic_thread_fence(acquire) (Block::is_empty), and
  // ThreadSanitizer does not model standalone fences (GCC warns: -Wtsan).
  // So it sometimes reported the move into a reused slot as racing with the
  // move out of the previous element (one stress run in ~240 here; see
  // upstream cameron314/concurrentqueue issues #49 and #254).
  // The annotation states exactly the library's guarantee, per slot: the
  // destructor of the element in a slot releases on the slot's address, the
  // construction of the next element there acquires on it. Anything else
  // (a write into a slot whose element is still being read) is still
  // reported. Outside TSan builds the annotations compile to nothing and the
  // wrapper is a plain 16-byte Value.
  class Slot {
   public:
    Slot() noexcept { new (&storage_) Value(); }
    explicit Slot(Value&& v) noexcept {
      TsanAcquire(this);
      new (&storage_) Value(std::move(v));
    }
    Slot(Slot&& other) noexcept {  // moodycamel: construct into a slot
      TsanAcquire(this);
      new (&storage_) Value(std::move(other.value()));
    }
    Slot& operator=(Slot&& other) noexcept {  // moodycamel: move out of a slot
      value() = std::move(other.value());
      return *this;
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      value().~Value();
      TsanRelease(this);  // after the last write to the slot's memory
    }

    Value& value() noexcept { return *std::launder(reinterpret_cast<Value*>(&storage_)); }

   private:
    alignas(Value) std::byte storage_[sizeof(Value)];
  };

#if defined(__SANITIZE_THREAD__)
  static void TsanAcquire(void* addr) { __tsan_acquire(addr); }
  static void TsanRelease(void* addr) { __tsan_release(addr); }
#else
  static void TsanAcquire(void*) {}
  static void TsanRelease(void*) {}
#endif

  moodycamel::ConcurrentQueue<Slot> q_;
};

// boost::lockfree::queue<Value::Raw>: a Michael-Scott queue over a node
// freelist. It needs trivially copyable, trivially destructible slots, so
// values travel as Value::Raw (Release on push, Adopt on pop) and the
// destructor adopts whatever is left. Globally FIFO (linearizable), but
// every producer and consumer CASes the same head/tail words.
class BoostLockfreeQueue {
 public:
  static constexpr const char* kName = "boost.lockfree";

  explicit BoostLockfreeQueue(size_t capacity_hint)
      : q_(std::clamp<size_t>(capacity_hint, 64, 1024)) {}
  ~BoostLockfreeQueue() {
    Value::Raw raw;
    while (q_.pop(raw)) Value::Adopt(raw);  // the temporary drops it
  }
  BoostLockfreeQueue(const BoostLockfreeQueue&) = delete;
  BoostLockfreeQueue& operator=(const BoostLockfreeQueue&) = delete;

  bool Push(Value&& v) {
    Value::Raw raw = v.Release();
    if (q_.push(raw)) return true;  // may allocate a node beyond the hint
    Value::Adopt(raw);
    return false;
  }
  bool TryPop(Value* out) {
    Value::Raw raw;
    if (!q_.pop(raw)) return false;
    *out = Value::Adopt(raw);
    return true;
  }

 private:
  boost::lockfree::queue<Value::Raw> q_;
};

}  // namespace interpd

#endif  // INTERPD_CHANNEL_QUEUES_H_
