// Conversion between Python objects and interpd::Value, in the interpreter
// whose GIL the calling thread holds.
//
// Thread safety: call with the GIL of the interpreter that owns the objects.
// The Values produced belong to nobody's interpreter and may go anywhere.
//
// Invariants:
//   1. ToValue never keeps a reference to a Python object (buffers go through
//      the share registry, which owns its references explicitly).
//   2. FromValue builds new objects in the calling interpreter only.
//   3. Failures leave a Python exception set (NotShareableError for objects
//      that cannot be converted, naming their type) and *out untouched.
#ifndef INTERPD_PY_VALUE_H_
#define INTERPD_PY_VALUE_H_

#include "interpd/value.h"
#include "python_compat.h"

namespace interpd {

struct ModuleState;

struct ToValueOptions {
  // Accept list and dict (results, actor arguments). Channels refuse them:
  // a mutable container sent by reference would surprise its sender.
  bool allow_mutable = true;
  // Accept subclasses of the built-in types as their base type (results:
  // an IntEnum is a number in JSON). Sharing requires exact types or a hook,
  // so that a receiver never gets a different type silently.
  bool allow_subclasses = true;
  // Share large bytes objects without copying them in the sender: the
  // receiver makes its one copy from the sender's memory (channels, actor
  // calls). Off for results, which stay kBytes.
  bool zero_copy_bytes = false;
  // Nesting limit; also what stops self-referencing containers.
  int max_depth = 200;
};

// REQUIRES: GIL held; `state` is the interpd module state of this interpreter.
bool ToValue(ModuleState* state, PyObject* obj, const ToValueOptions& options, Value* out);
// New reference, or nullptr with an exception set.
PyObject* FromValue(ModuleState* state, const Value& value);

}  // namespace interpd

#endif  // INTERPD_PY_VALUE_H_
