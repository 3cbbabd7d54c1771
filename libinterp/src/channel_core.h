// ChannelCore: the Python-free channel that backs interpd.Channel. It carries
// interpd::Value (runtime-owned, interpreter-independent), so a value sent by
// an interpreter that is destroyed afterwards is still delivered intact.
//
// Semantics (the Python layer maps the codes):
//   Send      blocks while full          OK | kClosed | kTimeout | kCancelled
//   TrySend   never blocks               OK | kClosed | kOverloaded (ChannelFull)
//   Recv      blocks while empty         OK | kClosed | kTimeout | kCancelled
//   TryRecv   never blocks               OK | kClosed | kNotFound (ChannelEmpty)
//   Close     idempotent; wakes every waiter; receivers drain what is left
//             and then get kClosed; senders get kClosed.
// Also kResourceExhausted from a send if the queue cannot allocate memory.
// A fired Interrupt makes a blocking call return kCancelled promptly, from
// any channel, without the firing thread knowing which (interrupt.h).
//
// Implementation: BasicChannel<MoodycamelQueue> (basic_channel.h). Why
// moodycamel::ConcurrentQueue and not boost::lockfree::queue (details and
// figures in docs/channels.md, from bench/channel_queue_bench):
//   - speed: with the two sides really on separate cores, moodycamel led
//     with two producers (x1.2-2.0) and tied otherwise; on the loaded,
//     time-sliced runs the candidates swapped places within noise. It leaned
//     moodycamel's way but did not decide alone;
//   - ThreadSanitizer: Boost.Lockfree's node freelist reports data races on
//     every stress run (upstream boostorg/lockfree#78, open); silencing them
//     would blind TSan to the queue that carries every value. moodycamel
//     runs clean with one exact, per-slot annotation (channel_queues.h);
//   - per-producer sub-queues: producers do not contend with each other;
//     Boost's single head/tail pair is CASed by every producer and consumer.
// The price is ordering, below.
//
// Ordering: values sent by one thread are received in the order that thread
// sent them. Values sent by different threads have no defined relative
// order, even when the sends were themselves ordered (thread A sends, then
// tells B, then B sends: B's value may come out first; the tests see this
// happen). A Python interpreter sends from its one worker thread, so the
// Python API gives "FIFO per sending interpreter". Consequence for users:
// to say "no more values" with several producers, Close() the channel
// (receivers drain everything sent before it, then get kClosed); a sentinel
// value sent after the other producers finished may overtake their values.
//
// size() is the number of values sent and not yet claimed by a receiver; it
// is exact when nobody else is using the channel and a snapshot otherwise.
//
// Lifetime: create with Create(); hold the shared_ptr across every call
// (a Value of kind kChannel holds one too). Values still inside when the last
// reference goes are destroyed then, each exactly once (releasing their
// shares); that may happen on any thread.
//
// Thread safety: every method, from any thread, concurrently.
//
// Invariants:
//   1. id() is unique in the process and never reused (a 64-bit counter).
//   2. maxsize(), pickle(), id() are constant after construction.
//   3. See basic_channel.h for the invariants of the channel itself.
#ifndef INTERPD_CHANNEL_CORE_H_
#define INTERPD_CHANNEL_CORE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "basic_channel.h"
#include "channel_queues.h"
#include "interpd/status.h"
#include "interpd/value.h"
#include "interrupt.h"
#include "wait_word.h"

namespace interpd {

// The queue behind every ChannelCore (see the header comment for why).
using ChannelQueue = MoodycamelQueue;

extern template class BasicChannel<ChannelQueue>;

class ChannelCore final : public Handle {
 public:
  // A blocked Send/Recv re-tries for this long before parking in the kernel
  // (with a sched_yield every ~1.5 us, see basic_channel.h). Ping-pong on
  // the target with idle cores: p50 ~11 us when parking at once (futex
  // wake-up), ~1.1-1.4 us with a spin of 5 us or more. 20 us also covers a
  // peer interpreter that runs some Python between its recv and its send,
  // and bounds the CPU an idle waiter burns to 20 us per wait. With more
  // runnable threads than cores the spin costs ~2 us of p50 instead.
  // Per channel: Create(..., spin).
  static constexpr std::chrono::nanoseconds kDefaultSpin = std::chrono::microseconds(20);

  // maxsize: 0 = unbounded (at most 2^31-1 values); larger bounds are
  // clamped to that. pickle: the Python layer's flag (values of kind
  // kPickled are accepted); the core only stores it.
  static std::shared_ptr<ChannelCore> Create(size_t maxsize, bool pickle,
                                             std::chrono::nanoseconds spin = kDefaultSpin);

  ChannelCore(const ChannelCore&) = delete;
  ChannelCore& operator=(const ChannelCore&) = delete;
  ~ChannelCore() override;

  // REQUIRES: intr, if not null, is used by no other blocking call now.
  Status Send(Value v, Deadline deadline = kForever, Interrupt* intr = nullptr) {
    return chan_.Send(std::move(v), deadline, intr);
  }
  Status TrySend(Value v) { return chan_.TrySend(std::move(v)); }
  // Takes `v` only on success (see BasicChannel::TrySendFrom).
  Status TrySendFrom(Value& v) { return chan_.TrySendFrom(v); }
  // REQUIRES: out != nullptr; intr as for Send.
  Status Recv(Value* out, Deadline deadline = kForever, Interrupt* intr = nullptr) {
    return chan_.Recv(out, deadline, intr);
  }
  Status TryRecv(Value* out) { return chan_.TryRecv(out); }
  void Close() { chan_.Close(); }

  bool closed() const { return chan_.closed(); }
  size_t size() const { return chan_.size(); }
  size_t maxsize() const { return chan_.maxsize(); }
  bool pickle() const { return pickle_; }
  uint64_t id() const { return id_; }

  // Handle: "<Channel 7>", identity = id().
  std::string Describe() const override;
  uint64_t Identity() const override { return id_; }

 private:
  struct Key {};  // lets Create() use make_shared with a private constructor

 public:
  ChannelCore(Key, size_t maxsize, bool pickle, std::chrono::nanoseconds spin);

 private:
  // Constant after construction.
  const uint64_t id_;
  const bool pickle_;

  BasicChannel<ChannelQueue> chan_;
};

}  // namespace interpd

#endif  // INTERPD_CHANNEL_CORE_H_
