#include "interpd/protocol/method_table.h"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "interpd/protocol/responder.h"
#include "response_lines.h"

using interpd::Status;
using interpd::Value;
using interpd::protocol::ErrorCode;
using interpd::protocol::MethodTable;
using interpd::protocol::Request;
using interpd::protocol::RequestId;
using interpd::protocol::Responder;
using interpd::protocol::testing::ParseLine;

namespace {

struct Context {
  std::string user;
};

// Collects what a Responder sends.
struct Outbox {
  std::vector<std::string> lines;
  Responder::Sink sink() {
    return [this](std::string line) { lines.push_back(std::move(line)); };
  }
};

Request MakeRequest(std::string method, int id) {
  Request r;
  r.id = *RequestId::FromValue(Value::Int(id));
  r.method = std::move(method);
  return r;
}

Request MakeNotification(std::string method) {
  Request r;
  r.method = std::move(method);
  return r;
}

void Dispatch(const MethodTable<Context>& table, Request r, Outbox& out) {
  RequestId id = r.id;
  table.Dispatch(Context{"ann"}, std::move(r), Responder(std::move(id), out.sink()));
}

}  // namespace

TEST_CASE("a registered handler gets the context, the request and the responder", "[methods]") {
  MethodTable<Context> table;
  REQUIRE(table.Register("whoami", [](const Context& ctx, Request req, Responder r) {
                 r.Result(Value::Str(ctx.user + ":" + req.method));
               }).ok());
  CHECK(table.Contains("whoami"));
  Outbox out;
  Dispatch(table, MakeRequest("whoami", 1), out);
  REQUIRE(out.lines.size() == 1);
  CHECK(out.lines[0] == "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"ann:whoami\"}\n");
}

TEST_CASE("registration refuses duplicates, empty and reserved names", "[methods]") {
  MethodTable<Context> table;
  auto noop = [](const Context&, Request, Responder r) { r.Result(Value::None()); };
  CHECK(table.Register("ping", noop).ok());
  CHECK(table.Register("ping", noop).code() == Status::Code::kAlreadyExists);
  CHECK(table.Register("", noop).code() == Status::Code::kInvalidArgument);
  CHECK(table.Register("rpc.discover", noop).code() == Status::Code::kInvalidArgument);
  CHECK_FALSE(table.Contains("rpc.discover"));
  CHECK(table.Register("rpcx", noop).ok());  // only the "rpc." prefix is reserved
}

TEST_CASE("an unknown method is answered -32601 with the request's id", "[methods]") {
  MethodTable<Context> table;
  Outbox out;
  Dispatch(table, MakeRequest("nope", 5), out);
  REQUIRE(out.lines.size() == 1);
  auto r = ParseLine(out.lines[0]);
  CHECK(r["id"] == 5);
  CHECK(r["error"]["code"] == -32601);
  CHECK(r["error"]["message"] == "method not found: \"nope\"");
}

TEST_CASE("rpc.-prefixed methods are answered -32601 as reserved", "[methods]") {
  MethodTable<Context> table;
  Outbox out;
  Dispatch(table, MakeRequest("rpc.discover", 2), out);
  REQUIRE(out.lines.size() == 1);
  auto r = ParseLine(out.lines[0]);
  CHECK(r["error"]["code"] == -32601);
  CHECK(r["error"]["message"].get<std::string>().find("reserved") != std::string::npos);
}

TEST_CASE("notifications get no answer, not even method not found", "[methods]") {
  MethodTable<Context> table;
  int calls = 0;
  REQUIRE(table.Register("tick", [&](const Context&, Request, Responder r) {
                 ++calls;
                 r.Result(Value::Int(1));
               }).ok());
  Outbox out;
  Dispatch(table, MakeNotification("tick"), out);
  Dispatch(table, MakeNotification("missing"), out);
  Dispatch(table, MakeNotification("rpc.x"), out);
  CHECK(calls == 1);
  CHECK(out.lines.empty());
}

TEST_CASE("a handler may keep the responder and answer later", "[methods]") {
  MethodTable<Context> table;
  std::vector<Responder> pending;
  REQUIRE(table.Register("slow", [&](const Context&, Request, Responder r) { pending.push_back(std::move(r)); }).ok());
  Outbox out;
  Dispatch(table, MakeRequest("slow", 1), out);
  Dispatch(table, MakeRequest("slow", 2), out);
  CHECK(out.lines.empty());
  REQUIRE(pending.size() == 2);
  pending[1].Result(Value::Str("second"));
  pending[0].Error(ErrorCode::kTimeout, "");
  REQUIRE(out.lines.size() == 2);
  CHECK(ParseLine(out.lines[0])["id"] == 2);
  CHECK(ParseLine(out.lines[1])["error"] == nlohmann::json({{"code", -32011}, {"message", "timed out"}}));
  pending.clear();  // already answered: nothing more is sent
  CHECK(out.lines.size() == 2);
}

TEST_CASE("a handler that drops its responder or throws still answers the client", "[methods]") {
  MethodTable<Context> table;
  REQUIRE(table.Register("forgets", [](const Context&, Request, Responder) {}).ok());
  REQUIRE(table.Register("throws", [](const Context&, Request, Responder) { throw std::runtime_error("bug"); }).ok());
  for (const char* method : {"forgets", "throws"}) {
    INFO(method);
    Outbox out;
    Dispatch(table, MakeRequest(method, 3), out);
    REQUIRE(out.lines.size() == 1);
    auto r = ParseLine(out.lines[0]);
    CHECK(r["id"] == 3);
    CHECK(r["error"]["code"] == -32603);
  }
}

TEST_CASE("a result that is not JSON becomes a -32012 for the same id", "[methods]") {
  Outbox out;
  {
    Responder r(*RequestId::FromValue(Value::Str("q")), out.sink());
    r.Result(Value::Dict({{Value::Str("v"), Value::FrozenSet({})}}));
    CHECK(r.replied());
  }
  REQUIRE(out.lines.size() == 1);
  auto resp = ParseLine(out.lines[0]);
  CHECK(resp["id"] == "q");
  CHECK(resp["error"]["code"] == -32012);
  CHECK(resp["error"]["message"] == "value at result[\"v\"] of type frozenset is not representable as JSON");
  CHECK(resp["error"]["data"] == nlohmann::json({{"path", "result[\"v\"]"}, {"type", "frozenset"}}));
}

TEST_CASE("a failed status replies with its mapped code", "[methods]") {
  Outbox out;
  Responder(*RequestId::FromValue(Value::Int(1)), out.sink()).Fail(Status::NotFound("no actor \"a\""));
  REQUIRE(out.lines.size() == 1);
  CHECK(ParseLine(out.lines[0])["error"] == nlohmann::json({{"code", -32002}, {"message", "no actor \"a\""}}));
}

TEST_CASE("moving a responder moves the duty to reply", "[methods]") {
  Outbox out;
  {
    Responder a(*RequestId::FromValue(Value::Int(1)), out.sink());
    Responder b(std::move(a));
    CHECK(a.replied());  // NOLINT(bugprone-use-after-move): moved-from is disarmed
    CHECK_FALSE(b.replied());
    b.Result(Value::Int(0));
  }
  CHECK(out.lines.size() == 1);

  Outbox out2;
  {
    Responder owed(*RequestId::FromValue(Value::Int(7)), out2.sink());
    Responder other(*RequestId::FromValue(Value::Int(8)), out2.sink());
    owed = std::move(other);  // 7 was never answered: assignment must not lose it
    REQUIRE(out2.lines.size() == 1);
    CHECK(ParseLine(out2.lines[0])["id"] == 7);
    CHECK(ParseLine(out2.lines[0])["error"]["code"] == -32603);
    owed.Result(Value::None());
  }
  REQUIRE(out2.lines.size() == 2);
  CHECK(ParseLine(out2.lines[1])["id"] == 8);
}
