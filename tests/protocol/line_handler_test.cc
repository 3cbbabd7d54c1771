// The examples of the JSON-RPC 2.0 specification (section 7), run end to end
// through HandleLine: each must produce exactly the spec's responses (error
// messages aside: ours are more specific than "Invalid Request").
#include "interpd/protocol/line_handler.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "interpd/protocol/params_reader.h"
#include "response_lines.h"

using interpd::Status;
using interpd::Value;
using interpd::ValueKind;
using interpd::protocol::ErrorCode;
using interpd::protocol::HandleLine;
using interpd::protocol::Limits;
using interpd::protocol::MethodTable;
using interpd::protocol::ParamsReader;
using interpd::protocol::Request;
using interpd::protocol::Responder;
using interpd::protocol::testing::ParseLine;
using interpd::protocol::testing::Shape;
using interpd::protocol::testing::Sorted;
using json = nlohmann::json;

namespace {

struct Session {
  std::vector<std::string> notified;  // methods run as notifications
};

// The spec's example methods.
MethodTable<Session*> SpecMethods() {
  MethodTable<Session*> table;
  auto subtract = [](Session* const&, Request req, Responder r) {
    ParamsReader p(req.params, {"minuend", "subtrahend"});
    auto minuend = p.Int("minuend", INT32_MIN, INT32_MAX, ParamsReader::kRequired);
    auto subtrahend = p.Int("subtrahend", INT32_MIN, INT32_MAX, ParamsReader::kRequired);
    if (Status st = p.Finish(); !st.ok()) return r.Fail(st);
    r.Result(Value::Int(*minuend - *subtrahend));
  };
  auto sum = [](Session* const&, Request req, Responder r) {
    int64_t total = 0;
    for (const Value& v : req.params.items()) total += v.as_int();
    r.Result(Value::Int(total));
  };
  auto notify = [](Session* const& s, Request req, Responder r) {
    s->notified.push_back(req.method);
    r.Result(Value::None());  // swallowed: a notification
  };
  auto get_data = [](Session* const&, Request, Responder r) {
    r.Result(Value::List({Value::Str("hello"), Value::Int(5), Value::Int(108)}));
  };
  REQUIRE(table.Register("subtract", subtract).ok());
  REQUIRE(table.Register("sum", sum).ok());
  REQUIRE(table.Register("update", notify).ok());
  REQUIRE(table.Register("notify_hello", notify).ok());
  REQUIRE(table.Register("notify_sum", notify).ok());
  REQUIRE(table.Register("get_data", get_data).ok());
  return table;
}

// Everything the server sends for one line.
std::vector<std::string> Handle(const std::string& line, Session* session = nullptr) {
  static const MethodTable<Session*> table = SpecMethods();
  Session local;
  std::vector<std::string> sent;
  HandleLine(line, Limits{}, table, session ? session : &local,
             [&](std::string out) { sent.push_back(std::move(out)); });
  return sent;
}

json One(const std::string& line) {
  INFO("request: " << line);
  auto sent = Handle(line);
  REQUIRE(sent.size() == 1);
  return Shape(ParseLine(sent[0]));
}

}  // namespace

TEST_CASE("spec example: rpc call with positional parameters", "[spec]") {
  CHECK(One(R"({"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1})") ==
        json::parse(R"({"jsonrpc": "2.0", "result": 19, "id": 1})"));
  CHECK(One(R"({"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2})") ==
        json::parse(R"({"jsonrpc": "2.0", "result": -19, "id": 2})"));
}

TEST_CASE("spec example: rpc call with named parameters", "[spec]") {
  CHECK(One(R"({"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3})") ==
        json::parse(R"({"jsonrpc": "2.0", "result": 19, "id": 3})"));
  CHECK(One(R"({"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4})") ==
        json::parse(R"({"jsonrpc": "2.0", "result": 19, "id": 4})"));
}

TEST_CASE("spec example: a notification runs and gets no response", "[spec]") {
  Session s;
  CHECK(Handle(R"({"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]})", &s).empty());
  CHECK(Handle(R"({"jsonrpc": "2.0", "method": "foobar"})", &s).empty());
  CHECK(s.notified == std::vector<std::string>{"update"});
}

TEST_CASE("spec example: rpc call of non-existent method", "[spec]") {
  CHECK(One(R"({"jsonrpc": "2.0", "method": "foobar", "id": "1"})") ==
        json::parse(R"({"jsonrpc": "2.0", "error": {"code": -32601, "message": "<message>"}, "id": "1"})"));
}

TEST_CASE("spec example: rpc call with invalid JSON", "[spec]") {
  CHECK(One(R"({"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz])") ==
        json::parse(R"({"jsonrpc": "2.0", "error": {"code": -32700, "message": "<message>"}, "id": null})"));
}

TEST_CASE("spec example: rpc call with invalid Request object", "[spec]") {
  CHECK(One(R"({"jsonrpc": "2.0", "method": 1, "params": "bar"})") ==
        json::parse(R"({"jsonrpc": "2.0", "error": {"code": -32600, "message": "<message>"}, "id": null})"));
}

TEST_CASE("spec example: rpc call batch with invalid JSON", "[spec]") {
  CHECK(One(R"([{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"])") ==
        json::parse(R"({"jsonrpc": "2.0", "error": {"code": -32700, "message": "<message>"}, "id": null})"));
}

TEST_CASE("spec example: rpc call with an empty array", "[spec]") {
  CHECK(One("[]") ==
        json::parse(R"({"jsonrpc": "2.0", "error": {"code": -32600, "message": "<message>"}, "id": null})"));
}

TEST_CASE("spec example: rpc call with an invalid batch (but not empty)", "[spec]") {
  CHECK(One("[1]") ==
        json::parse(R"([{"jsonrpc": "2.0", "error": {"code": -32600, "message": "<message>"}, "id": null}])"));
}

TEST_CASE("spec example: rpc call with an invalid batch", "[spec]") {
  const json error = json::parse(R"({"jsonrpc": "2.0", "error": {"code": -32600, "message": "<message>"}, "id": null})");
  CHECK(One("[1,2,3]") == json::array({error, error, error}));
}

TEST_CASE("spec example: rpc call batch", "[spec]") {
  Session s;
  auto sent = Handle(
      R"([{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},)"
      R"( {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},)"
      R"( {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},)"
      R"( {"foo": "boo"},)"
      R"( {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},)"
      R"( {"jsonrpc": "2.0", "method": "get_data", "id": "9"}])",
      &s);
  REQUIRE(sent.size() == 1);
  const json expected = json::parse(R"([
      {"jsonrpc": "2.0", "result": 7, "id": "1"},
      {"jsonrpc": "2.0", "result": 19, "id": "2"},
      {"jsonrpc": "2.0", "error": {"code": -32600, "message": "<message>"}, "id": null},
      {"jsonrpc": "2.0", "error": {"code": -32601, "message": "<message>"}, "id": "5"},
      {"jsonrpc": "2.0", "result": ["hello", 5, 108], "id": "9"}])");
  CHECK(Sorted(Shape(ParseLine(sent[0]))) == Sorted(expected));
  CHECK(s.notified == std::vector<std::string>{"notify_hello"});
}

TEST_CASE("spec example: rpc call batch (all notifications)", "[spec]") {
  Session s;
  CHECK(Handle(R"([{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},)"
               R"( {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}])",
               &s)
            .empty());
  CHECK(s.notified == std::vector<std::string>{"notify_sum", "notify_hello"});
}

TEST_CASE("invalid params in a handler become -32602 with a precise message", "[spec]") {
  auto r = One(R"({"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahnd": 23}, "id": 6})");
  CHECK(r["error"]["code"] == -32602);
  auto sent = Handle(R"({"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahnd": 23}, "id": 6})");
  CHECK(ParseLine(sent[0])["error"]["message"] == "params: unknown field \"subtrahnd\" (did you mean \"subtrahend\"?)");
}

TEST_CASE("a batch answered asynchronously from several threads is sent once, complete", "[spec]") {
  // "later" parks Responders; threads then complete them in a shuffled order.
  std::mutex mu;
  std::vector<Responder> parked;
  MethodTable<int> table;
  REQUIRE(table.Register("later", [&](const int&, Request, Responder r) {
                 std::lock_guard<std::mutex> lock(mu);
                 parked.push_back(std::move(r));
               }).ok());
  std::string line = "[";
  constexpr int kRequests = 200;
  for (int k = 0; k < kRequests; ++k) line += R"({"jsonrpc":"2.0","method":"later","id":)" + std::to_string(k) + "},";
  line += R"({"jsonrpc":"2.0","method":"later"}, 5])";  // plus a notification and an invalid element

  std::mutex sent_mu;
  std::vector<std::string> sent;
  HandleLine(line, Limits{}, table, 0, [&](std::string out) {
    std::lock_guard<std::mutex> lock(sent_mu);
    sent.push_back(std::move(out));
  });
  REQUIRE(parked.size() == kRequests + 1);
  CHECK(sent.empty());  // the invalid element alone must not release the batch

  std::shuffle(parked.begin(), parked.end(), std::mt19937(42));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t k = static_cast<size_t>(t); k < parked.size(); k += 4) {
        parked[k].Result(Value::Str("done"));
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(sent.size() == 1);
  auto array = ParseLine(sent[0]);
  REQUIRE(array.size() == kRequests + 1);  // the notification gets nothing
  int errors = 0;
  for (const auto& r : array) errors += r.contains("error") ? 1 : 0;
  CHECK(errors == 1);
}
