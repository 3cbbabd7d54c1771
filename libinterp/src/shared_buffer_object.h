// interpd.SharedBuffer: an immutable bytes-like object whose memory may
// belong to another interpreter (zero-copy), exposed read-only.
//
// Thread safety: an object belongs to one interpreter and is used under its
// GIL; the BufferRef it holds is immutable and shared across interpreters.
//
// Invariants:
//   1. Every SharedBuffer holds exactly one BufferRef (one share) for its
//      whole life; the share is dropped in tp_dealloc.
//   2. The buffer protocol never hands out a writable view.
#ifndef INTERPD_SHARED_BUFFER_OBJECT_H_
#define INTERPD_SHARED_BUFFER_OBJECT_H_

#include <memory>

#include "interpd_module.h"
#include "share.h"

namespace interpd {

int AddSharedBufferType(PyObject* module, ModuleState* st);

// A new SharedBuffer over `ref`. REQUIRES: GIL; st of this interpreter.
PyObject* NewSharedBuffer(ModuleState* st, std::shared_ptr<BufferRef> ref);
// The share held by a SharedBuffer object, or nullptr if `obj` is not one.
const std::shared_ptr<BufferRef>* SharedBufferRef(ModuleState* st, PyObject* obj);

}  // namespace interpd

#endif  // INTERPD_SHARED_BUFFER_OBJECT_H_
