// CodeCache: compiled scripts of one interpreter, by source hash, so that a
// script submitted again is not recompiled.
//
// Thread safety: used only under the owning interpreter's GIL.
//
// Invariants:
//   1. Holds at most `capacity` entries; the least recently used goes first.
//   2. An entry matches only the exact same source text and file name (the
//      hash picks the bucket; the texts are compared), so a collision costs a
//      compile, never a wrong script.
//   3. Code objects belong to this interpreter: Clear() must run before it is
//      destroyed.
#ifndef INTERPD_CODE_CACHE_H_
#define INTERPD_CODE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

#include "python_compat.h"

namespace interpd {

class CodeCache {
 public:
  // The script split as a REPL runs it: `body` executes everything but a
  // final expression statement, `last` evaluates that expression (or is
  // nullptr). Both are new references.
  struct Compiled {
    PyObject* body = nullptr;
    PyObject* last = nullptr;
  };

  // `shared`: look scripts up in, and add them to, the process-wide
  // SharedCodeCache on a miss (shared_code_cache.h).
  explicit CodeCache(size_t capacity, bool shared = true) : capacity_(capacity), shared_(shared) {}
  ~CodeCache();
  CodeCache(const CodeCache&) = delete;
  CodeCache& operator=(const CodeCache&) = delete;

  // REQUIRES: GIL. Returns false with a Python exception (SyntaxError...) set.
  bool Get(const std::string& source, const std::string& filename, Compiled* out);
  // REQUIRES: GIL.
  void Clear();

  size_t size() const { return lru_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  struct Entry {
    uint64_t hash;
    std::string source;
    std::string filename;
    Compiled code;
  };
  static bool Compile(const std::string& source, const std::string& filename, Compiled* out);

  const size_t capacity_;
  const bool shared_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_multimap<uint64_t, std::list<Entry>::iterator> index_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace interpd

#endif  // INTERPD_CODE_CACHE_H_
