// ParamsReader: typed, validated access to a request's params, producing
// -32602 messages a client can act on, e.g.
//   params.timeout: expected a number, got string
//   params: unknown field "tiemout" (did you mean "timeout"?)
//   params: missing required field "code"
//   params.worker: must be between 0 and 7, got 9
//
// Usage: ask for every field the method accepts, then call Finish(); use
// the values only if it returned OK.
//
//   ParamsReader p(request.params);
//   auto code = p.String("code", ParamsReader::kRequired);
//   auto timeout = p.Number("timeout", 0, 86400);
//   auto args = p.StringList("args");
//   if (Status st = p.Finish(); !st.ok()) return responder.Fail(st);  // -32602
//
// Named params (an object) are always accepted. Positional params (an array)
// are accepted when the method lists its parameter names in order; element
// k is then the field positional[k]. Absent params read as no fields.
//
// Unknown fields are errors, not ignored: a misspelled optional field would
// otherwise silently fall back to its default. A field given as null has
// type null, which no typed getter accepts: every field is typed, none is
// nullable, and an absent field is how a client says "default".
//
// Thread safety: none; one reader is used by one handler, briefly.
//
// Invariants:
//   1. Every getter returns nullopt when the field is absent or invalid, and
//      records the first error; Finish() reports an unknown field before any
//      other error (a typo explains a "missing" field), else the first one.
//   2. Finish() returns OK or InvalidArgument (-32602 via ErrorCodeForStatus).
#ifndef INTERPD_PROTOCOL_PARAMS_READER_H_
#define INTERPD_PROTOCOL_PARAMS_READER_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interpd/status.h"
#include "interpd/value.h"

namespace interpd::protocol {

class ParamsReader {
 public:
  enum Presence { kOptional, kRequired };

  // REQUIRES: params is kDict, kList or kNone (Request invariant 2); the
  // reader keeps a reference, so params outlives it. The names in
  // `positional` must outlive the reader too (string literals do).
  explicit ParamsReader(const Value& params, std::initializer_list<std::string_view> positional = {});

  ParamsReader(const ParamsReader&) = delete;
  ParamsReader& operator=(const ParamsReader&) = delete;

  std::optional<std::string> String(std::string_view name, Presence presence = kOptional);
  std::optional<bool> Bool(std::string_view name, Presence presence = kOptional);
  // An integer literal within [min, max]. 3.0 is a float, not an integer.
  std::optional<int64_t> Int(std::string_view name, int64_t min, int64_t max, Presence presence = kOptional);
  // Any number within [min, max], as a double.
  std::optional<double> Number(std::string_view name, double min, double max, Presence presence = kOptional);
  // An array whose elements are all strings.
  std::optional<std::vector<std::string>> StringList(std::string_view name, Presence presence = kOptional);
  // A string that is one of `choices` (e.g. isolation: "reuse" | "fresh").
  std::optional<std::string> OneOf(std::string_view name, std::initializer_list<std::string_view> choices,
                                   Presence presence = kOptional);
  // Any array (kList) / any object (kDict), passed through as a Value.
  std::optional<Value> Array(std::string_view name, Presence presence = kOptional);
  std::optional<Value> Object(std::string_view name, Presence presence = kOptional);
  // Any value at all, null included, passed through.
  std::optional<Value> Any(std::string_view name, Presence presence = kOptional);

  // Records an error no single field shows (e.g. "params: exactly one of
  // \"code\" and \"path\" is required"). The first error wins.
  void Fail(std::string message);

  // No error recorded yet (unknown fields are checked by Finish() only).
  bool ok() const { return error_.empty(); }

  // The verdict, once every accepted field was asked for.
  Status Finish();

 private:
  // The field's value, marking it used; nullptr when absent (recording an
  // error when required). Also remembers `name` for typo suggestions.
  const Value* Lookup(std::string_view name, Presence presence);
  // Records "params.<name>: expected <expected>, got <type>".
  void WrongType(std::string_view name, std::string_view expected, const Value& got);
  // "did you mean" for an unknown field: the closest requested name.
  std::string Suggest(std::string_view unknown) const;

  // Constant after construction.
  const Value& params_;
  const std::vector<std::string_view> positional_;

  std::vector<bool> used_;                  // per dict pair / list element
  std::vector<std::string> requested_;      // every name asked for
  std::string error_;                       // the first error, empty if none
};

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_PARAMS_READER_H_
