// The owner side of zero-copy sharing (DESIGN.md "The sharing protocol").
//
// ShareOwner   one per worker interpreter: the queue on which released
//              exports come back to be freed under the owner's own GIL.
// BufferExport one exported buffer: the owner's object (or a runtime-owned
//              snapshot) and the memory every receiver reads. Its
//              std::shared_ptr reference count is the export's *share
//              count*, separate from the object's ob_refcnt.
// BufferRef    what a Value of kind kBuffer (and each interpd.SharedBuffer)
//              holds: one share plus the byte range it covers.
//
// Field map (who sets, who frees, in which interpreter):
//   BufferExport::data_/size_    set by the owner at export; never written
//                                again; read by any thread, any interpreter.
//   BufferExport::view_          a Py_buffer of the owner's object, taken in
//                                the owner under its GIL; released there by
//                                ShareOwner::Drain(), never elsewhere.
//   BufferExport::snapshot_      runtime memory (operator new) for copies of
//                                mutable buffers; freed by whichever thread
//                                drops the last share. No owner involved.
//   ShareOwner queue records     pushed by any thread, popped by the owner
//                                thread only.
//
// Thread safety: BufferExport and BufferRef are immutable and may be used
// from any thread. ShareOwner::Released() may be called from any thread;
// Drain(), Orphan() only from the owner's worker thread.
//
// Invariants:
//   1. No thread but the owner's ever touches an owner's object: releases
//      travel through the owner's queue.
//   2. An owner is not destroyed while its exports are shared: its worker
//      drains first. If shares outlive a bounded wait (a receiver keeps a
//      view forever), the owner is orphaned: the objects are never released
//      (a counted leak), never touched again, and their memory stays valid
//      because they are still referenced. Releasing after that is a no-op.
//   3. live() counts exports taken and not yet released; it reaches zero
//      exactly when every share of every export of this owner is gone and
//      drained.
#ifndef INTERPD_SHARE_H_
#define INTERPD_SHARE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <concurrentqueue/concurrentqueue.h>

#include "interpd/status.h"
#include "interpd/value.h"
#include "python_compat.h"

namespace interpd {

class ShareOwner : public std::enable_shared_from_this<ShareOwner> {
 public:
  ShareOwner(int64_t interpreter_id, std::function<void()> wake);
  ~ShareOwner();
  ShareOwner(const ShareOwner&) = delete;
  ShareOwner& operator=(const ShareOwner&) = delete;

  int64_t interpreter_id() const { return interpreter_id_; }

  // An export was taken (owner thread).
  void Exported() { live_.fetch_add(1, std::memory_order_relaxed); }
  // The last share of an export holding `view` is gone (any thread). Takes
  // ownership of `view` (heap-allocated Py_buffer).
  void Released(Py_buffer* view);
  // Releases what came back. REQUIRES: owner thread, its GIL held.
  // Returns the number released. Cheap when nothing is pending.
  int Drain();
  // Stops waking the owner and gives up on what is still shared
  // (invariant 2). REQUIRES: owner thread, before its interpreter is destroyed.
  void Orphan();

  int64_t live() const { return live_.load(std::memory_order_acquire); }
  bool pending() const { return pending_.load(std::memory_order_acquire) != 0; }
  int64_t orphaned() const { return orphaned_.load(std::memory_order_relaxed); }

  // The owner of the interpreter running on this thread (set by its worker).
  static ShareOwner*& Current();

 private:
  const int64_t interpreter_id_;
  moodycamel::ConcurrentQueue<Py_buffer*> queue_;
  std::atomic<int64_t> pending_{0};   // pushed, not yet popped
  std::atomic<int64_t> live_{0};      // invariant 3
  std::atomic<int64_t> orphaned_{0};
  std::atomic<bool> dead_{false};

  // Protected by mu_: the owner's wake-up, cleared by Orphan() so a late
  // release never reaches a pool that is gone.
  std::mutex mu_;
  std::function<void()> wake_;
};

class BufferExport {
 public:
  // Exports the buffer of `obj` owned by the current interpreter (zero-copy
  // when the memory is immutable, else a snapshot). REQUIRES: GIL of the
  // owner interpreter; owner == ShareOwner::Current() (may be null outside a
  // worker: then every export is a snapshot); `owner` is held by a
  // std::shared_ptr.
  // On failure returns nullptr with a Python exception set.
  static std::shared_ptr<BufferExport> Export(PyObject* obj, ShareOwner* owner);
  // A runtime-owned copy of `data` (no owner at all).
  static std::shared_ptr<BufferExport> Copy(const char* data, size_t size);

  ~BufferExport();

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  int64_t owner_id() const { return owner_ ? owner_->interpreter_id() : -1; }
  bool zero_copy() const { return view_ != nullptr; }
  uint64_t id() const { return id_; }

 private:
  BufferExport() = default;

  uint64_t id_ = 0;
  const char* data_ = nullptr;
  size_t size_ = 0;
  Py_buffer* view_ = nullptr;             // owned by the owner interpreter
  std::shared_ptr<ShareOwner> owner_;
  std::unique_ptr<char[]> snapshot_;      // runtime memory
};

// One share of a buffer export: a byte range of it, and how a receiver
// should present it (SharedBuffer, or a read-only memoryview over one).
class BufferRef final : public Handle {
 public:
  // kBytes: a large bytes object shared by reference; the receiver copies
  // it into a new bytes object (users expect bytes to arrive as bytes).
  enum class As : uint8_t { kSharedBuffer, kMemoryView, kBytes };

  BufferRef(std::shared_ptr<BufferExport> exp, size_t offset, size_t length, As as)
      : export_(std::move(exp)), offset_(offset), length_(length), as_(as) {}

  const char* data() const { return export_->data() + offset_; }
  size_t size() const { return length_; }
  As as() const { return as_; }
  const std::shared_ptr<BufferExport>& exported() const { return export_; }
  size_t offset() const { return offset_; }

  std::string Describe() const override;
  uint64_t Identity() const override { return export_->id() * 1000003u + offset_; }

 private:
  std::shared_ptr<BufferExport> export_;
  size_t offset_;
  size_t length_;
  As as_;
};

// Shares of exports taken by owners, for stats and tests.
int64_t LiveExportsTotal();

}  // namespace interpd

#endif  // INTERPD_SHARE_H_
