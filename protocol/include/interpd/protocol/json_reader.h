// JSON reader: one untrusted JSON text -> Value, built directly from the SAX
// events of nlohmann::json (no nlohmann DOM is ever built: its recursive
// destructor and dump() overflow the stack on deep documents).
//
// Mapping (PROTOCOL.md "JSON <-> Python", the same choices as json.loads):
//   object -> Dict (insertion order; a duplicate key keeps its first position
//   and takes the last value), array -> List, string -> Str, integer literal
//   of any size -> Int or BigInt, any other number -> Float, true/false ->
//   Bool, null -> None.
//
// Differences from json.loads, all on purpose:
//   - NaN, Infinity and -Infinity are not accepted (they are not JSON).
//   - A finite literal beyond the double range (1e400) is refused instead of
//     becoming inf: inf could not be written back as JSON.
//   - A \u escape of a lone surrogate ("\ud800") is a syntax error: nlohmann's
//     lexer requires surrogate escapes to come in pairs. (The writer does emit
//     such escapes for Python strs that hold lone surrogates; see
//     docs/protocol-internals.md.)
//   - A UTF-8 byte order mark at the very start is skipped.
//
// Thread safety: a pure function; call it from any thread.
//
// Invariants:
//   1. Limits are enforced during the parse: the container that would exceed
//      max_depth is never opened, an integer's digits are counted before it
//      is converted. Work and memory are linear in the input size.
//   2. On failure *out is untouched and the error says which kind it is, so
//      the caller can answer -32700 or -32004.
#ifndef INTERPD_PROTOCOL_JSON_READER_H_
#define INTERPD_PROTOCOL_JSON_READER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "interpd/protocol/limits.h"
#include "interpd/value.h"

namespace interpd::protocol {

struct JsonReadError {
  enum class Kind {
    kNone,
    kSyntax,         // not JSON: bad token, invalid UTF-8, trailing data, float out of range -> -32700
    kTooDeep,        // nesting beyond Limits::max_depth -> -32004
    kNumberTooLong,  // integer literal beyond Limits::max_integer_digits -> -32004
  };
  Kind kind = Kind::kNone;
  // Byte offset into the text where the problem was found: the offending
  // byte for syntax errors, the opening bracket for kTooDeep, the first digit
  // (or '-') of the number for kNumberTooLong.
  size_t offset = 0;
  // One sentence, valid UTF-8, safe to send to the client, e.g.
  // "syntax error at byte 9: invalid literal".
  std::string message;
};

// Parses `text`, which must hold exactly one JSON value (surrounding JSON
// whitespace allowed). Returns true and sets *out, or returns false and sets
// *error.
bool ReadJson(std::string_view text, const Limits& limits, Value* out, JsonReadError* error);

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_JSON_READER_H_
