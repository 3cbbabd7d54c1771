// Tests for clients/interpctl/wire.h: request lines must be what the
// daemon's own parser accepts, and server lines are classified strictly.
#include "wire.h"

#include <catch2/catch.hpp>

#include "interpd/protocol/request_parser.h"
#include "rpc_client.h"

namespace interpd::clients {
namespace {

Value S(std::string s) { return Value::Str(std::move(s)); }

TEST_CASE("a request line is one valid request for the daemon's own parser, with the same id, method and params") {
  struct Case {
    std::string method;
    Value params;
  };
  const std::vector<Case> cases = {
      {"ping", Value()},
      {"run", Value::Dict({{S("code"), S("print('h\u00e9llo \"w\"\\n')\n6*7")}, {S("stream"), Value::Bool(true)}})},
      {"run", Value::Dict({{S("code"), S("1")}, {S("args"), Value::List({S("-x"), S(""), S("\xF0\x9F\x90\x8D")})},
                           {S("timeout"), Value::Float(0.25)}})},
      {"actor.call", Value::Dict({{S("name"), S("c")}, {S("args"), Value::List({Value::Int(-1), Value::None()})}})},
      {"cancel", Value::List({Value::Int(7)})},
      {"stats", Value::Dict({})},
  };
  int64_t id = 1;
  for (const auto& c : cases) {
    std::string line;
    REQUIRE(AppendRequestLine(id, c.method, c.params, &line).ok());
    REQUIRE(line.back() == '\n');
    REQUIRE(line.find('\n') == line.size() - 1);
    const protocol::ParsedLine parsed = protocol::ParseRequestLine(line.substr(0, line.size() - 1), {});
    REQUIRE(parsed.error_lines.empty());
    REQUIRE(parsed.requests.size() == 1);
    CHECK_FALSE(parsed.batch);
    CHECK(parsed.requests[0].method == c.method);
    CHECK(parsed.requests[0].id.value() == Value::Int(id));
    CHECK(parsed.requests[0].params == c.params);
    ++id;
  }
}

TEST_CASE("request params that are not an object or an array, or not UTF-8, are refused and nothing is written") {
  std::string line = "kept";
  CHECK(AppendRequestLine(1, "run", Value::Int(3), &line).code() == Status::Code::kInvalidArgument);
  CHECK(AppendRequestLine(1, "run", Value::Dict({{S("code"), S("\xff")}}), &line).code() ==
        Status::Code::kNotShareable);
  CHECK(AppendRequestLine(1, "r\xffn", Value(), &line).code() == Status::Code::kInvalidArgument);
  CHECK(line == "kept");
}

TEST_CASE("server lines are read as responses and notifications") {
  const protocol::Limits limits = ClientLimits();
  ServerMessage m;
  std::string why;

  REQUIRE(ParseServerLine(R"({"jsonrpc":"2.0","id":3,"result":{"status":"ok"}})", limits, &m, &why));
  CHECK(m.kind == ServerMessage::Kind::kResponse);
  CHECK(m.id == Value::Int(3));
  REQUIRE(m.result);
  CHECK_FALSE(m.error);

  REQUIRE(ParseServerLine(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32003,"message":"no","data":{"a":1}}})",
                          limits, &m, &why));
  CHECK(m.id.is_none());
  REQUIRE(m.error);
  CHECK(m.error->code == -32003);
  CHECK(m.error->message == "no");
  CHECK(m.error->data == Value::Dict({{S("a"), Value::Int(1)}}));
  CHECK_FALSE(m.result);

  REQUIRE(ParseServerLine(R"({"jsonrpc":"2.0","method":"run.output","params":{"id":1,"stream":"stderr","data":"x"}})",
                          limits, &m, &why));
  CHECK(m.kind == ServerMessage::Kind::kNotification);
  CHECK(m.method == "run.output");
  CHECK(*Member(m.params, "stream") == S("stderr"));
}

TEST_CASE("lines that are not JSON-RPC responses or notifications are protocol errors with a reason") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello", "not JSON"},
      {"[1]", "batch"},
      {"42", "not an object"},
      {R"({"id":1,"result":1})", "jsonrpc"},
      {R"({"jsonrpc":"1.0","id":1,"result":1})", "jsonrpc"},
      {R"({"jsonrpc":"2.0","result":1})", "without an id"},
      {R"({"jsonrpc":"2.0","id":[1],"result":1})", "id is not"},
      {R"({"jsonrpc":"2.0","id":1})", "neither or both"},
      {R"({"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"x"}})", "neither or both"},
      {R"({"jsonrpc":"2.0","id":1,"error":{"message":"x"}})", "integer \"code\""},
      {R"({"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"x"}})", "integer \"code\""},
      {R"({"jsonrpc":"2.0","id":1,"error":{"code":1}})", "string \"message\""},
      {R"({"jsonrpc":"2.0","method":7})", "method is not a string"},
      {R"({"jsonrpc":"2.0","method":"run.output","params":3})", "neither an object nor an array"},
      {R"({"jsonrpc":"2.0","id":1,"method":"x"})", "request"},
  };
  for (const auto& [line, reason] : cases) {
    INFO(line);
    ServerMessage m;
    std::string why;
    CHECK_FALSE(ParseServerLine(line, ClientLimits(), &m, &why));
    CHECK_THAT(why, Catch::Contains(reason));
  }
}

TEST_CASE("values print as compact JSON, and members are found only in dicts") {
  CHECK(ToJsonText(Value::Dict({{S("a"), Value::List({Value::Float(1.0), Value::None()})}})) ==
        R"({"a":[1.0,null]})");
  CHECK(ToJsonText(S("line\n")) == R"("line\n")");
  CHECK(Member(Value::Int(1), "a") == nullptr);
  CHECK(Member(Value::Dict({{S("a"), Value::Int(1)}}), "b") == nullptr);
}

}  // namespace
}  // namespace interpd::clients
