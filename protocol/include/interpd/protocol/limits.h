// Limits: the bounds the protocol layer puts on untrusted input.
//
// Thread safety: a plain value; copy it freely. The daemon builds one from its
// configuration at start-up and shares it read-only.
//
// Invariants:
//   1. Every limit is enforced *before* the work it bounds is done: the framer
//      never buffers more than max_frame_bytes, the reader refuses to open the
//      container that would exceed max_depth, integers are measured before they
//      are converted (DecimalToBigInt is quadratic).
//   2. The defaults are safe for a daemon exposed to any local user.
#ifndef INTERPD_PROTOCOL_LIMITS_H_
#define INTERPD_PROTOCOL_LIMITS_H_

#include <cstddef>

namespace interpd::protocol {

struct Limits {
  // Longest line (request or batch), in bytes, counting everything before the
  // '\n' (a '\r' of a CRLF ending included). A longer line is answered with
  // one -32004 and skipped; the connection stays usable.
  size_t max_frame_bytes = size_t{1} << 20;

  // Deepest nesting of arrays and objects in one JSON text, counting the
  // request envelope itself: `[{"params": {"a": [1]}}]` has depth 4. The
  // writer applies the same bound to a result value on its own. Far below
  // the depth at which recursive consumers (Python's json, repr, pickle)
  // would hit their own recursion limits.
  int max_depth = 128;

  // Longest integer literal, in decimal digits (sign excluded). 4300 is
  // CPython's default sys.int_max_str_digits, so every integer accepted here
  // is one the interpreter would also accept from text. Integers of more than
  // 4932 digits are refused whatever this says: the JSON library converts
  // every long number to long double first, and that range ends near 1e4932.
  size_t max_integer_digits = 4300;

  // Most elements in one batch array. A larger batch is answered with a
  // single -32600 ("batch too large") and none of it runs. 10,000 elements
  // fit easily in the default frame; each one becomes a task and a response,
  // so the bound keeps one line from monopolizing the work queue.
  size_t max_batch_size = 10000;
};

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_LIMITS_H_
