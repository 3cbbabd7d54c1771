#include "shared_buffer_object.h"

#include <cstring>
#include <new>
#include <string>

namespace interpd {

namespace {

struct SharedBufferObject {
  PyObject_HEAD
  std::shared_ptr<BufferRef> ref;  // invariant 1 (placement-constructed)
  Py_hash_t hash;                  // -1 until computed
};

SharedBufferObject* Self(PyObject* o) { return reinterpret_cast<SharedBufferObject*>(o); }

PyObject* Alloc(PyTypeObject* type, std::shared_ptr<BufferRef> ref) {
  PyObject* o = type->tp_alloc(type, 0);
  if (o == nullptr) return nullptr;
  new (&Self(o)->ref) std::shared_ptr<BufferRef>(std::move(ref));
  Self(o)->hash = -1;
  return o;
}

PyObject* SB_new(PyTypeObject* type, PyObject* args, PyObject* kwds) {
  SafePoint();
  static const char* kwlist[] = {"data", nullptr};
  PyObject* data = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:SharedBuffer", const_cast<char**>(kwlist), &data)) return nullptr;
  ModuleState* st = GetModuleStateByType(type);
  if (Py_IS_TYPE(data, type)) return Py_NewRef(data);
  if (PyUnicode_Check(data)) {
    PyErr_SetString(PyExc_TypeError, "SharedBuffer needs a bytes-like object, not str (encode it first)");
    return nullptr;
  }
  if (const auto* ref = SharedBufferRef(st, data)) return Alloc(type, *ref);
  if (!PyObject_CheckBuffer(data)) {
    PyErr_Format(PyExc_TypeError, "SharedBuffer needs a bytes-like object, not '%.200s'", Py_TYPE(data)->tp_name);
    return nullptr;
  }
  // Zero-copy for immutable memory (bytes, a view of bytes); one snapshot
  // into runtime memory for anything mutable.
  std::shared_ptr<BufferExport> exp = BufferExport::Export(data, ShareOwner::Current());
  if (!exp) return nullptr;
  const size_t n = exp->size();
  return Alloc(type, std::make_shared<BufferRef>(std::move(exp), 0, n, BufferRef::As::kSharedBuffer));
}

void SB_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  // Dropping the share may queue a release for the owner (share.h).
  Self(self)->ref.~shared_ptr();
  tp->tp_free(self);
  Py_DECREF(tp);
}

int SB_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  if (flags & PyBUF_WRITABLE) {
    PyErr_SetString(PyExc_BufferError, "interpd.SharedBuffer is read-only");
    view->obj = nullptr;
    return -1;
  }
  const BufferRef& ref = *Self(self)->ref;
  return PyBuffer_FillInfo(view, self, const_cast<char*>(ref.data()), static_cast<Py_ssize_t>(ref.size()),
                           /*readonly=*/1, flags);
}

Py_ssize_t SB_length(PyObject* self) { return static_cast<Py_ssize_t>(Self(self)->ref->size()); }

PyObject* SB_subscript(PyObject* self, PyObject* key) {
  const auto& ref = Self(self)->ref;
  const Py_ssize_t len = static_cast<Py_ssize_t>(ref->size());
  if (PyIndex_Check(key)) {
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred()) return nullptr;
    if (i < 0) i += len;
    if (i < 0 || i >= len) {
      PyErr_SetString(PyExc_IndexError, "SharedBuffer index out of range");
      return nullptr;
    }
    return PyLong_FromLong(static_cast<unsigned char>(ref->data()[i]));
  }
  if (PySlice_Check(key)) {
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(key, &start, &stop, &step) < 0) return nullptr;
    const Py_ssize_t n = PySlice_AdjustIndices(len, &start, &stop, step);
    if (step == 1) {
      // Zero-copy: a slice is another share of the same export.
      return Alloc(Py_TYPE(self), std::make_shared<BufferRef>(ref->exported(), ref->offset() + static_cast<size_t>(start),
                                                              static_cast<size_t>(n), BufferRef::As::kSharedBuffer));
    }
    std::string out;
    out.reserve(static_cast<size_t>(n));
    for (Py_ssize_t k = 0, i = start; k < n; ++k, i += step) out += ref->data()[i];
    return PyBytes_FromStringAndSize(out.data(), static_cast<Py_ssize_t>(out.size()));
  }
  PyErr_Format(PyExc_TypeError, "SharedBuffer indices must be integers or slices, not %.200s", Py_TYPE(key)->tp_name);
  return nullptr;
}

PyObject* SB_bytes(PyObject* self, PyObject*) {
  const auto& ref = Self(self)->ref;
  return PyBytes_FromStringAndSize(ref->data(), static_cast<Py_ssize_t>(ref->size()));
}

PyObject* SB_reduce(PyObject* self, PyObject*) {
  // Pickled (e.g. on a pickle=True channel or by the user) as a copy.
  PyObject* b = SB_bytes(self, nullptr);
  if (b == nullptr) return nullptr;
  return Py_BuildValue("(O(N))", Py_TYPE(self), b);
}

PyObject* SB_repr(PyObject* self) { return PyUnicode_FromString(Self(self)->ref->Describe().c_str()); }

Py_hash_t SB_hash(PyObject* self) {
  // Like bytes (and equal to the hash of the equal bytes object), computed
  // once: the contents never change (invariant 2).
  SharedBufferObject* o = Self(self);
  if (o->hash == -1) {
    PyObject* b = SB_bytes(self, nullptr);
    if (b == nullptr) return -1;
    o->hash = PyObject_Hash(b);
    Py_DECREF(b);
  }
  return o->hash;
}

PyObject* SB_richcompare(PyObject* self, PyObject* other, int op) {
  if ((op != Py_EQ && op != Py_NE) || !PyObject_CheckBuffer(other) || PyUnicode_Check(other)) {
    Py_RETURN_NOTIMPLEMENTED;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(other, &view, PyBUF_SIMPLE) != 0) {
    PyErr_Clear();
    Py_RETURN_NOTIMPLEMENTED;
  }
  const auto& ref = Self(self)->ref;
  const bool eq = static_cast<size_t>(view.len) == ref->size() &&
                  (ref->size() == 0 || std::memcmp(view.buf, ref->data(), ref->size()) == 0);
  PyBuffer_Release(&view);
  return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

PyObject* SB_get_nbytes(PyObject* self, void*) { return PyLong_FromSize_t(Self(self)->ref->size()); }
PyObject* SB_get_owner(PyObject* self, void*) {
  const int64_t id = Self(self)->ref->exported()->owner_id();
  if (id < 0) Py_RETURN_NONE;
  return PyLong_FromLongLong(id);
}
PyObject* SB_get_zero_copy(PyObject* self, void*) { return PyBool_FromLong(Self(self)->ref->exported()->zero_copy()); }
PyObject* SB_get_address(PyObject* self, void*) {
  return PyLong_FromVoidPtr(const_cast<char*>(Self(self)->ref->data()));
}

PyMethodDef kMethods[] = {
    {"__bytes__", SB_bytes, METH_NOARGS, "A bytes copy of the contents."},
    {"tobytes", SB_bytes, METH_NOARGS, "A bytes copy of the contents."},
    {"__reduce__", SB_reduce, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};
PyGetSetDef kGetSet[] = {
    {"nbytes", SB_get_nbytes, nullptr, "Length in bytes.", nullptr},
    {"owner", SB_get_owner, nullptr,
     "ID of the interpreter whose object holds the memory, or None for a runtime-owned snapshot.", nullptr},
    {"zero_copy", SB_get_zero_copy, nullptr, "True when the memory is the owner's object itself (not a snapshot).",
     nullptr},
    {"address", SB_get_address, nullptr, "Address of the first byte (to check that no copy was made).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot kSlots[] = {
    {Py_tp_doc, const_cast<char*>(
                    "SharedBuffer(data)\n\n"
                    "Immutable bytes-like data that crosses interpreters without a copy.\n"
                    "Built from bytes (or a read-only view of bytes) it holds that object;\n"
                    "built from a mutable buffer it takes one snapshot. Every send to\n"
                    "another interpreter shares the same memory, read-only; the owner's\n"
                    "object is released in the owner when the last share anywhere is gone.")},
    {Py_tp_new, reinterpret_cast<void*>(SB_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(SB_dealloc)},
    {Py_tp_repr, reinterpret_cast<void*>(SB_repr)},
    {Py_tp_hash, reinterpret_cast<void*>(SB_hash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(SB_richcompare)},
    {Py_tp_methods, kMethods},
    {Py_tp_getset, kGetSet},
    {Py_sq_length, reinterpret_cast<void*>(SB_length)},
    {Py_mp_length, reinterpret_cast<void*>(SB_length)},
    {Py_mp_subscript, reinterpret_cast<void*>(SB_subscript)},
    {Py_bf_getbuffer, reinterpret_cast<void*>(SB_getbuffer)},
    {0, nullptr},
};
PyType_Spec kSpec = {"interpd.SharedBuffer", sizeof(SharedBufferObject), 0,
                     Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, kSlots};

}  // namespace

int AddSharedBufferType(PyObject* module, ModuleState* st) {
  st->shared_buffer_type = PyType_FromModuleAndSpec(module, &kSpec, nullptr);
  if (st->shared_buffer_type == nullptr) return -1;
  return PyModule_AddObjectRef(module, "SharedBuffer", st->shared_buffer_type);
}

PyObject* NewSharedBuffer(ModuleState* st, std::shared_ptr<BufferRef> ref) {
  return Alloc(reinterpret_cast<PyTypeObject*>(st->shared_buffer_type), std::move(ref));
}

const std::shared_ptr<BufferRef>* SharedBufferRef(ModuleState* st, PyObject* obj) {
  if (st == nullptr || st->shared_buffer_type == nullptr ||
      !Py_IS_TYPE(obj, reinterpret_cast<PyTypeObject*>(st->shared_buffer_type))) {
    return nullptr;
  }
  return &Self(obj)->ref;
}

}  // namespace interpd
