// RequestId: the "id" member of a request, as the response must echo it.
//
// JSON-RPC 2.0 allows a string, a number or null, or no id at all (a
// notification, which gets no response). The id keeps the received Value and
// its canonical JSON text, written once, so every response for the request
// copies bytes instead of re-serializing, and so the daemon can key maps by
// id (e.g. to find the run a `cancel` names).
//
// Thread safety: immutable after construction; copies may be used from any
// threads.
//
// Invariants:
//   1. present() <=> the request had an "id" member; json() of an absent id
//      is "null", the id an error response uses when none was given.
//   2. value() is None, Str, Int, BigInt or Float (finite), never anything
//      else; json() is its JSON text as the writer produces it, so equal ids
//      have equal json() (1 and 1.0 are different ids, as in JSON).
#ifndef INTERPD_PROTOCOL_REQUEST_ID_H_
#define INTERPD_PROTOCOL_REQUEST_ID_H_

#include <optional>
#include <string>
#include <string_view>

#include "interpd/value.h"

namespace interpd::protocol {

class RequestId {
 public:
  // No id: a notification.
  RequestId() = default;

  // The explicit null id, used in errors about requests whose id could not
  // be determined (parse errors, invalid ids).
  static RequestId Null();

  // The id for `value`, or nullopt when JSON-RPC does not allow that type
  // (bool, array, object, or anything that is not JSON).
  static std::optional<RequestId> FromValue(Value value);

  bool present() const { return present_; }
  const Value& value() const { return value_; }
  const std::string& json() const { return json_; }

  friend bool operator==(const RequestId& a, const RequestId& b) {
    return a.present_ == b.present_ && a.json_ == b.json_;
  }

 private:
  RequestId(Value value, std::string json) : present_(true), value_(std::move(value)), json_(std::move(json)) {}

  bool present_ = false;
  Value value_;
  std::string json_ = "null";
};

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_REQUEST_ID_H_
