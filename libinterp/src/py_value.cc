#include "py_value.h"

#include <string>
#include <vector>

#include "channel_object.h"
#include "interpd_module.h"
#include "share.h"
#include "shared_buffer_object.h"

namespace interpd {

// actor_object.cc
Value ActorHandleValue(ModuleState* st, PyObject* obj, bool* is_handle);
PyObject* ActorHandleFromValue(ModuleState* st, const Value& v);

namespace {

// Bytes objects at least this big cross by reference (zero_copy_bytes):
// below it, one copy into runtime memory is cheaper than an export.
constexpr Py_ssize_t kZeroCopyBytes = 64 * 1024;

bool NotShareable(ModuleState* st, PyObject* obj, const char* why) {
  PyErr_Format(st->not_shareable, "%s of type '%.200s' %s", "object", Py_TYPE(obj)->tp_name, why);
  return false;
}

bool StrToValue(PyObject* obj, Value* out) {
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(obj, &n);
  if (p != nullptr) {
    *out = Value::Str(p, static_cast<size_t>(n));
    return true;
  }
  // Lone surrogates: keep them exactly (value.h invariant 3).
  PyErr_Clear();
  PyObject* enc = PyUnicode_AsEncodedString(obj, "utf-8", "surrogatepass");
  if (enc == nullptr) return false;
  *out = Value::Str(PyBytes_AS_STRING(enc), static_cast<size_t>(PyBytes_GET_SIZE(enc)));
  Py_DECREF(enc);
  return true;
}

bool IntToValue(PyObject* obj, Value* out) {
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
  if (v == -1 && PyErr_Occurred()) return false;
  if (!overflow) {
    *out = Value::Int(v);
    return true;
  }
  std::vector<uint8_t> bytes;
  if (!compat::LongToBytes(obj, &bytes)) return false;
  *out = Value::BigInt(bytes);
  return true;
}

class Converter {
 public:
  Converter(ModuleState* st, const ToValueOptions& opts) : st_(st), opts_(opts) {}

  bool Convert(PyObject* obj, int depth, Value* out) {
    if (depth > opts_.max_depth) {
      PyErr_Format(st_->not_shareable, "value nested deeper than %d levels (or containing itself)", opts_.max_depth);
      return false;
    }
    const bool sub = opts_.allow_subclasses;
    if (obj == Py_None) {
      *out = Value::None();
      return true;
    }
    if (PyBool_Check(obj)) {
      *out = Value::Bool(obj == Py_True);
      return true;
    }
    if (sub ? PyLong_Check(obj) : PyLong_CheckExact(obj)) return IntToValue(obj, out);
    if (sub ? PyFloat_Check(obj) : PyFloat_CheckExact(obj)) {
      *out = Value::Float(PyFloat_AS_DOUBLE(obj));
      return true;
    }
    if (sub ? PyUnicode_Check(obj) : PyUnicode_CheckExact(obj)) return StrToValue(obj, out);
    if (opts_.zero_copy_bytes && PyBytes_CheckExact(obj) && PyBytes_GET_SIZE(obj) >= kZeroCopyBytes) {
      // Big bytes: one copy (in the receiver) instead of two.
      auto exp = BufferExport::Export(obj, ShareOwner::Current());
      if (!exp) return false;
      const size_t n = exp->size();
      *out = Value::FromHandle(ValueKind::kBuffer,
                               std::make_shared<BufferRef>(std::move(exp), 0, n, BufferRef::As::kBytes));
      return true;
    }
    if (sub ? PyBytes_Check(obj) : PyBytes_CheckExact(obj)) {
      *out = Value::Bytes(PyBytes_AS_STRING(obj), static_cast<size_t>(PyBytes_GET_SIZE(obj)));
      return true;
    }
    if (sub ? PyComplex_Check(obj) : PyComplex_CheckExact(obj)) {
      Py_complex c = PyComplex_AsCComplex(obj);
      *out = Value::Complex(c.real, c.imag);
      return true;
    }
    if (sub ? PyTuple_Check(obj) : PyTuple_CheckExact(obj)) {
      Value::Items items;
      if (!Items(obj, depth, &items)) return false;
      *out = Value::Tuple(std::move(items));
      return true;
    }
    if (sub ? PyFrozenSet_Check(obj) : PyFrozenSet_CheckExact(obj)) {
      Value::Items items;
      if (!Items(obj, depth, &items)) return false;
      *out = Value::FrozenSet(std::move(items));
      return true;
    }
    if (Hooked(obj, depth, out)) return true;
    if (PyErr_Occurred()) return false;
    if (opts_.allow_mutable) {
      if (sub ? PyList_Check(obj) : PyList_CheckExact(obj)) {
        Value::Items items;
        if (!Items(obj, depth, &items)) return false;
        *out = Value::List(std::move(items));
        return true;
      }
      if (sub ? PyDict_Check(obj) : PyDict_CheckExact(obj)) return Dict(obj, depth, out);
    }
    return NotShareable(st_, obj, opts_.allow_mutable ? "cannot leave its interpreter"
                                                      : "is not shareable (send immutable values, or "
                                                        "give the class __share__/__unshare__)");
  }

 private:
  // The share hooks (the tp_share idea): types that opt into crossing
  // interpreters beyond the built-in scalars and containers. Returns true
  // with *out set, or false (with an exception set if the type opted in but
  // failed, without one if it has no hook).
  bool Hooked(PyObject* obj, int depth, Value* out) {
    // interpd's own types: a share of the same buffer, the same channel.
    if (const auto* ref = SharedBufferRef(st_, obj)) {
      *out = Value::FromHandle(ValueKind::kBuffer, *ref);
      return true;
    }
    if (const auto* core = ChannelObjectCore(st_, obj)) {
      *out = Value::FromHandle(ValueKind::kChannel, *core);
      return true;
    }
    bool is_handle = false;
    Value handle = ActorHandleValue(st_, obj, &is_handle);
    if (is_handle) {
      *out = std::move(handle);
      return true;
    }
    if (PyMemoryView_Check(obj)) return ShareMemoryView(obj, out);
    if (PyByteArray_Check(obj)) {
      PyErr_SetString(st_->not_shareable,
                      "object of type 'bytearray' is mutable and cannot be shared; wrap it in "
                      "interpd.SharedBuffer(...) to send a read-only snapshot");
      return false;
    }
    // User classes opt in with __share__ / __unshare__.
    PyTypeObject* tp = Py_TYPE(obj);
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
      PyObject* share = nullptr;
      int found = compat::GetOptionalAttrString(reinterpret_cast<PyObject*>(tp), "__share__", &share);
      if (found < 0) return false;
      if (found > 0) {
        Py_DECREF(share);
        return ShareCustom(obj, depth, out);
      }
    }
    return false;
  }

  bool ShareMemoryView(PyObject* mv, Value* out) {
    Py_buffer* info = PyMemoryView_GET_BUFFER(mv);
    if (!info->readonly) {
      PyErr_SetString(st_->not_shareable,
                      "a writable memoryview cannot be shared (the receiver could change the sender's bytes); "
                      "wrap it in interpd.SharedBuffer(...) to send a read-only snapshot");
      return false;
    }
    PyObject* base = PyMemoryView_GET_BASE(mv);
    if (const auto* ref = base ? SharedBufferRef(st_, base) : nullptr) {
      // A view of a SharedBuffer: share the same export, the viewed range.
      Py_buffer view;
      if (PyObject_GetBuffer(mv, &view, PyBUF_SIMPLE) != 0) return false;
      const size_t off = static_cast<size_t>(static_cast<const char*>(view.buf) - (*ref)->exported()->data());
      const size_t len = static_cast<size_t>(view.len);
      PyBuffer_Release(&view);
      *out = Value::FromHandle(ValueKind::kBuffer, std::make_shared<BufferRef>((*ref)->exported(), off, len,
                                                                               BufferRef::As::kMemoryView));
      return true;
    }
    if (base == nullptr || !PyBytes_Check(base)) {
      PyErr_Format(st_->not_shareable,
                   "a read-only memoryview of a mutable '%.200s' cannot be shared (its bytes may still change); "
                   "wrap it in interpd.SharedBuffer(...) to send a snapshot",
                   base ? Py_TYPE(base)->tp_name : "buffer");
      return false;
    }
    auto exp = BufferExport::Export(mv, ShareOwner::Current());
    if (!exp) return false;
    const size_t n = exp->size();
    *out = Value::FromHandle(ValueKind::kBuffer,
                             std::make_shared<BufferRef>(std::move(exp), 0, n, BufferRef::As::kMemoryView));
    return true;
  }

  bool ShareCustom(PyObject* obj, int depth, Value* out) {
    PyTypeObject* tp = Py_TYPE(obj);
    PyObject* unshare = nullptr;
    if (compat::GetOptionalAttrString(reinterpret_cast<PyObject*>(tp), "__unshare__", &unshare) <= 0) {
      if (!PyErr_Occurred()) {
        PyErr_Format(st_->not_shareable, "type '%.200s' defines __share__ but not the classmethod __unshare__",
                     tp->tp_name);
      }
      return false;
    }
    Py_DECREF(unshare);
    PyObject* module = PyObject_GetAttrString(reinterpret_cast<PyObject*>(tp), "__module__");
    PyObject* qualname = module ? PyType_GetQualName(tp) : nullptr;
    PyObject* state = qualname ? PyObject_CallMethod(obj, "__share__", nullptr) : nullptr;
    Value inner;
    bool ok = state != nullptr && PyUnicode_Check(module) && Convert(state, depth + 1, &inner);
    if (ok) {
      *out = Value::Custom(PyUnicode_AsUTF8(module), PyUnicode_AsUTF8(qualname), std::move(inner));
    } else if (state != nullptr && !PyErr_Occurred()) {
      PyErr_Format(st_->not_shareable, "type '%.200s' has no usable __module__", tp->tp_name);
    }
    Py_XDECREF(state);
    Py_XDECREF(qualname);
    Py_XDECREF(module);
    return ok && !PyErr_Occurred();
  }

  bool Items(PyObject* seq, int depth, Value::Items* items) {
    // PySequence_Fast would copy a frozenset into a list; iterate instead
    // for sets, index for tuples and lists.
    if (PyTuple_Check(seq) || PyList_Check(seq)) {
      const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
      items->reserve(static_cast<size_t>(n));
      for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(seq); ++k) {
        PyObject* item = Py_NewRef(PySequence_Fast_GET_ITEM(seq, k));
        Value v;
        bool ok = Convert(item, depth + 1, &v);
        Py_DECREF(item);
        if (!ok) return false;
        items->push_back(std::move(v));
      }
      return true;
    }
    PyObject* it = PyObject_GetIter(seq);
    if (it == nullptr) return false;
    while (PyObject* item = PyIter_Next(it)) {
      Value v;
      bool ok = Convert(item, depth + 1, &v);
      Py_DECREF(item);
      if (!ok) {
        Py_DECREF(it);
        return false;
      }
      items->push_back(std::move(v));
    }
    Py_DECREF(it);
    return !PyErr_Occurred();
  }

  bool Dict(PyObject* dict, int depth, Value* out) {
    Value::Pairs pairs;
    pairs.reserve(static_cast<size_t>(PyDict_Size(dict)));
    PyObject* key = nullptr;
    PyObject* val = nullptr;
    Py_ssize_t pos = 0;
    // Keys and values are held across the recursive conversion, which may
    // run Python code (str subclasses, big ints) that mutates the dict.
    while (PyDict_Next(dict, &pos, &key, &val)) {
      Py_INCREF(key);
      Py_INCREF(val);
      Value k;
      Value v;
      bool ok = Convert(key, depth + 1, &k) && Convert(val, depth + 1, &v);
      Py_DECREF(key);
      Py_DECREF(val);
      if (!ok) return false;
      pairs.emplace_back(std::move(k), std::move(v));
    }
    *out = Value::Dict(std::move(pairs));
    return true;
  }

  ModuleState* st_;
  const ToValueOptions& opts_;
};

}  // namespace

bool ToValue(ModuleState* state, PyObject* obj, const ToValueOptions& options, Value* out) {
  Value v;
  if (!Converter(state, options).Convert(obj, 0, &v)) return false;
  *out = std::move(v);
  return true;
}

namespace {

// The receiving half of __share__: find the class by module and qualified
// name in *this* interpreter and let it rebuild the object.
PyObject* Unshare(ModuleState* state, const Value& value) {
  PyObject* cls = PyImport_ImportModule(value.custom_module().c_str());
  if (cls == nullptr) {
    PyErr_Format(state->not_shareable,
                 "cannot rebuild a shared %s.%s: its module cannot be imported in the receiving interpreter "
                 "(classes that cross interpreters must live in an importable module)",
                 value.custom_module().c_str(), value.custom_qualname().c_str());
    return nullptr;
  }
  const std::string& qual = value.custom_qualname();
  size_t start = 0;
  while (cls != nullptr && start <= qual.size()) {
    const size_t dot = qual.find('.', start);
    const std::string part = qual.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    PyObject* next = PyObject_GetAttrString(cls, part.c_str());
    Py_DECREF(cls);
    cls = next;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (cls == nullptr) {
    PyErr_Clear();
    PyErr_Format(state->not_shareable, "cannot rebuild a shared %s.%s: no such class in the receiving interpreter",
                 value.custom_module().c_str(), qual.c_str());
    return nullptr;
  }
  PyObject* inner = FromValue(state, value.custom_state());
  // One argument, even when it is a tuple (PyObject_CallMethod with "O"
  // would unpack a tuple into several arguments).
  PyObject* name = inner ? PyUnicode_FromString("__unshare__") : nullptr;
  PyObject* r = name ? PyObject_CallMethodOneArg(cls, name, inner) : nullptr;
  Py_XDECREF(name);
  Py_XDECREF(inner);
  Py_DECREF(cls);
  return r;
}

}  // namespace

PyObject* FromValue(ModuleState* state, const Value& value) {
  switch (value.kind()) {
    case ValueKind::kNone: Py_RETURN_NONE;
    case ValueKind::kBool: return PyBool_FromLong(value.as_bool());
    case ValueKind::kInt: return PyLong_FromLongLong(value.as_int());
    case ValueKind::kBigInt: return compat::LongFromBytes(value.big_int_bytes());
    case ValueKind::kFloat: return PyFloat_FromDouble(value.as_float());
    case ValueKind::kComplex: return PyComplex_FromDoubles(value.complex_real(), value.complex_imag());
    case ValueKind::kStr:
      return PyUnicode_DecodeUTF8(value.str().data(), static_cast<Py_ssize_t>(value.str().size()), "surrogatepass");
    case ValueKind::kBytes:
      return PyBytes_FromStringAndSize(value.str().data(), static_cast<Py_ssize_t>(value.str().size()));
    case ValueKind::kTuple: {
      const auto& items = value.items();
      PyObject* t = PyTuple_New(static_cast<Py_ssize_t>(items.size()));
      if (t == nullptr) return nullptr;
      for (size_t k = 0; k < items.size(); ++k) {
        PyObject* o = FromValue(state, items[k]);
        if (o == nullptr) {
          Py_DECREF(t);
          return nullptr;
        }
        PyTuple_SET_ITEM(t, static_cast<Py_ssize_t>(k), o);
      }
      return t;
    }
    case ValueKind::kList: {
      const auto& items = value.items();
      PyObject* l = PyList_New(static_cast<Py_ssize_t>(items.size()));
      if (l == nullptr) return nullptr;
      for (size_t k = 0; k < items.size(); ++k) {
        PyObject* o = FromValue(state, items[k]);
        if (o == nullptr) {
          Py_DECREF(l);
          return nullptr;
        }
        PyList_SET_ITEM(l, static_cast<Py_ssize_t>(k), o);
      }
      return l;
    }
    case ValueKind::kFrozenSet: {
      PyObject* s = PyFrozenSet_New(nullptr);
      if (s == nullptr) return nullptr;
      for (const auto& item : value.items()) {
        PyObject* o = FromValue(state, item);
        if (o == nullptr || PySet_Add(s, o) != 0) {
          Py_XDECREF(o);
          Py_DECREF(s);
          return nullptr;
        }
        Py_DECREF(o);
      }
      return s;
    }
    case ValueKind::kDict: {
      PyObject* d = PyDict_New();
      if (d == nullptr) return nullptr;
      for (const auto& [k, v] : value.pairs()) {
        PyObject* ko = FromValue(state, k);
        PyObject* vo = ko ? FromValue(state, v) : nullptr;
        if (vo == nullptr || PyDict_SetItem(d, ko, vo) != 0) {
          Py_XDECREF(ko);
          Py_XDECREF(vo);
          Py_DECREF(d);
          return nullptr;
        }
        Py_DECREF(ko);
        Py_DECREF(vo);
      }
      return d;
    }
    case ValueKind::kBuffer: {
      auto ref = std::static_pointer_cast<BufferRef>(value.handle());
      if (ref->as() == BufferRef::As::kBytes) {
        return PyBytes_FromStringAndSize(ref->data(), static_cast<Py_ssize_t>(ref->size()));
      }
      const bool as_view = ref->as() == BufferRef::As::kMemoryView;
      PyObject* sb = NewSharedBuffer(state, std::move(ref));
      if (sb == nullptr || !as_view) return sb;
      PyObject* mv = PyMemoryView_FromObject(sb);
      Py_DECREF(sb);
      return mv;
    }
    case ValueKind::kChannel:
      return NewChannelObject(state, std::static_pointer_cast<ChannelCore>(value.handle()));
    case ValueKind::kCustom:
      return Unshare(state, value);
    case ValueKind::kActor:
      return ActorHandleFromValue(state, value);
    case ValueKind::kPickled:
      break;
  }
  PyErr_Format(state->not_shareable, "cannot receive a value of kind %s here",
               std::string(KindName(value.kind())).c_str());
  return nullptr;
}

}  // namespace interpd
