#include "interpd/protocol/response.h"

#include <cassert>

namespace interpd::protocol {

namespace {

constexpr std::string_view kVersion = "{\"jsonrpc\":\"2.0\",";

void AppendIdPrefix(const RequestId& id, std::string* line) {
  line->append(kVersion);
  line->append("\"id\":");
  line->append(id.json());
}

}  // namespace

Status ResultLine(const RequestId& id, const Value& result, std::string* line, const Limits& limits,
                  JsonWriteError* error) {
  std::string out;
  out.reserve(64);
  AppendIdPrefix(id, &out);
  out.append(",\"result\":");
  Status st = AppendJson(result, &out, JsonWriteOptions{"result", limits.max_depth}, error);
  if (!st.ok()) return st;
  out.append("}\n");
  *line = std::move(out);
  return Status::OK();
}

std::string ErrorLine(const RequestId& id, ErrorCode code, std::string_view message, const std::optional<Value>& data,
                      const Limits& limits) {
  std::string out;
  out.reserve(96 + message.size());
  AppendIdPrefix(id, &out);
  out.append(",\"error\":{\"code\":");
  out.append(std::to_string(ToInt(code)));
  out.append(",\"message\":");
  AppendJsonStringLenient(message.empty() ? ErrorCodeMessage(code) : message, &out);
  if (data) {
    out.append(",\"data\":");
    Status st = AppendJson(*data, &out, JsonWriteOptions{"error.data", limits.max_depth});
    // The error must still go out; say what was wrong with its data instead.
    if (!st.ok()) AppendJsonStringLenient(st.message(), &out);
  }
  out.append("}}\n");
  return out;
}

std::string StatusErrorLine(const RequestId& id, const Status& status) {
  assert(!status.ok());
  return ErrorLine(id, ErrorCodeForStatus(status.code()), status.message());
}

std::string NotRepresentableLine(const RequestId& id, const Status& status, const JsonWriteError& error) {
  Value data = Value::Dict({{Value::Str("path"), Value::Str(error.path)}, {Value::Str("type"), Value::Str(error.type)}});
  return ErrorLine(id, ErrorCode::kNotRepresentable, status.message(), data);
}

std::string ReadErrorLine(const JsonReadError& error) {
  assert(error.kind != JsonReadError::Kind::kNone);
  const ErrorCode code = error.kind == JsonReadError::Kind::kSyntax ? ErrorCode::kParseError : ErrorCode::kTooLarge;
  return ErrorLine(RequestId::Null(), code, error.message);
}

std::string OversizedFrameLine(const Limits& limits) {
  return ErrorLine(RequestId::Null(), ErrorCode::kTooLarge,
                   "frame too large: a line exceeded " + std::to_string(limits.max_frame_bytes) +
                       " bytes and was skipped");
}

Status NotificationLine(std::string_view method, const Value& params, std::string* line, const Limits& limits) {
  assert(params.kind() == ValueKind::kDict || params.kind() == ValueKind::kList);
  std::string out;
  out.reserve(64);
  out.append(kVersion);
  out.append("\"method\":");
  AppendJsonStringLenient(method, &out);
  out.append(",\"params\":");
  Status st = AppendJson(params, &out, JsonWriteOptions{"params", limits.max_depth});
  if (!st.ok()) return st;
  out.append("}\n");
  *line = std::move(out);
  return Status::OK();
}

}  // namespace interpd::protocol
