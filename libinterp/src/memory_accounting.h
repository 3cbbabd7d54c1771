// Memory accounting: which worker interpreter holds how much of the memory
// CPython allocated, and per-scope quotas on it.
//
// How it sees memory: Install() wraps the two allocator layers under every
// Python allocation, before the runtime starts (CPython only lets an
// embedder replace them then):
//   - the arena allocator (PyObject_SetArenaAllocator): obmalloc takes its
//     arenas (1 MiB on 64-bit builds) from it for every block of <= 512
//     bytes of the MEM and OBJ domains, and the eval loop takes its frame
//     stack chunks from it;
//   - the raw domain (PyMem_SetAllocator(PYMEM_DOMAIN_RAW)): obmalloc passes
//     every larger MEM/OBJ block to it, and CPython allocates its own
//     structures (interpreter and thread states, ...) from it.
// Arena calls carry their size. Raw blocks are sized with
// malloc_usable_size, on allocation and on free, so both sides count the
// same bytes (the block's real footprint, slack included).
// docs/resources.md lists what this cannot see and how far off it can be.
//
// Who pays (attribution), checked in this order on every call:
//   1. A thread bound to an account (BindThread: a worker thread, for its
//      whole life, so its interpreter's creation and destruction count too)
//      pays for what it allocates and is credited for what it frees. It
//      keeps a thread-local running sum and adds it to the account's atomic
//      only when the sum passes +-kFlushBytes (and when a limit scope starts
//      or ends, and when it unbinds), so most calls cost no atomic
//      read-modify-write; the account's figure may lag by up to
//      kFlushBytes, its limit checks on this thread never do.
//   2. Any other thread that has a thread state attached pays to the
//      account registered for that thread state's interpreter
//      (RegisterInterpreter). Threads a script starts inherit no binding;
//      this rule is what charges them to their interpreter, and it keeps the
//      books balanced when one thread frees what another allocated.
//   3. Anything else (no binding, no thread state, or an interpreter nobody
//      registered, such as the main one) is not counted anywhere.
//
// Thread safety: Install() runs once, before Py_Initialize, on one thread.
// The allocator hooks run on any thread at any time, with or without a GIL;
// they touch only atomics, a thread_local cache and, on a cache miss, the
// registry under a shared lock. Register/Unregister may run on any thread.
//
// Invariants:
//   1. Once installed the hooks stay installed until the process exits:
//      blocks allocated through them may be freed at any time, even after
//      Py_FinalizeEx.
//   2. An account never goes into debt through a limit: an allocation that
//      would raise bytes() above limit() fails (returns NULL, which CPython
//      turns into MemoryError) and charges nothing. Concurrent allocations
//      of one account (a script's threads) may overshoot by what they
//      request at the same instant, plus up to kFlushBytes the bound thread
//      has not added yet.
//   3. The hooks never allocate through CPython and never take a lock that
//      an allocating thread may hold (the registry lock is only ever held
//      around map operations, which use the C++ heap).
#ifndef INTERPD_MEMORY_ACCOUNTING_H_
#define INTERPD_MEMORY_ACCOUNTING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "interpd/status.h"
#include "python_compat.h"

namespace interpd {

// The memory of one worker interpreter, in bytes. Owned by its Worker.
class alignas(64) MemoryAccount {
 public:
  MemoryAccount() = default;
  MemoryAccount(const MemoryAccount&) = delete;
  MemoryAccount& operator=(const MemoryAccount&) = delete;

  // Bytes charged and not yet credited. May dip below zero transiently (or,
  // see docs/resources.md, by blocks allocated before the account existed and
  // freed under it); readers that show it clamp at zero.
  // Relaxed: a statistic and a quota check; nothing is published through it.
  int64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  // Allocations refused because of limit() (each one a MemoryError, unless
  // CPython retried the request elsewhere; see docs/resources.md).
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  // The ceiling bytes() may not pass; 0 = none.
  int64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  // REQUIRES: called by the thread bound to this account (one writer).
  void set_limit(int64_t limit) { limit_.store(limit, std::memory_order_relaxed); }

  // ---- Used by the allocator hooks ----
  // Whether `n` more bytes fit under the limit (invariant 2); `unflushed`
  // is the calling thread's sum not yet added.
  bool Fits(size_t n, int64_t unflushed = 0) {
    const int64_t lim = limit();
    if (lim == 0 || bytes() + unflushed + static_cast<int64_t>(n) <= lim) return true;
    refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  void Add(int64_t delta) { bytes_.fetch_add(delta, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> limit_{0};
  std::atomic<uint64_t> refused_{0};
};

class MemoryAccounting {
 public:
  MemoryAccounting() = delete;

  // How far a bound thread's charges may run ahead of its account's figure.
  static constexpr int64_t kFlushBytes = 256 << 10;

  // Wraps the allocators (see the header comment). Idempotent.
  // REQUIRES: after Py_PreInitialize, before Py_InitializeFromConfig.
  static Status Install();
  static bool installed();

  // Makes the calling thread pay to `account` (rule 1); nullptr unbinds.
  // Adds what the thread owed its previous account first.
  // REQUIRES: `account` outlives the binding.
  static void BindThread(MemoryAccount* account);
  // Adds the calling thread's running sum to its bound account now.
  static void FlushThread();
  // The calling thread's bound account, or nullptr.
  static MemoryAccount* BoundAccount();

  // Rule 2: threads running in `interp` pay to `account`. Unregister only
  // removes the entry if it still names `account` (an interpreter's address
  // may be reused by a newer one that registered meanwhile).
  static void RegisterInterpreter(const PyInterpreterState* interp, MemoryAccount* account);
  static void UnregisterInterpreter(const PyInterpreterState* interp, const MemoryAccount* account);
};

// Limits the calling thread's bound account to growing by at most
// `allowance` bytes above its balance at construction, until destruction,
// which restores the previous limit. Scopes nest; the tighter limit wins.
// 0 adds no limit. Without accounting installed or a bound account, a no-op.
// This is the quota API: a task's `memory_limit`, and later an actor's
// per-message scope.
// REQUIRES: constructed and destroyed on the same thread.
class ScopedMemoryLimit {
 public:
  explicit ScopedMemoryLimit(size_t allowance);
  ~ScopedMemoryLimit();
  ScopedMemoryLimit(const ScopedMemoryLimit&) = delete;
  ScopedMemoryLimit& operator=(const ScopedMemoryLimit&) = delete;

 private:
  MemoryAccount* account_ = nullptr;
  int64_t previous_ = 0;
};

}  // namespace interpd

#endif  // INTERPD_MEMORY_ACCOUNTING_H_
