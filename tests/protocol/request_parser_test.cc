#include "interpd/protocol/request_parser.h"

#include <catch2/catch.hpp>

#include <string>

#include "response_lines.h"

using interpd::Value;
using interpd::ValueKind;
using interpd::protocol::Limits;
using interpd::protocol::ParsedLine;
using interpd::protocol::ParseRequestLine;
using interpd::protocol::testing::ParseLine;

namespace {

ParsedLine Parse(const std::string& line, const Limits& limits = {}) { return ParseRequestLine(line, limits); }

// A line that must produce exactly one error response: returns it.
nlohmann::json OneError(const std::string& line, const Limits& limits = {}) {
  INFO("request: " << line);
  ParsedLine p = Parse(line, limits);
  CHECK_FALSE(p.batch);
  CHECK(p.requests.empty());
  REQUIRE(p.error_lines.size() == 1);
  CHECK(p.ResponsesExpected() == 1);
  return ParseLine(p.error_lines[0]);
}

}  // namespace

TEST_CASE("a valid request is parsed with its id, method and params", "[parser]") {
  ParsedLine p = Parse(R"({"jsonrpc":"2.0","method":"run","params":{"code":"1+1"},"id":7})");
  CHECK_FALSE(p.batch);
  CHECK(p.error_lines.empty());
  REQUIRE(p.requests.size() == 1);
  const auto& r = p.requests[0];
  CHECK(r.method == "run");
  CHECK(r.id.present());
  CHECK(r.id.json() == "7");
  CHECK(r.params == Value::Dict({{Value::Str("code"), Value::Str("1+1")}}));
  CHECK_FALSE(r.is_notification());
  CHECK(p.ResponsesExpected() == 1);
}

TEST_CASE("every kind of valid id is accepted and kept", "[parser]") {
  struct Row {
    const char* id;
    const char* echoed;
  } rows[] = {{"1", "1"},        {"-5", "-5"},          {"1.5", "1.5"}, {"1e2", "100.0"},
              {"\"abc\"", "\"abc\""}, {"null", "null"}, {"\"\"", "\"\""},
              {"123456789012345678901234567890", "123456789012345678901234567890"}};
  for (const auto& row : rows) {
    INFO(row.id);
    ParsedLine p = Parse(std::string(R"({"jsonrpc":"2.0","method":"m","id":)") + row.id + "}");
    REQUIRE(p.requests.size() == 1);
    CHECK(p.requests[0].id.present());
    CHECK(p.requests[0].id.json() == row.echoed);
  }
}

TEST_CASE("a request without an id is a notification", "[parser]") {
  ParsedLine p = Parse(R"({"jsonrpc":"2.0","method":"update","params":[1,2]})");
  REQUIRE(p.requests.size() == 1);
  CHECK(p.requests[0].is_notification());
  CHECK(p.requests[0].params == Value::List({Value::Int(1), Value::Int(2)}));
  CHECK(p.ResponsesExpected() == 0);
}

TEST_CASE("absent params read as None and extra members are ignored", "[parser]") {
  ParsedLine p = Parse(R"({"jsonrpc":"2.0","method":"ping","id":1,"extra":{"x":1}})");
  REQUIRE(p.requests.size() == 1);
  CHECK(p.requests[0].params.kind() == ValueKind::kNone);
}

TEST_CASE("invalid requests get -32600 and echo their id when it is valid", "[parser]") {
  struct Row {
    const char* line;
    nlohmann::json id;
    const char* message_part;
  } rows[] = {
      {R"({"method":"m","id":1})", 1, "\"jsonrpc\" must be \"2.0\""},
      {R"({"jsonrpc":"2","method":"m","id":1})", 1, "\"jsonrpc\""},
      {R"({"jsonrpc":2.0,"method":"m","id":"a"})", "a", "\"jsonrpc\""},
      {R"({"jsonrpc":"2.00","method":"m","id":1})", 1, "\"jsonrpc\""},
      {R"({"jsonrpc":"1.0","method":"m","id":1})", 1, "\"jsonrpc\""},
      {R"({"jsonrpc":"2.0","id":1})", 1, "\"method\" is missing"},
      {R"({"jsonrpc":"2.0","method":1,"id":1})", 1, "\"method\" must be a string, got number"},
      {R"({"jsonrpc":"2.0","method":null,"id":1})", 1, "got null"},
      {R"({"jsonrpc":"2.0","method":"m","params":"x","id":1})", 1, "\"params\" must be an object or an array, got string"},
      {R"({"jsonrpc":"2.0","method":"m","params":null,"id":1})", 1, "got null"},
      {R"({"jsonrpc":"2.0","method":"m","params":3,"id":1})", 1, "got number"},
      {R"({"jsonrpc":"2.0","method":"m","params":true,"id":null})", nullptr, "got boolean"},
      // An id of a forbidden type cannot be echoed: null.
      {R"({"jsonrpc":"2.0","method":"m","id":true})", nullptr, "\"id\" must be a string, a number or null, got boolean"},
      {R"({"jsonrpc":"2.0","method":"m","id":[1]})", nullptr, "got array"},
      {R"({"jsonrpc":"2.0","method":"m","id":{"a":1}})", nullptr, "got object"},
      // Without an id, an invalid request is still answered (with null).
      {R"({"jsonrpc":"2.0","method":1,"params":"bar"})", nullptr, "\"method\""},
      {R"({"foo":"boo"})", nullptr, "\"jsonrpc\""},
      // Not an object at all.
      {R"(1)", nullptr, "expected an object, got number"},
      {R"("request")", nullptr, "expected an object, got string"},
      {R"(null)", nullptr, "got null"},
      {R"(true)", nullptr, "got boolean"},
  };
  for (const auto& row : rows) {
    INFO(row.line);
    auto r = OneError(row.line);
    CHECK(r["jsonrpc"] == "2.0");
    CHECK(r["error"]["code"] == -32600);
    CHECK(r["id"] == row.id);
    CHECK(r["error"]["message"].get<std::string>().find(row.message_part) != std::string::npos);
  }
}

TEST_CASE("unparseable lines get one -32700 with id null", "[parser]") {
  for (const char* line : {R"({"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz])", "{", "[1,", "\xFF",
                           R"({"jsonrpc":"2.0","method":"m","id":1} x)"}) {
    auto r = OneError(line);
    CHECK(r["error"]["code"] == -32700);
    CHECK(r["id"].is_null());
  }
}

TEST_CASE("too deep and too long numbers get -32004 with id null", "[parser]") {
  auto deep = OneError(R"({"jsonrpc":"2.0","method":"m","id":1,"params":)" + std::string(200, '[') +
                       std::string(200, ']') + "}");
  CHECK(deep["error"]["code"] == -32004);
  CHECK(deep["id"].is_null());
  auto digits = OneError(R"({"jsonrpc":"2.0","method":"m","id":1,"params":[)" + std::string(5000, '1') + "]}");
  CHECK(digits["error"]["code"] == -32004);
  CHECK(digits["error"]["message"].get<std::string>().find("5000 digits") != std::string::npos);
}

TEST_CASE("a line over the frame limit is refused unparsed", "[parser]") {
  Limits limits;
  limits.max_frame_bytes = 32;
  const std::string line = R"({"jsonrpc":"2.0","method":"ping","id":1})";
  auto r = OneError(line, limits);
  CHECK(r["error"]["code"] == -32004);
}

TEST_CASE("an empty batch is one -32600, not an array", "[parser]") {
  auto r = OneError("[]");
  CHECK(r["error"]["code"] == -32600);
  CHECK(r["id"].is_null());
  CHECK(OneError(" [ ] ")["error"]["code"] == -32600);
}

TEST_CASE("a batch answers each invalid element on its own", "[parser]") {
  ParsedLine p = Parse(R"([1, {"jsonrpc":"2.0","method":"a","id":1}, [], {"jsonrpc":"2.0","method":"b"},)"
                       R"( {"jsonrpc":"2.0","method":7,"id":"x"}, [{"jsonrpc":"2.0","method":"c","id":2}]])");
  CHECK(p.batch);
  REQUIRE(p.requests.size() == 2);
  CHECK(p.requests[0].method == "a");
  CHECK(p.requests[1].method == "b");
  CHECK(p.requests[1].is_notification());
  REQUIRE(p.error_lines.size() == 4);
  std::vector<nlohmann::json> ids;
  for (const auto& line : p.error_lines) {
    auto r = ParseLine(line);
    CHECK(r["error"]["code"] == -32600);
    ids.push_back(r["id"]);
  }
  // Element by element: 1, [], the bad method (id "x" echoed), the nested batch.
  CHECK(ids == std::vector<nlohmann::json>{nullptr, nullptr, "x", nullptr});
  CHECK(p.ResponsesExpected() == 5);
}

TEST_CASE("a batch larger than the limit is refused whole", "[parser]") {
  Limits limits;
  limits.max_batch_size = 3;
  const std::string req = R"({"jsonrpc":"2.0","method":"m","id":1})";
  ParsedLine ok = Parse("[" + req + "," + req + "," + req + "]", limits);
  CHECK(ok.batch);
  CHECK(ok.requests.size() == 3);
  auto r = OneError("[" + req + "," + req + "," + req + "," + req + "]", limits);
  CHECK(r["error"]["code"] == -32600);
  CHECK(r["error"]["message"].get<std::string>().find("batch too large") != std::string::npos);
}

TEST_CASE("a 10,000-element batch is accepted by default", "[parser]") {
  std::string line = "[";
  for (int k = 0; k < 10000; ++k) {
    if (k) line += ',';
    line += R"({"jsonrpc":"2.0","method":"ping","id":)" + std::to_string(k) + "}";
  }
  line += "]";
  REQUIRE(line.size() < Limits{}.max_frame_bytes);
  ParsedLine p = Parse(line);
  CHECK(p.batch);
  REQUIRE(p.requests.size() == 10000);
  CHECK(p.error_lines.empty());
  CHECK(p.requests[9999].id.json() == "9999");
  CHECK(p.ResponsesExpected() == 10000);
  // One more element is over the default limit.
  line.back() = ',';
  line += R"({"jsonrpc":"2.0","method":"ping","id":10000}])";
  CHECK(OneError(line)["error"]["message"].get<std::string>().find("10001") != std::string::npos);
}
