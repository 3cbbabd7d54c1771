#include "interpd/protocol/request_id.h"

#include <cmath>

#include "interpd/protocol/json_writer.h"

namespace interpd::protocol {

RequestId RequestId::Null() { return RequestId(Value::None(), "null"); }

std::optional<RequestId> RequestId::FromValue(Value value) {
  switch (value.kind()) {
    case ValueKind::kNone:
    case ValueKind::kStr:
    case ValueKind::kInt:
    case ValueKind::kBigInt:
    case ValueKind::kFloat: {
      std::string json;
      // Fails only for values JSON cannot carry (a NaN, a broken Str), which
      // cannot be echoed either.
      if (!AppendJson(value, &json).ok()) return std::nullopt;
      return RequestId(std::move(value), std::move(json));
    }
    default: return std::nullopt;
  }
}

}  // namespace interpd::protocol
