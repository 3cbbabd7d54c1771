// Process-global state owned by this file (crossinterp.c style map):
//   g_original       CPython's raw allocator and arena allocator as found by
//                    Install(); constant afterwards, called by the hooks.
//   g_installed      set once by Install(); never cleared (invariant 1).
//   g_registry       interpreter -> account (rule 2), under g_registry_mu.
//   g_generation     bumped on every registry change, so a thread's cached
//                    lookup (t_cache) knows when it went stale.
//   t_bound          per thread: the account the thread pays to (rule 1) and
//                    what it owes that account but has not added yet.
//   t_cache          per thread: the last rule-2 lookup.
#include "memory_accounting.h"

#include <malloc.h>

#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace interpd {

namespace {

struct Originals {
  PyMemAllocatorEx raw{};
  PyObjectArenaAllocator arena{};
};

Originals g_original;
std::atomic<bool> g_installed{false};

std::shared_mutex g_registry_mu;
// Allocated on first use and never destroyed: hooks may run during static
// destruction (a thread still freeing as the process exits).
std::unordered_map<const PyInterpreterState*, MemoryAccount*>& Registry() {
  static auto* registry = new std::unordered_map<const PyInterpreterState*, MemoryAccount*>();
  return *registry;
}
// Starts at 1 so a zeroed cache never matches.
std::atomic<uint64_t> g_generation{1};

struct Bound {
  MemoryAccount* account = nullptr;
  int64_t unflushed = 0;
};
thread_local Bound t_bound;

struct LookupCache {
  const PyInterpreterState* interp = nullptr;
  MemoryAccount* account = nullptr;
  uint64_t generation = 0;
};
thread_local LookupCache t_cache;

// Rule 2, out of line: only unbound threads get here.
[[gnu::noinline]] MemoryAccount* PayerByInterpreter() {
  PyThreadState* ts = compat::CurrentThreadState();
  if (ts == nullptr) return nullptr;
  const PyInterpreterState* interp = PyThreadState_GetInterpreter(ts);
  // Acquire: pairs with the release bump in Register/Unregister, so a cache
  // validated against the current generation saw the registry as it was.
  const uint64_t gen = g_generation.load(std::memory_order_acquire);
  LookupCache& c = t_cache;
  if (c.interp == interp && c.generation == gen) return c.account;
  MemoryAccount* account = nullptr;
  {
    std::shared_lock<std::shared_mutex> lock(g_registry_mu);
    auto it = Registry().find(interp);
    if (it != Registry().end()) account = it->second;
  }
  c = LookupCache{interp, account, gen};
  return account;
}

// Who pays for a call on this thread, and how.
struct Payer {
  MemoryAccount* account = nullptr;
  Bound* bound = nullptr;  // set for rule 1: charges go through the running sum

  explicit operator bool() const { return account != nullptr; }
  bool Fits(size_t n) const { return account->Fits(n, bound != nullptr ? bound->unflushed : 0); }
  void Add(int64_t delta) const {
    if (bound == nullptr) {
      account->Add(delta);
      return;
    }
    const int64_t sum = bound->unflushed + delta;
    if (sum > MemoryAccounting::kFlushBytes || sum < -MemoryAccounting::kFlushBytes) {
      account->Add(sum);
      bound->unflushed = 0;
    } else {
      bound->unflushed = sum;
    }
  }
};

inline Payer CurrentPayer() {
  Bound& b = t_bound;
  if (b.account != nullptr) return Payer{b.account, &b};
  return Payer{PayerByInterpreter(), nullptr};
}

inline int64_t Usable(void* p) { return static_cast<int64_t>(malloc_usable_size(p)); }

// ---- Raw domain ----

void* RawMalloc(void*, size_t n) {
  const Payer a = CurrentPayer();
  if (a && !a.Fits(n)) return nullptr;
  void* p = g_original.raw.malloc(g_original.raw.ctx, n);
  if (p != nullptr && a) a.Add(Usable(p));
  return p;
}

void* RawCalloc(void*, size_t nelem, size_t elsize) {
  const Payer a = CurrentPayer();
  size_t n = 0;
  if (a && !__builtin_mul_overflow(nelem, elsize, &n) && !a.Fits(n)) return nullptr;
  void* p = g_original.raw.calloc(g_original.raw.ctx, nelem, elsize);
  if (p != nullptr && a) a.Add(Usable(p));
  return p;
}

void* RawRealloc(void*, void* ptr, size_t n) {
  const Payer a = CurrentPayer();
  if (!a) return g_original.raw.realloc(g_original.raw.ctx, ptr, n);
  const int64_t old = ptr != nullptr ? Usable(ptr) : 0;
  if (static_cast<int64_t>(n) > old && !a.Fits(n - static_cast<size_t>(old))) return nullptr;
  void* p = g_original.raw.realloc(g_original.raw.ctx, ptr, n);
  // On failure the old block is untouched, and so is the account.
  if (p != nullptr) a.Add(Usable(p) - old);
  return p;
}

void RawFree(void*, void* ptr) {
  if (ptr == nullptr) return;
  if (const Payer a = CurrentPayer()) a.Add(-Usable(ptr));
  g_original.raw.free(g_original.raw.ctx, ptr);
}

// ---- Arenas ----

void* ArenaAlloc(void*, size_t n) {
  const Payer a = CurrentPayer();
  if (a && !a.Fits(n)) return nullptr;
  void* p = g_original.arena.alloc(g_original.arena.ctx, n);
  if (p != nullptr && a) a.Add(static_cast<int64_t>(n));
  return p;
}

void ArenaFree(void*, void* ptr, size_t n) {
  if (const Payer a = CurrentPayer()) a.Add(-static_cast<int64_t>(n));
  g_original.arena.free(g_original.arena.ctx, ptr, n);
}

}  // namespace

Status MemoryAccounting::Install() {
  if (g_installed.load(std::memory_order_acquire)) return Status::OK();
  if (!compat::kRawDomainIsMalloc) {
    return Status::Internal(
        "memory accounting needs a release build of CPython: a debug build wraps every raw block in "
        "debug hooks, so malloc_usable_size cannot size them");
  }
  PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &g_original.raw);
  PyObject_GetArenaAllocator(&g_original.arena);
  PyMemAllocatorEx raw = {nullptr, RawMalloc, RawCalloc, RawRealloc, RawFree};
  PyObjectArenaAllocator arena = {nullptr, ArenaAlloc, ArenaFree};
  PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &raw);
  PyObject_SetArenaAllocator(&arena);
  g_installed.store(true, std::memory_order_release);
  return Status::OK();
}

bool MemoryAccounting::installed() { return g_installed.load(std::memory_order_acquire); }

void MemoryAccounting::BindThread(MemoryAccount* account) {
  FlushThread();
  t_bound.account = account;
}

void MemoryAccounting::FlushThread() {
  Bound& b = t_bound;
  if (b.account != nullptr && b.unflushed != 0) b.account->Add(b.unflushed);
  b.unflushed = 0;
}

MemoryAccount* MemoryAccounting::BoundAccount() { return t_bound.account; }

void MemoryAccounting::RegisterInterpreter(const PyInterpreterState* interp, MemoryAccount* account) {
  std::unique_lock<std::shared_mutex> lock(g_registry_mu);
  Registry()[interp] = account;
  g_generation.fetch_add(1, std::memory_order_release);
}

void MemoryAccounting::UnregisterInterpreter(const PyInterpreterState* interp, const MemoryAccount* account) {
  std::unique_lock<std::shared_mutex> lock(g_registry_mu);
  auto it = Registry().find(interp);
  if (it != Registry().end() && it->second == account) Registry().erase(it);
  g_generation.fetch_add(1, std::memory_order_release);
}

ScopedMemoryLimit::ScopedMemoryLimit(size_t allowance) {
  if (allowance == 0 || !MemoryAccounting::installed()) return;
  account_ = MemoryAccounting::BoundAccount();
  if (account_ == nullptr) return;
  MemoryAccounting::FlushThread();
  previous_ = account_->limit();
  const int64_t base = account_->bytes() > 0 ? account_->bytes() : 0;
  const int64_t room = allowance > static_cast<size_t>(INT64_MAX - base) ? INT64_MAX : base + static_cast<int64_t>(allowance);
  account_->set_limit(previous_ != 0 && previous_ < room ? previous_ : room);
}

ScopedMemoryLimit::~ScopedMemoryLimit() {
  if (account_ == nullptr) return;
  MemoryAccounting::FlushThread();
  account_->set_limit(previous_);
}

}  // namespace interpd
