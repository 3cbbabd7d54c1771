// Every PY_VERSION_HEX gate of interpd lives here (pybind11 style), so the
// rest of the runtime reads as if there were one CPython version.
// Supported: CPython 3.12 and newer, 3.13 being the reference.
#ifndef INTERPD_PYTHON_COMPAT_H_
#define INTERPD_PYTHON_COMPAT_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <string_view>
#include <vector>

#if PY_VERSION_HEX < 0x030C0000
#error "interpd needs CPython 3.12 or newer (per-interpreter GIL, PEP 684)"
#endif

namespace interpd::compat {

// The thread state attached to this thread, or nullptr (never fatal).
inline PyThreadState* CurrentThreadState() {
#if PY_VERSION_HEX >= 0x030D0000
  return PyThreadState_GetUnchecked();
#else
  return _PyThreadState_UncheckedGet();
#endif
}

inline bool IsFinalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

// getattr(obj, name) that returns 0 and no exception when missing, 1 when
// found (new reference in *out), -1 on error.
inline int GetOptionalAttrString(PyObject* obj, const char* name, PyObject** out) {
#if PY_VERSION_HEX >= 0x030D0000
  return PyObject_GetOptionalAttrString(obj, name, out);
#else
  *out = PyObject_GetAttrString(obj, name);
  if (*out) return 1;
  if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
    PyErr_Clear();
    return 0;
  }
  return -1;
#endif
}

// An int as minimal little-endian two's complement bytes.
// REQUIRES: PyLong_Check(v), GIL held. Returns false with an exception set.
inline bool LongToBytes(PyObject* v, std::vector<uint8_t>* out) {
#if PY_VERSION_HEX >= 0x030D0000
  Py_ssize_t need = PyLong_AsNativeBytes(v, nullptr, 0, Py_ASNATIVEBYTES_LITTLE_ENDIAN);
  if (need < 0) return false;
  out->assign(static_cast<size_t>(need > 0 ? need : 1), 0);
  if (PyLong_AsNativeBytes(v, out->data(), static_cast<Py_ssize_t>(out->size()),
                           Py_ASNATIVEBYTES_LITTLE_ENDIAN) < 0) {
    return false;
  }
  return true;
#else
  int64_t bits = static_cast<int64_t>(_PyLong_NumBits(v));
  if (bits < 0) return false;
  out->assign(static_cast<size_t>(bits / 8 + 1), 0);
  return _PyLong_AsByteArray(reinterpret_cast<PyLongObject*>(v), out->data(), out->size(),
                             /*little_endian=*/1, /*is_signed=*/1) == 0;
#endif
}

// Standard-library extension modules whose init function must not run in an
// isolated interpreter. CPython runs a single-phase-init module's init
// function before it can refuse the module there, and in 3.12 _decimal's
// init rewrites its process-wide static types with objects of the
// interpreter running it: the next isolated interpreter to import it frees
// those objects through its own allocator and the process crashes ("double
// free or corruption"). 3.13 made _decimal multi-phase. The policy hook
// refuses the import up front with ImportError, so `decimal` falls back to
// _pydecimal.
inline bool InitUnsafeInIsolatedInterpreter(std::string_view module) {
#if PY_VERSION_HEX < 0x030D0000
  return module == "_decimal";
#else
  (void)module;
  return false;
#endif
}

// Memory accounting sizes raw blocks with malloc_usable_size, which is right
// only when the raw domain is plain malloc: a release build. A debug build
// (Py_DEBUG) puts its debug hooks, with headers, around every block.
#ifdef Py_DEBUG
inline constexpr bool kRawDomainIsMalloc = false;
#else
inline constexpr bool kRawDomainIsMalloc = true;
#endif

inline PyObject* LongFromBytes(const std::vector<uint8_t>& bytes) {
#if PY_VERSION_HEX >= 0x030D0000
  return PyLong_FromNativeBytes(bytes.data(), bytes.size(), Py_ASNATIVEBYTES_LITTLE_ENDIAN);
#else
  return _PyLong_FromByteArray(bytes.data(), bytes.size(), /*little_endian=*/1, /*is_signed=*/1);
#endif
}

}  // namespace interpd::compat

#endif  // INTERPD_PYTHON_COMPAT_H_
