// sys.stdout / sys.stderr / sys.stdin of worker interpreters.
//
// Each worker interpreter gets these objects once; they write into (and read
// from) whatever task is current in that interpreter, so a task costs no
// Python allocations for its standard streams. They are small C types rather
// than io.StringIO because StringIO would be created per task and would keep
// what one task wrote visible to the next.
#include <string>
#include <string_view>

#include "interp_context.h"
#include "interpd_module.h"
#include "output_capture.h"

namespace interpd {

namespace {

struct SinkObject {
  PyObject_HEAD
  int stream;          // 1 stdout, 2 stderr
  PyObject* buffer;    // the matching _ByteSink, created lazily
};

struct SourceObject {
  PyObject_HEAD
  bool closed;
};

InterpreterContext* ContextOf(PyObject* self) {
  ModuleState* st = GetModuleStateByType(Py_TYPE(self));
  return st ? st->ctx : nullptr;
}

void WriteText(PyObject* self, int stream, std::string_view utf8) {
  if (InterpreterContext* ctx = ContextOf(self)) {
    ctx->output.Write(stream == 1 ? OutputStream::kStdout : OutputStream::kStderr, utf8);
  }
}

// ---- _TextSink ------------------------------------------------------------

PyObject* Sink_write(PyObject* self, PyObject* arg) {
  if (!PyUnicode_Check(arg)) {
    PyErr_Format(PyExc_TypeError, "write() argument must be str, not %.100s", Py_TYPE(arg)->tp_name);
    return nullptr;
  }
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(arg, &n);
  if (p != nullptr) {
    WriteText(self, reinterpret_cast<SinkObject*>(self)->stream, std::string_view(p, static_cast<size_t>(n)));
  } else {
    // Lone surrogates cannot be UTF-8: show them as escapes, like a terminal
    // with errors='backslashreplace' would.
    PyErr_Clear();
    PyObject* enc = PyUnicode_AsEncodedString(arg, "utf-8", "backslashreplace");
    if (enc == nullptr) return nullptr;
    WriteText(self, reinterpret_cast<SinkObject*>(self)->stream,
              std::string_view(PyBytes_AS_STRING(enc), static_cast<size_t>(PyBytes_GET_SIZE(enc))));
    Py_DECREF(enc);
  }
  return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(arg));
}

PyObject* Sink_writelines(PyObject* self, PyObject* lines) {
  PyObject* it = PyObject_GetIter(lines);
  if (it == nullptr) return nullptr;
  while (PyObject* line = PyIter_Next(it)) {
    PyObject* r = Sink_write(self, line);
    Py_DECREF(line);
    if (r == nullptr) {
      Py_DECREF(it);
      return nullptr;
    }
    Py_DECREF(r);
  }
  Py_DECREF(it);
  if (PyErr_Occurred()) return nullptr;
  Py_RETURN_NONE;
}

PyObject* Sink_flush(PyObject* self, PyObject*) {
  if (InterpreterContext* ctx = ContextOf(self)) ctx->output.Flush();
  Py_RETURN_NONE;
}

PyObject* ReturnFalse(PyObject*, PyObject*) { Py_RETURN_FALSE; }
PyObject* ReturnTrue(PyObject*, PyObject*) { Py_RETURN_TRUE; }

PyObject* NoFileno(PyObject*, PyObject*) {
  // io.UnsupportedOperation is what io streams without a descriptor raise;
  // code like faulthandler.enable() expects exactly that.
  PyObject* io = PyImport_ImportModule("io");
  if (io == nullptr) return nullptr;
  PyObject* exc = PyObject_GetAttrString(io, "UnsupportedOperation");
  Py_DECREF(io);
  if (exc == nullptr) return nullptr;
  PyErr_SetString(exc, "interpd task streams have no file descriptor");
  Py_DECREF(exc);
  return nullptr;
}

PyObject* Sink_get_buffer(PyObject* self, void*) {
  auto* s = reinterpret_cast<SinkObject*>(self);
  if (s->buffer == nullptr) {
    ModuleState* st = GetModuleStateByType(Py_TYPE(self));
    auto* tp = reinterpret_cast<PyTypeObject*>(st->byte_sink_type);
    s->buffer = tp->tp_alloc(tp, 0);
    if (s->buffer == nullptr) return nullptr;
    reinterpret_cast<SinkObject*>(s->buffer)->stream = s->stream;
  }
  return Py_NewRef(s->buffer);
}

PyObject* Sink_get_name(PyObject* self, void*) {
  return PyUnicode_FromString(reinterpret_cast<SinkObject*>(self)->stream == 1 ? "<stdout>" : "<stderr>");
}
PyObject* Get_encoding(PyObject*, void*) { return PyUnicode_FromString("utf-8"); }
PyObject* Get_errors(PyObject*, void*) { return PyUnicode_FromString("backslashreplace"); }
PyObject* Get_false(PyObject*, void*) { Py_RETURN_FALSE; }
PyObject* Get_none(PyObject*, void*) { Py_RETURN_NONE; }
PyObject* Get_write_mode(PyObject*, void*) { return PyUnicode_FromString("w"); }

int Sink_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(reinterpret_cast<SinkObject*>(self)->buffer);
  Py_VISIT(Py_TYPE(self));
  return 0;
}
int Sink_clear(PyObject* self) {
  Py_CLEAR(reinterpret_cast<SinkObject*>(self)->buffer);
  return 0;
}
void Sink_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  Sink_clear(self);
  tp->tp_free(self);
  Py_DECREF(tp);
}

PyMethodDef kSinkMethods[] = {
    {"write", Sink_write, METH_O, "Write a str to the task's captured output; returns its length."},
    {"writelines", Sink_writelines, METH_O, "Write each str of an iterable."},
    {"flush", Sink_flush, METH_NOARGS, "Send buffered output of a streaming task now."},
    {"isatty", ReturnFalse, METH_NOARGS, nullptr},
    {"writable", ReturnTrue, METH_NOARGS, nullptr},
    {"readable", ReturnFalse, METH_NOARGS, nullptr},
    {"seekable", ReturnFalse, METH_NOARGS, nullptr},
    {"fileno", NoFileno, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};
PyGetSetDef kSinkGetSet[] = {
    {"buffer", Sink_get_buffer, nullptr, "Binary view: bytes written here are decoded as UTF-8.", nullptr},
    {"name", Sink_get_name, nullptr, nullptr, nullptr},
    {"encoding", Get_encoding, nullptr, nullptr, nullptr},
    {"errors", Get_errors, nullptr, nullptr, nullptr},
    {"closed", Get_false, nullptr, nullptr, nullptr},
    {"line_buffering", Get_false, nullptr, nullptr, nullptr},
    {"newlines", Get_none, nullptr, nullptr, nullptr},
    {"mode", Get_write_mode, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};
PyType_Slot kSinkSlots[] = {
    {Py_tp_doc, const_cast<char*>("Captures a task's text output (sys.stdout / sys.stderr).")},
    {Py_tp_methods, kSinkMethods},
    {Py_tp_getset, kSinkGetSet},
    {Py_tp_traverse, reinterpret_cast<void*>(Sink_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(Sink_clear)},
    {Py_tp_dealloc, reinterpret_cast<void*>(Sink_dealloc)},
    {0, nullptr},
};

// ---- _ByteSink (sys.stdout.buffer) -------------------------------------------

PyObject* ByteSink_write(PyObject* self, PyObject* arg) {
  Py_buffer view;
  if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0) return nullptr;
  std::string text = SanitizeUtf8(std::string_view(static_cast<const char*>(view.buf), static_cast<size_t>(view.len)));
  Py_ssize_t len = view.len;
  PyBuffer_Release(&view);
  WriteText(self, reinterpret_cast<SinkObject*>(self)->stream, text);
  return PyLong_FromSsize_t(len);
}

PyMethodDef kByteSinkMethods[] = {
    {"write", ByteSink_write, METH_O, "Write bytes (decoded as UTF-8, invalid sequences replaced)."},
    {"flush", Sink_flush, METH_NOARGS, nullptr},
    {"isatty", ReturnFalse, METH_NOARGS, nullptr},
    {"writable", ReturnTrue, METH_NOARGS, nullptr},
    {"readable", ReturnFalse, METH_NOARGS, nullptr},
    {"seekable", ReturnFalse, METH_NOARGS, nullptr},
    {"fileno", NoFileno, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};
PyGetSetDef kByteSinkGetSet[] = {
    {"closed", Get_false, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};
PyType_Slot kByteSinkSlots[] = {
    {Py_tp_doc, const_cast<char*>("Binary side of a task's captured output.")},
    {Py_tp_methods, kByteSinkMethods},
    {Py_tp_getset, kByteSinkGetSet},
    {Py_tp_traverse, reinterpret_cast<void*>(Sink_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(Sink_clear)},
    {Py_tp_dealloc, reinterpret_cast<void*>(Sink_dealloc)},
    {0, nullptr},
};

// ---- _TextSource (sys.stdin) ---------------------------------------------------

// Length in bytes of `chars` UTF-8 characters starting at `pos` (or to the end).
size_t Utf8Span(const std::string& s, size_t pos, Py_ssize_t chars) {
  size_t end = pos;
  while (end < s.size() && chars != 0) {
    ++end;
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) ++end;
    if (chars > 0) --chars;
  }
  return end - pos;
}

PyObject* TakeText(InterpreterContext* ctx, size_t nbytes) {
  PyObject* r = PyUnicode_DecodeUTF8(ctx->stdin_text.data() + ctx->stdin_pos, static_cast<Py_ssize_t>(nbytes),
                                     "surrogateescape");
  if (r) ctx->stdin_pos += nbytes;
  return r;
}

InterpreterContext* ReadableContext(PyObject* self) {
  if (reinterpret_cast<SourceObject*>(self)->closed) {
    PyErr_SetString(PyExc_ValueError, "I/O operation on closed file.");
    return nullptr;
  }
  InterpreterContext* ctx = ContextOf(self);
  if (ctx == nullptr) PyErr_SetString(PyExc_RuntimeError, "no interpd task is running");
  return ctx;
}

bool SizeArg(PyObject* const* args, Py_ssize_t nargs, Py_ssize_t* size) {
  *size = -1;
  if (nargs > 1) {
    PyErr_SetString(PyExc_TypeError, "expected at most 1 argument");
    return false;
  }
  if (nargs == 1 && args[0] != Py_None) {
    *size = PyLong_AsSsize_t(args[0]);
    if (*size == -1 && PyErr_Occurred()) return false;
  }
  return true;
}

PyObject* Source_read(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  Py_ssize_t size;
  if (!SizeArg(args, nargs, &size)) return nullptr;
  InterpreterContext* ctx = ReadableContext(self);
  if (ctx == nullptr) return nullptr;
  return TakeText(ctx, Utf8Span(ctx->stdin_text, ctx->stdin_pos, size < 0 ? -1 : size));
}

PyObject* Source_readline(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  Py_ssize_t size;
  if (!SizeArg(args, nargs, &size)) return nullptr;
  InterpreterContext* ctx = ReadableContext(self);
  if (ctx == nullptr) return nullptr;
  const std::string& s = ctx->stdin_text;
  size_t nl = s.find('\n', ctx->stdin_pos);
  size_t line_bytes = (nl == std::string::npos ? s.size() : nl + 1) - ctx->stdin_pos;
  if (size >= 0) line_bytes = std::min(line_bytes, Utf8Span(s, ctx->stdin_pos, size));
  return TakeText(ctx, line_bytes);
}

PyObject* Source_readlines(PyObject* self, PyObject*) {
  PyObject* list = PyList_New(0);
  if (list == nullptr) return nullptr;
  for (;;) {
    PyObject* line = Source_readline(self, nullptr, 0);
    if (line == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    if (PyUnicode_GET_LENGTH(line) == 0) {
      Py_DECREF(line);
      return list;
    }
    int rc = PyList_Append(list, line);
    Py_DECREF(line);
    if (rc != 0) {
      Py_DECREF(list);
      return nullptr;
    }
  }
}

PyObject* Source_iternext(PyObject* self) {
  PyObject* line = Source_readline(self, nullptr, 0);
  if (line != nullptr && PyUnicode_GET_LENGTH(line) == 0) {
    Py_DECREF(line);
    return nullptr;  // StopIteration
  }
  return line;
}

PyObject* Source_close(PyObject* self, PyObject*) {
  reinterpret_cast<SourceObject*>(self)->closed = true;
  Py_RETURN_NONE;
}
PyObject* Source_get_closed(PyObject* self, void*) {
  return PyBool_FromLong(reinterpret_cast<SourceObject*>(self)->closed);
}
PyObject* Source_get_name(PyObject*, void*) { return PyUnicode_FromString("<stdin>"); }
PyObject* Get_read_mode(PyObject*, void*) { return PyUnicode_FromString("r"); }

void Source_dealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  tp->tp_free(self);
  Py_DECREF(tp);
}

PyMethodDef kSourceMethods[] = {
    {"read", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(Source_read)), METH_FASTCALL,
     "Read up to size characters of the task's stdin (all when omitted)."},
    {"readline", reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(Source_readline)), METH_FASTCALL,
     "Read one line of the task's stdin."},
    {"readlines", Source_readlines, METH_NOARGS, "Read the remaining lines."},
    {"close", Source_close, METH_NOARGS, nullptr},
    {"isatty", ReturnFalse, METH_NOARGS, nullptr},
    {"readable", ReturnTrue, METH_NOARGS, nullptr},
    {"writable", ReturnFalse, METH_NOARGS, nullptr},
    {"seekable", ReturnFalse, METH_NOARGS, nullptr},
    {"fileno", NoFileno, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};
PyGetSetDef kSourceGetSet[] = {
    {"closed", Source_get_closed, nullptr, nullptr, nullptr},
    {"name", Source_get_name, nullptr, nullptr, nullptr},
    {"encoding", Get_encoding, nullptr, nullptr, nullptr},
    {"errors", Get_errors, nullptr, nullptr, nullptr},
    {"mode", Get_read_mode, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};
PyType_Slot kSourceSlots[] = {
    {Py_tp_doc, const_cast<char*>("The task's standard input (sys.stdin).")},
    {Py_tp_methods, kSourceMethods},
    {Py_tp_getset, kSourceGetSet},
    {Py_tp_iter, reinterpret_cast<void*>(PyObject_SelfIter)},
    {Py_tp_iternext, reinterpret_cast<void*>(Source_iternext)},
    {Py_tp_dealloc, reinterpret_cast<void*>(Source_dealloc)},
    {0, nullptr},
};

PyType_Spec kSinkSpec = {"interpd._TextSink", sizeof(SinkObject), 0,
                         Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION, kSinkSlots};
PyType_Spec kByteSinkSpec = {"interpd._ByteSink", sizeof(SinkObject), 0,
                             Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION, kByteSinkSlots};
PyType_Spec kSourceSpec = {"interpd._TextSource", sizeof(SourceObject), 0,
                           Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION, kSourceSlots};

}  // namespace

int AddStdioTypes(PyObject* module, ModuleState* st) {
  st->sink_type = PyType_FromModuleAndSpec(module, &kSinkSpec, nullptr);
  st->byte_sink_type = PyType_FromModuleAndSpec(module, &kByteSinkSpec, nullptr);
  st->source_type = PyType_FromModuleAndSpec(module, &kSourceSpec, nullptr);
  if (!st->sink_type || !st->byte_sink_type || !st->source_type) return -1;
  return 0;
}

// The types cannot be instantiated from Python (a stray sink would write to a
// stream that does not exist), so objects are allocated directly.
PyObject* NewTextSink(ModuleState* st, int stream) {
  auto* tp = reinterpret_cast<PyTypeObject*>(st->sink_type);
  PyObject* sink = tp->tp_alloc(tp, 0);
  if (sink) reinterpret_cast<SinkObject*>(sink)->stream = stream;
  return sink;
}

PyObject* NewTextSource(ModuleState* st) {
  auto* tp = reinterpret_cast<PyTypeObject*>(st->source_type);
  return tp->tp_alloc(tp, 0);
}

}  // namespace interpd
