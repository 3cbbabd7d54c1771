#include "py_value.h"

#include <string>
#include <vector>

#include "interpd_module.h"

namespace interpd {

namespace {

bool NotShareable(ModuleState* st, PyObject* obj, const char* why) {
  PyErr_Format(st->not_shareable, "%s of type '%.200s' %s", "object", Py_TYPE(obj)->tp_name, why);
  return false;
}

bool StrToValue(PyObject* obj, Value* out) {
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(obj, &n);
  if (p != nullptr) {
    *out = Value::Str(std::string(p, static_cast<size_t>(n)));
    return true;
  }
  // Lone surrogates: keep them exactly (value.h invariant 3).
  PyErr_Clear();
  PyObject* enc = PyUnicode_AsEncodedString(obj, "utf-8", "surrogatepass");
  if (enc == nullptr) return false;
  *out = Value::Str(std::string(PyBytes_AS_STRING(enc), static_cast<size_t>(PyBytes_GET_SIZE(enc))));
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
    if (sub ? PyBytes_Check(obj) : PyBytes_CheckExact(obj)) {
      *out = Value::Bytes(std::string(PyBytes_AS_STRING(obj), static_cast<size_t>(PyBytes_GET_SIZE(obj))));
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
    case ValueKind::kBuffer:
    case ValueKind::kChannel:
    case ValueKind::kActor:
    case ValueKind::kPickled:
    case ValueKind::kCustom:
      break;
  }
  PyErr_Format(state->not_shareable, "cannot receive a value of kind %s here",
               std::string(KindName(value.kind())).c_str());
  return nullptr;
}

}  // namespace interpd
