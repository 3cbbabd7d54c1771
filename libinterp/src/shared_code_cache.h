// SharedCodeCache: compiled scripts for every interpreter of the process, as
// marshal data (interpreter-independent bytes in the C++ heap).
//
// Why: a code object belongs to the interpreter that made it, so each
// interpreter's CodeCache starts empty. A fresh-isolation spare or a
// recycled worker's successor would compile every script again (150-400 us
// for a small one, through the AST); loading the same code from marshal data
// takes a few microseconds. This is what .pyc files do, kept in memory.
//
// Thread safety: Load/Store may run on any worker thread, under its own
// interpreter's GIL (for the Python side) and mu_ (for the map, held only
// around map operations; marshalling happens outside it).
//
// Invariants:
//   1. An entry matches only the exact source text and file name, like
//      CodeCache (the hash picks the bucket, the texts are compared).
//   2. The entries' bytes (sources included) stay under kMaxBytes; the least
//      recently used go first. A script larger than a quarter of it is not
//      kept.
//   3. Entries hold no Python object: they outlive every interpreter.
#ifndef INTERPD_SHARED_CODE_CACHE_H_
#define INTERPD_SHARED_CODE_CACHE_H_

#include <cstddef>
#include <string>

#include "code_cache.h"

namespace interpd {

class SharedCodeCache {
 public:
  static constexpr size_t kMaxBytes = 32 << 20;

  SharedCodeCache() = delete;

  // Fills `out` (new references) from a stored entry. False, with no
  // exception set, when there is none or it cannot be loaded.
  // REQUIRES: the GIL of the calling thread's interpreter.
  static bool Load(const std::string& source, const std::string& filename, CodeCache::Compiled* out);
  // Stores `code` for other interpreters. Never raises.
  // REQUIRES: the GIL of the interpreter that owns `code`.
  static void Store(const std::string& source, const std::string& filename, const CodeCache::Compiled& code);
  // Entries and bytes held (for tests).
  static size_t entries();
  static size_t bytes();
};

}  // namespace interpd

#endif  // INTERPD_SHARED_CODE_CACHE_H_
