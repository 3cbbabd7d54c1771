#include "interpd/protocol/request_parser.h"

#include <optional>

#include "interpd/protocol/error_code.h"
#include "interpd/protocol/json_reader.h"
#include "interpd/protocol/json_writer.h"
#include "interpd/protocol/response.h"

namespace interpd::protocol {

namespace {

std::string InvalidRequest(const RequestId& id, std::string_view why) {
  std::string message = "invalid request: ";
  message += why;
  return ErrorLine(id, ErrorCode::kInvalidRequest, message);
}

// Validates one request object. Returns true and fills *request, or returns
// false and fills *error_line.
bool ValidateRequest(const Value& v, Request* request, std::string* error_line) {
  if (v.kind() != ValueKind::kDict) {
    *error_line = InvalidRequest(RequestId::Null(),
                                 "expected an object, got " + std::string(JsonTypeName(v.kind())));
    return false;
  }
  // The id first: every later error should echo it if it is usable.
  RequestId id;
  if (const Value* raw_id = v.Find("id")) {
    std::optional<RequestId> parsed = RequestId::FromValue(*raw_id);
    if (!parsed) {
      *error_line = InvalidRequest(RequestId::Null(), "\"id\" must be a string, a number or null, got " +
                                                          std::string(JsonTypeName(raw_id->kind())));
      return false;
    }
    id = std::move(*parsed);
  }
  // Error responses always carry an id member; a request without one (an
  // invalid would-be notification) is answered with null.
  const RequestId& reply_id = id.present() ? id : RequestId::Null();
  const Value* version = v.Find("jsonrpc");
  if (!version || version->kind() != ValueKind::kStr || version->str() != "2.0") {
    *error_line = InvalidRequest(reply_id, "\"jsonrpc\" must be \"2.0\"");
    return false;
  }
  const Value* method = v.Find("method");
  if (!method || method->kind() != ValueKind::kStr) {
    *error_line = InvalidRequest(reply_id, method ? "\"method\" must be a string, got " +
                                                        std::string(JsonTypeName(method->kind()))
                                                  : std::string("\"method\" is missing"));
    return false;
  }
  const Value* params = v.Find("params");
  if (params && params->kind() != ValueKind::kDict && params->kind() != ValueKind::kList) {
    *error_line = InvalidRequest(reply_id, "\"params\" must be an object or an array, got " +
                                               std::string(JsonTypeName(params->kind())));
    return false;
  }
  request->id = std::move(id);
  request->method = method->str();
  request->params = params ? *params : Value::None();
  return true;
}

void AddElement(const Value& v, ParsedLine* out) {
  Request request;
  std::string error_line;
  if (ValidateRequest(v, &request, &error_line)) {
    out->requests.push_back(std::move(request));
  } else {
    out->error_lines.push_back(std::move(error_line));
  }
}

}  // namespace

size_t ParsedLine::ResponsesExpected() const {
  size_t n = error_lines.size();
  for (const Request& r : requests) n += r.is_notification() ? 0 : 1;
  return n;
}

ParsedLine ParseRequestLine(std::string_view line, const Limits& limits) {
  if (line.size() > limits.max_frame_bytes) {
    ParsedLine out;
    out.error_lines.push_back(OversizedFrameLine(limits));
    return out;
  }
  Value message;
  JsonReadError error;
  if (!ReadJson(line, limits, &message, &error)) {
    ParsedLine out;
    out.error_lines.push_back(ReadErrorLine(error));
    return out;
  }
  return ParseRequestValue(message, limits);
}

ParsedLine ParseRequestValue(const Value& message, const Limits& limits) {
  ParsedLine out;
  if (message.kind() != ValueKind::kList) {
    AddElement(message, &out);
    return out;
  }
  const auto& items = message.items();
  if (items.empty()) {
    out.error_lines.push_back(InvalidRequest(RequestId::Null(), "empty batch"));
    return out;
  }
  if (items.size() > limits.max_batch_size) {
    out.error_lines.push_back(InvalidRequest(RequestId::Null(), "batch too large (" + std::to_string(items.size()) +
                                                                    " elements, the limit is " +
                                                                    std::to_string(limits.max_batch_size) + ")"));
    return out;
  }
  out.batch = true;
  out.requests.reserve(items.size());
  for (const Value& item : items) AddElement(item, &out);
  return out;
}

}  // namespace interpd::protocol
