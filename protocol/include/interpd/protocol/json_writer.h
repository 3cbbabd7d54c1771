// JSON writer: serializes a Value as one compact JSON text (no whitespace,
// no newline), on the hot path of every response.
//
// Mapping (PROTOCOL.md "JSON <-> Python"):
//   None -> null, Bool -> true/false, Int/BigInt -> decimal digits,
//   Float -> FloatRepr() digits (Python's repr: 1.0, 1e+16, -0.0),
//   Str -> string, List and Tuple -> array, Dict with Str keys -> object.
// Everything else is not representable: Bytes, Complex, FrozenSet, handles,
// Pickled, Custom, a Dict key that is not a Str, a NaN or infinite float, a
// Str that breaks Value invariant 3, and containers nested deeper than the
// depth limit. The writer then returns kNotShareable naming the type and the
// path, e.g. `value at result[2]["k"] of type bytes is not representable as
// JSON`, and leaves the output exactly as it was: no partial JSON escapes.
//
// Strings are written as UTF-8 (not \u-escaped): only '"', '\\' and control
// characters are escaped, plus lone surrogates (stored surrogatepass-style,
// ED A0..BF xx), which become \udXXX escapes as Python's json.dumps writes
// them. The output is therefore always valid UTF-8 and never contains a raw
// '\n', so it can be framed as one NDJSON line.
//
// Thread safety: pure functions; a Value may be written from several threads
// at once.
//
// Invariants:
//   1. On success the output is one valid JSON text; on failure the output
//      string is restored to its length before the call.
//   2. Success costs no path bookkeeping: the path is assembled only while a
//      failure unwinds.
#ifndef INTERPD_PROTOCOL_JSON_WRITER_H_
#define INTERPD_PROTOCOL_JSON_WRITER_H_

#include <string>
#include <string_view>

#include "interpd/status.h"
#include "interpd/value.h"

namespace interpd::protocol {

struct JsonWriteOptions {
  // How the path of an unrepresentable value begins: "result" gives
  // `result[2]["k"]`.
  std::string_view root = "value";
  // Deepest nesting of arrays/objects written; the root container is depth 1.
  int max_depth = 128;
  // Longest integer written, in decimal digits. Python's json.loads (and
  // int()) refuse more than 4300 by default, so longer ones are refused here
  // rather than sent to clients that cannot read them.
  size_t max_integer_digits = 4300;
};

// Details of a failed write, for error.data of a -32012 response.
struct JsonWriteError {
  std::string path;  // e.g. `result[2]["k"]` (keys JSON-quoted, long ones cut)
  std::string type;  // KindName() of the offending value, e.g. "bytes"
};

// Appends the JSON text of `value` to *out. On failure returns a
// kNotShareable status, fills *error when non-null, and leaves *out unchanged.
Status AppendJson(const Value& value, std::string* out, const JsonWriteOptions& options = {},
                  JsonWriteError* error = nullptr);

// Convenience for tests and cold paths: the JSON text of `value`, or the
// failure status.
Status ToJson(const Value& value, std::string* out, const JsonWriteOptions& options = {});

// Appends `utf8` as a quoted JSON string. Strict mode fails (returns false,
// *out unchanged) on bytes that are neither UTF-8 nor a surrogatepass
// surrogate. Lenient mode replaces each such byte with U+FFFD and always
// succeeds: for messages that may quote client input.
bool AppendJsonString(std::string_view utf8, std::string* out);
void AppendJsonStringLenient(std::string_view text, std::string* out);

// The JSON name of what a value of `kind` is on the wire, for error
// messages: "null", "boolean", "number", "string", "array", "object"; the
// Python type name (KindName) for kinds JSON cannot carry.
std::string_view JsonTypeName(ValueKind kind);

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_JSON_WRITER_H_
