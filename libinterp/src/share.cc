// Process-global state owned by this file:
//   g_next_export_id   unique ids for BufferExport (never reused).
//   g_live_exports     owner exports alive process-wide (stats, tests).
#include "share.h"

#include <cstring>

namespace interpd {

namespace {
std::atomic<uint64_t> g_next_export_id{1};
std::atomic<int64_t> g_live_exports{0};
}  // namespace

int64_t LiveExportsTotal() { return g_live_exports.load(std::memory_order_acquire); }

// ---- ShareOwner ------------------------------------------------------------------

ShareOwner::ShareOwner(int64_t interpreter_id, std::function<void()> wake)
    : interpreter_id_(interpreter_id), wake_(std::move(wake)) {}

ShareOwner::~ShareOwner() {
  // Records still queued belong to an orphaned owner (invariant 2): free the
  // Py_buffer structs (runtime memory) without touching their objects.
  Py_buffer* view = nullptr;
  while (queue_.try_dequeue(view)) delete view;
}

ShareOwner*& ShareOwner::Current() {
  static thread_local ShareOwner* owner = nullptr;
  return owner;
}

void ShareOwner::Released(Py_buffer* view) {
  if (dead_.load(std::memory_order_acquire)) {
    // The owner was orphaned: its interpreter is gone or going. The object
    // stays as it is (invariant 2); only the struct is ours to free.
    delete view;
    return;
  }
  queue_.enqueue(view);
  pending_.fetch_add(1, std::memory_order_release);
  std::lock_guard<std::mutex> lock(mu_);
  if (wake_) wake_();
}

int ShareOwner::Drain() {
  if (pending_.load(std::memory_order_acquire) == 0) return 0;
  int n = 0;
  Py_buffer* view = nullptr;
  while (queue_.try_dequeue(view)) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    PyBuffer_Release(view);  // decrefs the owner's object, under its GIL
    delete view;
    live_.fetch_sub(1, std::memory_order_release);
    g_live_exports.fetch_sub(1, std::memory_order_relaxed);
    ++n;
  }
  return n;
}

void ShareOwner::Orphan() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = nullptr;
  }
  dead_.store(true, std::memory_order_release);
  // Whatever was queued before `dead_` was seen is still released properly:
  // this runs on the owner thread with the GIL, before the interpreter goes.
  Drain();
  const int64_t left = live_.load(std::memory_order_acquire);
  orphaned_.store(left, std::memory_order_relaxed);
  g_live_exports.fetch_sub(left, std::memory_order_relaxed);
}

// ---- BufferExport -----------------------------------------------------------------

namespace {

// Is the memory behind `obj` immutable for as long as we hold a reference?
bool ImmutableMemory(PyObject* obj) {
  if (PyBytes_Check(obj)) return true;
  if (PyMemoryView_Check(obj)) {
    PyObject* base = PyMemoryView_GET_BASE(obj);
    return base != nullptr && PyBytes_Check(base);
  }
  return false;
}

}  // namespace

std::shared_ptr<BufferExport> BufferExport::Copy(const char* data, size_t size) {
  std::shared_ptr<BufferExport> e(new BufferExport);
  e->id_ = g_next_export_id.fetch_add(1, std::memory_order_relaxed);
  e->snapshot_ = std::make_unique<char[]>(size > 0 ? size : 1);
  if (size) std::memcpy(e->snapshot_.get(), data, size);
  e->data_ = e->snapshot_.get();
  e->size_ = size;
  return e;
}

std::shared_ptr<BufferExport> BufferExport::Export(PyObject* obj, ShareOwner* owner) {
  if (owner != nullptr && ImmutableMemory(obj)) {
    auto view = std::make_unique<Py_buffer>();
    if (PyObject_GetBuffer(obj, view.get(), PyBUF_SIMPLE) == 0) {
      std::shared_ptr<BufferExport> e(new BufferExport);
      e->id_ = g_next_export_id.fetch_add(1, std::memory_order_relaxed);
      e->data_ = static_cast<const char*>(view->buf);
      e->size_ = static_cast<size_t>(view->len);
      e->view_ = view.release();
      // The export keeps its owner alive (the queue outlives the worker).
      e->owner_ = owner->shared_from_this();
      owner->Exported();
      g_live_exports.fetch_add(1, std::memory_order_relaxed);
      return e;
    }
    // Not contiguous (a strided memoryview): fall back to a snapshot.
    PyErr_Clear();
  }
  Py_buffer view;
  if (PyObject_GetBuffer(obj, &view, PyBUF_FULL_RO) != 0) return nullptr;
  std::shared_ptr<BufferExport> e(new BufferExport);
  e->id_ = g_next_export_id.fetch_add(1, std::memory_order_relaxed);
  const size_t n = static_cast<size_t>(view.len);
  e->snapshot_ = std::make_unique<char[]>(n > 0 ? n : 1);
  if (PyBuffer_ToContiguous(e->snapshot_.get(), &view, view.len, 'C') != 0) {
    PyBuffer_Release(&view);
    return nullptr;
  }
  PyBuffer_Release(&view);
  e->data_ = e->snapshot_.get();
  e->size_ = n;
  return e;
}

BufferExport::~BufferExport() {
  // The last share is gone, on whatever thread: hand the owner's object back
  // to its owner (invariant 1).
  if (view_ != nullptr) owner_->Released(view_);
}

std::string BufferRef::Describe() const {
  std::string s = "<interpd.SharedBuffer " + std::to_string(length_) + " bytes";
  if (export_->owner_id() >= 0) s += " from interpreter " + std::to_string(export_->owner_id());
  return s + ">";
}

}  // namespace interpd
