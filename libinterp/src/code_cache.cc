#include "code_cache.h"

#include "shared_code_cache.h"

#include <functional>
#include <string_view>

namespace interpd {

namespace {

uint64_t HashOf(const std::string& source, const std::string& filename) {
  const uint64_t h1 = std::hash<std::string_view>{}(source);
  const uint64_t h2 = std::hash<std::string_view>{}(filename);
  return h1 ^ (h2 + 0x9E3779B97F4A7C15ull + (h1 << 6) + (h1 >> 2));
}

void Release(CodeCache::Compiled* c) {
  Py_CLEAR(c->body);
  Py_CLEAR(c->last);
}

}  // namespace

CodeCache::~CodeCache() {
  // Invariant 3: by now the entries must have been cleared under the GIL.
  // Without an interpreter there is nothing safe left to do with them.
}

void CodeCache::Clear() {
  for (auto& e : lru_) Release(&e.code);
  lru_.clear();
  index_.clear();
}

bool CodeCache::Get(const std::string& source, const std::string& filename, Compiled* out) {
  const uint64_t h = HashOf(source, filename);
  auto range = index_.equal_range(h);
  for (auto it = range.first; it != range.second; ++it) {
    Entry& e = *it->second;
    if (e.source == source && e.filename == filename) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++hits_;
      out->body = Py_NewRef(e.code.body);
      out->last = Py_XNewRef(e.code.last);
      return true;
    }
  }
  ++misses_;
  Compiled code;
  // Another interpreter may have compiled it already (shared_code_cache.h).
  if (!shared_ || !SharedCodeCache::Load(source, filename, &code)) {
    if (!Compile(source, filename, &code)) return false;
    if (shared_) SharedCodeCache::Store(source, filename, code);
  }
  if (capacity_ > 0) {
    if (lru_.size() >= capacity_) {
      Entry& victim = lru_.back();
      auto vr = index_.equal_range(victim.hash);
      for (auto it = vr.first; it != vr.second; ++it) {
        if (&*it->second == &victim) {
          index_.erase(it);
          break;
        }
      }
      Release(&victim.code);
      lru_.pop_back();
    }
    lru_.push_front(Entry{h, source, filename, {Py_NewRef(code.body), Py_XNewRef(code.last)}});
    index_.emplace(h, lru_.begin());
  }
  *out = code;
  return true;
}

bool CodeCache::Compile(const std::string& source, const std::string& filename, Compiled* out) {
  if (source.find('\0') != std::string::npos) {
    // The C compile API reads a NUL-terminated string: refuse rather than
    // silently run a prefix (Python's compile() refuses too).
    PyErr_SetString(PyExc_SyntaxError, "source code cannot contain null bytes");
    return false;
  }
  PyObject* fname = PyUnicode_DecodeFSDefault(filename.c_str());
  if (fname == nullptr) return false;
  PyObject* builtins = PyEval_GetBuiltins();  // borrowed
  PyObject* compile = PyDict_GetItemString(builtins, "compile");  // borrowed
  PyObject* ast_mod = PyImport_ImportModule("_ast");
  PyObject* tree = nullptr;
  PyObject* body = nullptr;
  PyObject* last_expr = nullptr;
  PyObject* expression = nullptr;
  bool ok = false;
  PyCompilerFlags flags = {PyCF_ONLY_AST, PY_MINOR_VERSION};
  do {
    if (compile == nullptr || ast_mod == nullptr) {
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "builtins.compile is missing");
      break;
    }
    tree = Py_CompileStringObject(source.c_str(), fname, Py_file_input, &flags, -1);
    if (tree == nullptr) break;
    body = PyObject_GetAttrString(tree, "body");
    if (body == nullptr || !PyList_Check(body)) break;
    const Py_ssize_t n = PyList_GET_SIZE(body);
    PyObject* expr_type = PyObject_GetAttrString(ast_mod, "Expr");
    if (expr_type == nullptr) break;
    const bool ends_with_expr = n > 0 && Py_IS_TYPE(PyList_GET_ITEM(body, n - 1), (PyTypeObject*)expr_type);
    Py_DECREF(expr_type);
    if (ends_with_expr) {
      // Split off the final expression statement so its value can be kept,
      // the way the interactive interpreter shows it.
      last_expr = PyObject_GetAttrString(PyList_GET_ITEM(body, n - 1), "value");
      if (last_expr == nullptr || PyList_SetSlice(body, n - 1, n, nullptr) != 0) break;
      expression = PyObject_CallMethod(ast_mod, "Expression", "O", last_expr);
      if (expression == nullptr) break;
      out->last = PyObject_CallFunction(compile, "OOs", expression, fname, "eval");
      if (out->last == nullptr) break;
    }
    out->body = PyObject_CallFunction(compile, "OOs", tree, fname, "exec");
    if (out->body == nullptr) break;
    ok = true;
  } while (false);
  if (!ok) Release(out);
  Py_XDECREF(expression);
  Py_XDECREF(last_expr);
  Py_XDECREF(body);
  Py_XDECREF(tree);
  Py_XDECREF(ast_mod);
  Py_DECREF(fname);
  return ok;
}

}  // namespace interpd
