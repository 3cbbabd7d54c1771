#include "wire.h"

#include "interpd/protocol/json_reader.h"
#include "interpd/protocol/json_writer.h"

namespace interpd::clients {

Status AppendRequestLine(int64_t id, std::string_view method, const Value& params, std::string* line) {
  if (!params.is_none() && params.kind() != ValueKind::kDict && params.kind() != ValueKind::kList) {
    return Status::InvalidArgument("params must be an object or an array");
  }
  std::string out = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":";
  if (!protocol::AppendJsonString(method, &out)) return Status::InvalidArgument("method name is not UTF-8");
  if (!params.is_none()) {
    out += ",\"params\":";
    protocol::JsonWriteOptions options;
    options.root = "params";
    if (Status st = protocol::AppendJson(params, &out, options); !st.ok()) return st;
  }
  out += "}\n";
  line->append(out);
  return Status::OK();
}

namespace {

bool Fail(std::string* why, std::string message) {
  *why = std::move(message);
  return false;
}

bool IsValidId(const Value& id) {
  switch (id.kind()) {
    case ValueKind::kNone:
    case ValueKind::kStr:
    case ValueKind::kInt:
    case ValueKind::kBigInt:
    case ValueKind::kFloat:
      return true;
    default:
      return false;
  }
}

}  // namespace

const Value* Member(const Value& value, std::string_view key) {
  return value.kind() == ValueKind::kDict ? value.Find(key) : nullptr;
}

bool ParseServerLine(std::string_view line, const protocol::Limits& limits, ServerMessage* out, std::string* why) {
  Value message;
  protocol::JsonReadError read_error;
  if (!protocol::ReadJson(line, limits, &message, &read_error)) {
    return Fail(why, "the daemon sent a line that is not JSON (" + read_error.message + ")");
  }
  if (message.kind() == ValueKind::kList) {
    return Fail(why, "the daemon sent a batch array, but this client sends no batches");
  }
  if (message.kind() != ValueKind::kDict) return Fail(why, "the daemon sent JSON that is not an object");
  const Value* version = message.Find("jsonrpc");
  if (version == nullptr || version->kind() != ValueKind::kStr || version->str() != "2.0") {
    return Fail(why, "the daemon sent a message without \"jsonrpc\": \"2.0\"");
  }
  const Value* method = message.Find("method");
  const Value* id = message.Find("id");
  if (method != nullptr) {
    if (method->kind() != ValueKind::kStr) return Fail(why, "the daemon sent a notification whose method is not a string");
    if (id != nullptr) return Fail(why, "the daemon sent a request (method with id); clients accept no requests");
    const Value* params = message.Find("params");
    if (params != nullptr && params->kind() != ValueKind::kDict && params->kind() != ValueKind::kList) {
      return Fail(why, "the daemon sent notification params that are neither an object nor an array");
    }
    out->kind = ServerMessage::Kind::kNotification;
    out->method = method->str();
    out->params = params != nullptr ? *params : Value();
    return true;
  }
  if (id == nullptr) return Fail(why, "the daemon sent a response without an id");
  if (!IsValidId(*id)) return Fail(why, "the daemon sent a response whose id is not a string, number or null");
  const Value* result = message.Find("result");
  const Value* error = message.Find("error");
  if ((result == nullptr) == (error == nullptr)) {
    return Fail(why, "the daemon sent a response with neither or both of \"result\" and \"error\"");
  }
  out->kind = ServerMessage::Kind::kResponse;
  out->id = *id;
  if (result != nullptr) {
    out->result = *result;
    out->error.reset();
    return true;
  }
  const Value* code = Member(*error, "code");
  const Value* text = Member(*error, "message");
  if (code == nullptr || code->kind() != ValueKind::kInt || code->as_int() < INT32_MIN ||
      code->as_int() > INT32_MAX) {
    return Fail(why, "the daemon sent an error without an integer \"code\"");
  }
  if (text == nullptr || text->kind() != ValueKind::kStr) {
    return Fail(why, "the daemon sent an error without a string \"message\"");
  }
  const Value* data = Member(*error, "data");
  out->result.reset();
  out->error = RpcError{static_cast<int>(code->as_int()), std::string(text->str()), data != nullptr ? *data : Value()};
  return true;
}

std::string ToJsonText(const Value& value) {
  std::string text;
  protocol::JsonWriteOptions options;
  // Deeper than anything ParseServerLine lets in (ClientLimits), so a
  // value that was read can always be printed.
  options.max_depth = 1024;
  if (protocol::AppendJson(value, &text, options).ok()) return text;
  return value.Repr();
}

}  // namespace interpd::clients
