#include "interpd/protocol/response.h"

#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "response_lines.h"

using interpd::Status;
using interpd::Value;
using interpd::protocol::ErrorCode;
using interpd::protocol::ErrorLine;
using interpd::protocol::JsonReadError;
using interpd::protocol::JsonWriteError;
using interpd::protocol::Limits;
using interpd::protocol::NotificationLine;
using interpd::protocol::NotRepresentableLine;
using interpd::protocol::OversizedFrameLine;
using interpd::protocol::ReadErrorLine;
using interpd::protocol::RequestId;
using interpd::protocol::ResultLine;
using interpd::protocol::StatusErrorLine;
using interpd::protocol::testing::ParseLine;

namespace {

RequestId Id(Value v) {
  auto id = RequestId::FromValue(std::move(v));
  REQUIRE(id.has_value());
  return *id;
}

std::string Result(const RequestId& id, const Value& result) {
  std::string line;
  REQUIRE(ResultLine(id, result, &line).ok());
  return line;
}

}  // namespace

TEST_CASE("a result line is one compact JSON object and a newline", "[response]") {
  CHECK(Result(Id(Value::Int(1)), Value::Str("pong")) == "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"pong\"}\n");
  CHECK(Result(Id(Value::Str("a")), Value::List({})) == "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":[]}\n");
}

TEST_CASE("ids are echoed exactly as received", "[response]") {
  std::vector<uint8_t> big;
  REQUIRE(interpd::DecimalToBigInt("123456789012345678901234567890", &big));
  struct Row {
    Value id;
    const char* json;
  } rows[] = {
      {Value::Int(7), "7"},
      {Value::Int(-3), "-3"},
      {Value::Float(1.5), "1.5"},
      {Value::Float(-0.0), "-0.0"},
      {Value::Str("req-\"1\""), "\"req-\\\"1\\\"\""},
      {Value::None(), "null"},
      {Value::BigInt(big), "123456789012345678901234567890"},
  };
  for (const auto& row : rows) {
    INFO(row.json);
    RequestId id = Id(row.id);
    CHECK(id.json() == row.json);
    CHECK(Result(id, Value::None()) == std::string("{\"jsonrpc\":\"2.0\",\"id\":") + row.json + ",\"result\":null}\n");
    CHECK(ErrorLine(id, ErrorCode::kTimeout, "slow").find(std::string("\"id\":") + row.json + ",") !=
          std::string::npos);
  }
}

TEST_CASE("request ids accept strings, numbers and null only", "[response]") {
  CHECK_FALSE(RequestId::FromValue(Value::Bool(true)).has_value());
  CHECK_FALSE(RequestId::FromValue(Value::List({})).has_value());
  CHECK_FALSE(RequestId::FromValue(Value::Dict({})).has_value());
  CHECK_FALSE(RequestId::FromValue(Value::Bytes("x")).has_value());
  CHECK_FALSE(RequestId::FromValue(Value::Float(std::numeric_limits<double>::infinity())).has_value());
  CHECK_FALSE(RequestId().present());
  CHECK(RequestId().json() == "null");
  CHECK(RequestId::Null().present());
  // 1 and 1.0 are different JSON values, so different ids.
  CHECK_FALSE(Id(Value::Int(1)) == Id(Value::Float(1.0)));
  CHECK(Id(Value::Str("x")) == Id(Value::Str("x")));
}

TEST_CASE("an unrepresentable result is refused so the caller can send -32012 instead", "[response]") {
  std::string line = "untouched";
  JsonWriteError error;
  RequestId id = Id(Value::Int(4));
  Status st = ResultLine(id, Value::List({Value::Int(1), Value::Bytes("x")}), &line, Limits{}, &error);
  REQUIRE(st.code() == Status::Code::kNotShareable);
  CHECK(line == "untouched");
  CHECK(st.message() == "value at result[1] of type bytes is not representable as JSON");

  auto response = ParseLine(NotRepresentableLine(id, st, error));
  CHECK(response["id"] == 4);
  CHECK(response["error"]["code"] == -32012);
  CHECK(response["error"]["message"] == st.message());
  CHECK(response["error"]["data"] == nlohmann::json({{"path", "result[1]"}, {"type", "bytes"}}));
}

TEST_CASE("error lines carry code, message and optional data", "[response]") {
  auto plain = ParseLine(ErrorLine(Id(Value::Str("x")), ErrorCode::kNotFound, "no actor \"a\""));
  CHECK(plain == nlohmann::json::parse(
                     R"({"jsonrpc":"2.0","id":"x","error":{"code":-32002,"message":"no actor \"a\""}})"));

  Value data = Value::Dict({{Value::Str("type"), Value::Str("ZeroDivisionError")},
                            {Value::Str("message"), Value::Str("division by zero")},
                            {Value::Str("traceback"), Value::Str("Traceback...\n")}});
  auto with_data = ParseLine(ErrorLine(Id(Value::Int(2)), ErrorCode::kPythonException, "ZeroDivisionError", data));
  CHECK(with_data["error"]["code"] == -32010);
  CHECK(with_data["error"]["data"]["traceback"] == "Traceback...\n");
}

TEST_CASE("an error without a message gets PROTOCOL.md's wording", "[response]") {
  auto r = ParseLine(ErrorLine(RequestId::Null(), ErrorCode::kShuttingDown, ""));
  CHECK(r["error"]["message"] == "shutting down");
  CHECK(r["id"].is_null());
}

TEST_CASE("error lines are valid JSON whatever the message and data", "[response]") {
  // A message quoting broken client bytes is sanitized, not refused.
  auto r = ParseLine(ErrorLine(RequestId::Null(), ErrorCode::kInvalidParams, "bad \xFF byte\nhere"));
  CHECK(r["error"]["message"] == "bad \xEF\xBF\xBD byte\nhere");
  // Data that cannot be written becomes the writer's explanation.
  auto d = ParseLine(ErrorLine(RequestId::Null(), ErrorCode::kInternalError, "x", Value::Bytes("raw")));
  CHECK(d["error"]["data"] == "value at error.data of type bytes is not representable as JSON");
}

TEST_CASE("a failed status maps to its wire error", "[response]") {
  auto r = ParseLine(StatusErrorLine(Id(Value::Int(9)), Status::Overloaded("queue full")));
  CHECK(r["error"] == nlohmann::json({{"code", -32000}, {"message", "queue full"}}));
  CHECK(ParseLine(StatusErrorLine(Id(Value::Int(9)), Status::Timeout("")))["error"]["message"] == "timed out");
}

TEST_CASE("reader failures and oversized frames answer with id null", "[response]") {
  JsonReadError syntax{JsonReadError::Kind::kSyntax, 3, "syntax error at byte 3: x"};
  JsonReadError deep{JsonReadError::Kind::kTooDeep, 128, "nesting deeper than 128 levels at byte 128"};
  JsonReadError digits{JsonReadError::Kind::kNumberTooLong, 0, "integer literal at byte 0 has 5000 digits"};
  auto a = ParseLine(ReadErrorLine(syntax));
  CHECK(a["error"]["code"] == -32700);
  CHECK(a["id"].is_null());
  CHECK(a["error"]["message"] == "syntax error at byte 3: x");
  CHECK(ParseLine(ReadErrorLine(deep))["error"]["code"] == -32004);
  CHECK(ParseLine(ReadErrorLine(digits))["error"]["code"] == -32004);
  Limits limits;
  auto big = ParseLine(OversizedFrameLine(limits));
  CHECK(big["error"]["code"] == -32004);
  CHECK(big["id"].is_null());
  CHECK(big["error"]["message"].get<std::string>().find("1048576") != std::string::npos);
}

TEST_CASE("notifications to the client have a method and params and no id", "[response]") {
  std::string line;
  Value params = Value::Dict({{Value::Str("id"), Value::Int(3)},
                              {Value::Str("stream"), Value::Str("stdout")},
                              {Value::Str("data"), Value::Str("hello\n")}});
  REQUIRE(NotificationLine("run.output", params, &line).ok());
  CHECK(line ==
        "{\"jsonrpc\":\"2.0\",\"method\":\"run.output\",\"params\":{\"id\":3,\"stream\":\"stdout\",\"data\":\"hello\\n\"}}\n");
  std::string refused = "untouched";
  Status st = NotificationLine("run.output", Value::List({Value::Complex(1, 1)}), &refused);
  CHECK(st.message() == "value at params[0] of type complex is not representable as JSON");
  CHECK(refused == "untouched");
}
