// Process-global state owned by this file (crossinterp.c style map):
//   g_mu       guards everything below.
//   g_lru      entries, most recently used first; each holds its source, file
//              name and marshal data (C++ heap, no Python objects).
//   g_index    hash -> entry, for lookups.
//   g_bytes    the entries' total size (invariant 2).
// Allocated on first use and never destroyed: a worker thread of an
// abandoned worker may still use it while the process exits.
#include "shared_code_cache.h"

#include <marshal.h>

#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace interpd {

namespace {

struct Entry {
  uint64_t hash = 0;
  std::string source;
  std::string filename;
  std::string body;  // marshal data of the body code object
  std::string last;  // of the final expression's, or empty
  size_t size() const { return source.size() + filename.size() + body.size() + last.size() + 64; }
};

struct State {
  std::mutex mu;
  std::list<std::shared_ptr<const Entry>> lru;
  std::unordered_multimap<uint64_t, std::list<std::shared_ptr<const Entry>>::iterator> index;
  size_t bytes = 0;
};

State& Global() {
  static State* state = new State();
  return *state;
}

uint64_t HashOf(const std::string& source, const std::string& filename) {
  const uint64_t h1 = std::hash<std::string_view>{}(source);
  const uint64_t h2 = std::hash<std::string_view>{}(filename);
  return h1 ^ (h2 + 0x9E3779B97F4A7C15ull + (h1 << 6) + (h1 >> 2));
}

// REQUIRES: st.mu held.
std::list<std::shared_ptr<const Entry>>::iterator Find(State& st, uint64_t h, const std::string& source,
                                                       const std::string& filename) {
  auto range = st.index.equal_range(h);
  for (auto it = range.first; it != range.second; ++it) {
    const Entry& e = **it->second;
    if (e.source == source && e.filename == filename) return it->second;
  }
  return st.lru.end();
}

bool Dump(PyObject* code, std::string* out) {
  PyObject* data = PyMarshal_WriteObjectToString(code, Py_MARSHAL_VERSION);
  if (data == nullptr) {
    PyErr_Clear();
    return false;
  }
  out->assign(PyBytes_AS_STRING(data), static_cast<size_t>(PyBytes_GET_SIZE(data)));
  Py_DECREF(data);
  return true;
}

PyObject* Undump(const std::string& data) {
  PyObject* code = PyMarshal_ReadObjectFromString(data.data(), static_cast<Py_ssize_t>(data.size()));
  if (code != nullptr && !PyCode_Check(code)) Py_CLEAR(code);
  if (code == nullptr) PyErr_Clear();
  return code;
}

}  // namespace

bool SharedCodeCache::Load(const std::string& source, const std::string& filename, CodeCache::Compiled* out) {
  State& st = Global();
  const uint64_t h = HashOf(source, filename);
  std::shared_ptr<const Entry> e;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    auto it = Find(st, h, source, filename);
    if (it == st.lru.end()) return false;
    st.lru.splice(st.lru.begin(), st.lru, it);
    e = *it;
  }
  CodeCache::Compiled c;
  c.body = Undump(e->body);
  if (c.body != nullptr && !e->last.empty()) {
    c.last = Undump(e->last);
    if (c.last == nullptr) Py_CLEAR(c.body);
  }
  if (c.body == nullptr) return false;
  *out = c;
  return true;
}

void SharedCodeCache::Store(const std::string& source, const std::string& filename,
                            const CodeCache::Compiled& code) {
  auto e = std::make_shared<Entry>();
  e->hash = HashOf(source, filename);
  if (source.size() > kMaxBytes / 4) return;
  if (!Dump(code.body, &e->body)) return;
  if (code.last != nullptr && !Dump(code.last, &e->last)) return;
  e->source = source;
  e->filename = filename;
  const size_t size = e->size();
  if (size > kMaxBytes / 4) return;
  State& st = Global();
  std::lock_guard<std::mutex> lock(st.mu);
  if (Find(st, e->hash, source, filename) != st.lru.end()) return;  // another interpreter was first
  while (!st.lru.empty() && st.bytes + size > kMaxBytes) {
    const std::shared_ptr<const Entry>& victim = st.lru.back();
    auto range = st.index.equal_range(victim->hash);
    for (auto it = range.first; it != range.second; ++it) {
      if (*it->second == victim) {
        st.index.erase(it);
        break;
      }
    }
    st.bytes -= victim->size();
    st.lru.pop_back();
  }
  st.lru.push_front(std::move(e));
  st.index.emplace(st.lru.front()->hash, st.lru.begin());
  st.bytes += size;
}

size_t SharedCodeCache::entries() {
  std::lock_guard<std::mutex> lock(Global().mu);
  return Global().lru.size();
}

size_t SharedCodeCache::bytes() {
  std::lock_guard<std::mutex> lock(Global().mu);
  return Global().bytes;
}

}  // namespace interpd
