// BasicChannel<Queue>: the bounded, blocking, closable MPMC channel logic,
// written once over a library queue (channel_queues.h). ChannelCore is
// BasicChannel<MoodycamelQueue> plus an id; the benchmark instantiates it over
// each candidate queue so both are measured with the same bounding and
// wake-up code.
//
// The queue only stores values. Bounding, closing and waking live in two
// counters, one per side, and two event counts:
//
//   send_    written by senders only. Low 32 bits: bit 31 closed, bits
//            0..30 `sent`, the slots ever reserved (mod 2^31). High 32
//            bits: `seen`, a snapshot of taken_ (some past value of it).
//   taken_   written by receivers only: the slots ever released (mod 2^32).
//            `used` = sent - taken (mod 2^31), the slots held = values in
//            the queue + sends between reserve and the end of their push +
//            receives between their pop and their release. A send reserves
//            a slot (CAS on send_; fails when closed or when used == limit_)
//            before it touches the queue; a receive gives it back after it
//            popped.
//   closed_  set once by Close(), after the closed bit; read by releases.
//   send_ec_ senders sleep here while the channel is full.
//   recv_ec_ receivers sleep here while the queue is empty.
//
// Fast path (nobody waiting): send = CAS send_, push, seq_cst fence, one load
// of recv_ec_; receive = pop, fetch_add taken_, one load of send_ec_, one
// load of closed_. No lock, no syscall. A sender judges "full" by the
// snapshot `seen` (a lower bound of taken, so an overestimate of used) and
// reads taken_ only when the snapshot says full. So each side writes only
// its own line and neither reads a line the other writes per message: a
// shared counter costs a cache miss per message on each side (measured: one
// 32-bit state word RMWed by both sides was most of the ~250 ns per message
// each side spent across two threads, against ~70 ns in one thread).
//
// Slow path: spin up to `spin` (re-trying the fast path with a CPU pause
// between tries), then park on the EventCount (event_count.h) until the
// condition can change: a push or the drain-after-close wakes receivers, a
// slot release or Close wakes senders.
//
// Thread safety: every public method may be called from any thread
// concurrently. The channel must outlive all calls (callers hold a
// reference), and is destroyed with nobody inside.
//
// Ordering guarantee: what the queue gives. For MoodycamelQueue: values sent
// by one thread are popped in the order that thread sent them; values from
// different threads may interleave in any order, even if the sends were
// ordered by other synchronization. (BoostLockfreeQueue is globally FIFO.)
//
// Invariants:
//   1. used <= limit_. Every value in the queue holds a slot, so the number
//      of values sent and not yet received never exceeds maxsize. taken
//      never passes sent (a release follows its reservation), and seen
//      never passes taken, so sent - seen >= used: the snapshot can only
//      make a sender look at taken_, never admit one too many.
//   2. Once closed, sent never changes: a send that reserved before Close()
//      is ordered before it and its value will be received; one that did
//      not fails with kClosed. "Drained" (closed && used == 0) is therefore
//      final. Close() wakes all receivers; so does every release that sees
//      closed_ and used == 0 (at least the last one does: its fetch_add
//      and load of closed_ are seq_cst, and a receiver that saw the closed
//      bit before closed_ was set is counted before Close() reads recv_ec_).
//   3. No wakeup is lost. Senders' condition lives in send_ (closed) and
//      taken_, changed only by seq_cst RMWs followed by send_ec_.NotifyAll()
//      (event_count.h); a sender decides to sleep only on a taken_ it read
//      after its PrepareWait.
//      Receivers' condition is "the queue shows a value, or drained": a
//      sender's push is followed by a seq_cst fence and then the load of
//      recv_ec_'s waiter count; a receiver counts itself (PrepareWait), then
//      a seq_cst fence, then its last pop attempt. By the fence rule one of
//      them sees the other: the receiver finds the value, or the sender
//      finds the waiter and wakes it. The queue's own stores need no
//      particular memory order for this.
//   4. A receiver parks only after a pop attempt that followed its
//      PrepareWait() failed; a non-linearizable queue can only fail such an
//      attempt if every value it could see was taken by another receiver.
//   5. Every notify wakes every sleeper of that side, so a waiter that
//      leaves without taking anything (timeout, cancel) cannot strand a wake
//      another waiter needed.
#ifndef INTERPD_BASIC_CHANNEL_H_
#define INTERPD_BASIC_CHANNEL_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <utility>

#include "interpd/status.h"
#include "interpd/value.h"
#include "interrupt.h"
#include "event_count.h"
#include "wait_word.h"

namespace interpd {

template <typename Queue>
class BasicChannel {
 public:
  // Largest bound, and the bound of an "unbounded" channel: `used` has 31
  // bits. A send beyond it behaves as on a full channel.
  static constexpr uint32_t kMaxItems = (1u << 31) - 1;

  // maxsize 0 = unbounded; larger than kMaxItems is clamped to it.
  // spin: how long a blocked Send/Recv re-tries before it parks in the
  // kernel (0 = park at once). Bounded by the call's deadline too.
  BasicChannel(size_t maxsize, std::chrono::nanoseconds spin)
      : maxsize_(std::min<size_t>(maxsize, kMaxItems)),
        limit_(maxsize_ == 0 ? kMaxItems : static_cast<uint32_t>(maxsize_)),
        spin_(std::max(spin, std::chrono::nanoseconds::zero())),
        queue_(maxsize_) {}

  BasicChannel(const BasicChannel&) = delete;
  BasicChannel& operator=(const BasicChannel&) = delete;
  // The queue destroys the values left inside, each once.
  ~BasicChannel() = default;

  // Blocks while the channel is full. OK: v is in the channel (it will be
  // received, or destroyed with the channel). kClosed: closed before a slot
  // was reserved (also while waiting). kTimeout at `deadline`. kCancelled
  // once `intr` fired (checked first, then while waiting).
  // kResourceExhausted if the queue could not allocate. On any error v is
  // destroyed.
  // REQUIRES: intr, if not null, is used by no other blocking call now.
  Status Send(Value v, Deadline deadline, Interrupt* intr) {
    if (intr != nullptr && intr->fired()) return Status::Cancelled("channel send");
    switch (TryReserve()) {
      case Attempt::kOk: return Publish(std::move(v));
      case Attempt::kClosed: return Status::Closed("channel closed");
      case Attempt::kNotNow: break;
    }
    return SendSlow(std::move(v), deadline, intr);
  }

  // As TrySend, but takes the value only on success: on kOverloaded or
  // kClosed `v` is left as it was (the caller may block with it next).
  Status TrySendFrom(Value& v) {
    switch (TryReserve()) {
      case Attempt::kOk: return Publish(std::move(v));
      case Attempt::kClosed: return Status::Closed("channel closed");
      case Attempt::kNotNow: break;
    }
    return Status::Overloaded("channel full");
  }

  // Never blocks. kOverloaded when full, kClosed when closed.
  Status TrySend(Value v) {
    switch (TryReserve()) {
      case Attempt::kOk: return Publish(std::move(v));
      case Attempt::kClosed: return Status::Closed("channel closed");
      case Attempt::kNotNow: break;
    }
    return Status::Overloaded("channel full");
  }

  // Blocks while the channel is empty. OK: *out holds the value. After
  // Close(), the values still in the channel are received first; then
  // kClosed. kTimeout at `deadline`; kCancelled once `intr` fired.
  // REQUIRES: out != nullptr and *out is None; intr as for Send.
  Status Recv(Value* out, Deadline deadline, Interrupt* intr) {
    if (intr != nullptr && intr->fired()) return Status::Cancelled("channel recv");
    if (TryTake(out)) return Status::OK();
    if (drained()) return Status::Closed("channel closed");
    return RecvSlow(out, deadline, intr);
  }

  // Never blocks. kNotFound when nothing can be taken now, kClosed when
  // closed and drained. Under concurrency "nothing now" includes the instant
  // after Close() while a send that was already under way has not pushed
  // yet, and (with a non-linearizable queue) a value another receiver is
  // racing for.
  // REQUIRES: out != nullptr and *out is None.
  Status TryRecv(Value* out) {
    if (TryTake(out)) return Status::OK();
    if (drained()) return Status::Closed("channel closed");
    return Status::NotFound("channel empty");
  }

  // Refuses new sends, wakes every blocked sender (kClosed) and receiver
  // (they drain what is left, then get kClosed). Idempotent.
  void Close() {
    uint64_t prev = send_.fetch_or(kClosedBit, std::memory_order_seq_cst);
    if (SentOf(prev) & kClosedBit) return;
    closed_.store(true, std::memory_order_seq_cst);  // after the bit: invariant 2
    send_ec_.NotifyAll();
    recv_ec_.NotifyAll();
  }

  // Acquire: a caller that sees the channel closed also sees what the closer
  // did before Close().
  bool closed() const { return (SentOf(send_.load(std::memory_order_acquire)) & kClosedBit) != 0; }

  // Values sent and not yet received, counting sends and receives under way.
  // Relaxed: a snapshot, possibly stale when returned (qsize()).
  // taken_ first: it never passes sent, so the difference is not negative.
  size_t size() const {
    const uint32_t taken = taken_.load(std::memory_order_relaxed);
    return Used(SentOf(send_.load(std::memory_order_relaxed)), taken);
  }

  // 0 = unbounded. Constant after construction.
  size_t maxsize() const { return maxsize_; }
  std::chrono::nanoseconds spin() const { return spin_; }

 private:
  static constexpr uint32_t kClosedBit = 1u << 31;
  static constexpr uint32_t kUsedMask = kClosedBit - 1;

  enum class Attempt { kOk, kNotNow, kClosed };

  // ---- Atomic accessors ----
  // Reads that decide whether to sleep are seq_cst: they are the waiter's
  // half of the handshake of invariant 3 (on x86 a seq_cst load is a plain
  // load, so the fast path pays nothing for it).

  static uint32_t SentOf(uint64_t w) { return static_cast<uint32_t>(w); }
  static uint32_t SeenOf(uint64_t w) { return static_cast<uint32_t>(w >> 32); }
  static uint64_t Pack(uint32_t sent, uint32_t seen) { return uint64_t{seen} << 32 | sent; }
  // Slots held when `sent` (count bits) and `taken` are counts of the same
  // history (invariant 1: taken never passes sent).
  static uint32_t Used(uint32_t sent, uint32_t taken) { return (sent - taken) & kUsedMask; }

  // Closed and no slot held: no value will ever be received again. The
  // order matters: once closed, sent is frozen, and taken only grows up to
  // it, so reading sent first cannot report a drain that did not happen.
  bool drained() const {
    uint64_t w = send_.load(std::memory_order_seq_cst);
    return (SentOf(w) & kClosedBit) != 0 && Used(SentOf(w), taken_.load(std::memory_order_seq_cst)) == 0;
  }

  // Reserves a slot for one send (the linearization point of a send
  // relative to Close()). Only senders write send_; the receivers' line
  // (taken_) is read only when the snapshot in send_ says "full".
  Attempt TryReserve() {
    uint64_t w = send_.load(std::memory_order_seq_cst);
    for (;;) {
      const uint32_t sent = SentOf(w);
      if (sent & kClosedBit) return Attempt::kClosed;
      if (Used(sent, SeenOf(w)) >= limit_) {
        // Full by the snapshot: look at the receivers' real count. seq_cst:
        // a sender about to sleep reads it after its PrepareWait (inv. 3).
        const uint32_t taken = taken_.load(std::memory_order_seq_cst);
        if (taken == SeenOf(w)) return Attempt::kNotNow;
        // Record the newer count; on success re-evaluate with it. A CAS
        // that succeeds proves no slot was reserved since `w` was read, so
        // taken <= sent holds for the snapshot too.
        if (send_.compare_exchange_weak(w, Pack(sent, taken), std::memory_order_seq_cst,
                                        std::memory_order_seq_cst)) {
          w = Pack(sent, taken);
        }
        continue;
      }
      if (send_.compare_exchange_weak(w, Pack((sent + 1) & ~kClosedBit, SeenOf(w)),
                                      std::memory_order_seq_cst, std::memory_order_seq_cst)) {
        return Attempt::kOk;
      }
    }
  }

  // A slot is free now (a hint for the spinning sender; TryReserve decides).
  bool slot_free() const {
    const uint32_t taken = taken_.load(std::memory_order_seq_cst);
    const uint32_t sent = SentOf(send_.load(std::memory_order_seq_cst));
    return (sent & kClosedBit) == 0 && Used(sent, taken) < limit_;
  }

  // Some slot is held, so a value may be (or soon be) in the queue. Relaxed:
  // only a hint for the spinning receiver; the pop decides. taken_ first, so
  // the difference cannot go negative.
  bool maybe_values() const {
    const uint32_t taken = taken_.load(std::memory_order_relaxed);
    return Used(SentOf(send_.load(std::memory_order_relaxed)), taken) != 0;
  }

  // ---- Steps shared by the fast and slow paths ----

  // REQUIRES: the caller holds a reserved slot.
  Status Publish(Value&& v) {
    if (!queue_.Push(std::move(v))) {
      ReleaseSlot();
      return Status::ResourceExhausted("channel queue allocation failed");
    }
    // Invariant 3: orders the push before the waiter-count load in NotifyAll.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    recv_ec_.NotifyAll();
    return Status::OK();
  }

  bool TryTake(Value* out) {
    if (!queue_.TryPop(out)) return false;
    ReleaseSlot();
    return true;
  }

  void ReleaseSlot() {
    const uint32_t taken = taken_.fetch_add(1, std::memory_order_seq_cst) + 1;
    send_ec_.NotifyAll();
    // Invariant 2: this thread may have made the channel drained. closed_
    // is read-mostly (written once), so the common case does not pull the
    // senders' line into this cache; only once closed do we read send_.
    if (closed_.load(std::memory_order_seq_cst) &&
        Used(SentOf(send_.load(std::memory_order_seq_cst)), taken) == 0) {
      recv_ec_.NotifyAll();
    }
  }

  // Attaches `intr` to the event count for the duration of a slow path.
  class InterruptScope {
   public:
    InterruptScope(Interrupt* intr, EventCount* ec) : intr_(intr) {
      if (intr_ != nullptr) intr_->Attach(ec);
    }
    ~InterruptScope() {
      if (intr_ != nullptr) intr_->Detach();
    }
    InterruptScope(const InterruptScope&) = delete;
    InterruptScope& operator=(const InterruptScope&) = delete;

   private:
    Interrupt* intr_;
  };

  static bool Expired(Deadline deadline) {
    return deadline != kForever && std::chrono::steady_clock::now() >= deadline;
  }

  // Spinning: rounds of up to kPausesPerRound CPU pauses (~20 ns each on the
  // target machine) watching a hint, then one attempt; every
  // kRoundsPerYield rounds (~1.5 us) a sched_yield. The yield matters when
  // the peer thread is runnable on *this* CPU (more runnable threads than
  // cores): without it the spinner burns its whole spin while the thread it
  // waits for cannot run, and the measured ping-pong latency grew to the
  // spin length (p50 45 us with a 20 us spin, 105 us with 50 us) instead of
  // shrinking. With nothing else runnable the yield returns in ~0.3 us.
  static constexpr int kPausesPerRound = 16;
  static constexpr unsigned kRoundsPerYield = 4;
  static void YieldSometimes(unsigned round) {
    if (round % kRoundsPerYield == kRoundsPerYield - 1) std::this_thread::yield();
  }

  // End of the spin phase: now + spin_, but not past the caller's deadline.
  Deadline SpinUntil(Deadline deadline) const {
    if (spin_.count() == 0) return Deadline::min();
    Deadline now = std::chrono::steady_clock::now();
    return deadline - now <= spin_ ? deadline : now + spin_;
  }

  Status SendSlow(Value v, Deadline deadline, Interrupt* intr) {
    InterruptScope scope(intr, &send_ec_);
    // Bounded spin: re-try while a receiver is probably about to free a slot.
    unsigned round = 0;
    for (Deadline until = SpinUntil(deadline); std::chrono::steady_clock::now() < until; ++round) {
      for (int i = 0; i < kPausesPerRound && !slot_free(); ++i) CpuRelax();
      Attempt a = TryReserve();
      if (a == Attempt::kOk) return Publish(std::move(v));
      if (a == Attempt::kClosed) return Status::Closed("channel closed");
      if (intr != nullptr && intr->fired()) break;
      YieldSometimes(round);
    }
    for (;;) {
      uint32_t ticket = send_ec_.PrepareWait();
      Attempt a = TryReserve();
      if (a == Attempt::kOk) {
        send_ec_.CancelWait(ticket);
        return Publish(std::move(v));
      }
      if (a == Attempt::kClosed) {
        send_ec_.CancelWait(ticket);
        return Status::Closed("channel closed");
      }
      if (intr != nullptr && intr->fired()) {
        send_ec_.CancelWait(ticket);
        return Status::Cancelled("channel send");
      }
      if (Expired(deadline)) {
        send_ec_.CancelWait(ticket);
        return Status::Timeout("channel send");
      }
      send_ec_.CommitWait(ticket, deadline);  // then re-check everything
    }
  }

  Status RecvSlow(Value* out, Deadline deadline, Interrupt* intr) {
    InterruptScope scope(intr, &recv_ec_);
    unsigned round = 0;
    for (Deadline until = SpinUntil(deadline); std::chrono::steady_clock::now() < until; ++round) {
      for (int i = 0; i < kPausesPerRound && !maybe_values(); ++i) CpuRelax();
      if (TryTake(out)) return Status::OK();
      if (drained()) return Status::Closed("channel closed");
      if (intr != nullptr && intr->fired()) break;
      YieldSometimes(round);
    }
    for (;;) {
      uint32_t ticket = recv_ec_.PrepareWait();
      // Invariant 3: orders our waiter count before the pop attempt.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (TryTake(out)) {
        recv_ec_.CancelWait(ticket);
        return Status::OK();
      }
      if (drained()) {
        recv_ec_.CancelWait(ticket);
        return Status::Closed("channel closed");
      }
      if (intr != nullptr && intr->fired()) {
        recv_ec_.CancelWait(ticket);
        return Status::Cancelled("channel recv");
      }
      if (Expired(deadline)) {
        recv_ec_.CancelWait(ticket);
        return Status::Timeout("channel recv");
      }
      recv_ec_.CommitWait(ticket, deadline);
    }
  }

  // Constant after construction.
  const size_t maxsize_;
  const uint32_t limit_;
  const std::chrono::nanoseconds spin_;

  // Lock-free; hot. Each side writes only its own line per message.
  // Senders: low half = closed bit | sent (reservations, mod 2^31); high
  // half = a snapshot of taken_ (a past value: a lower bound).
  alignas(64) std::atomic<uint64_t> send_{0};
  // Receivers: slot releases, mod 2^31.
  alignas(64) std::atomic<uint32_t> taken_{0};
  // Set once by Close() after the closed bit; read by every release.
  alignas(64) std::atomic<bool> closed_{false};
  EventCount send_ec_;  // each EventCount is aligned to its own line
  EventCount recv_ec_;
  alignas(64) Queue queue_;
};

}  // namespace interpd

#endif  // INTERPD_BASIC_CHANNEL_H_
