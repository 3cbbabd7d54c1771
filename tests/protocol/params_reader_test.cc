#include "interpd/protocol/params_reader.h"

#include <catch2/catch.hpp>

#include <string>

#include "interpd/protocol/json_reader.h"

using interpd::Status;
using interpd::Value;
using interpd::ValueKind;
using interpd::protocol::JsonReadError;
using interpd::protocol::Limits;
using interpd::protocol::ParamsReader;
using interpd::protocol::ReadJson;

namespace {

Value Params(const std::string& json) {
  Value v;
  JsonReadError error;
  REQUIRE(ReadJson(json, Limits{}, &v, &error));
  return v;
}

// The reader's verdict for `json` after `read` asked for its fields.
template <typename Read>
std::string Verdict(const std::string& json, Read read) {
  Value v = Params(json);
  ParamsReader p(v, {"code", "timeout"});
  read(p);
  Status st = p.Finish();
  if (st.ok()) return "ok";
  CHECK(st.code() == Status::Code::kInvalidArgument);
  return st.message();
}

}  // namespace

TEST_CASE("typed getters return the fields of named params", "[params]") {
  Value v = Params(R"j({"code": "print(1)", "stream": true, "worker": 3, "timeout": 2.5,
                       "args": ["a", "b"], "isolation": "fresh", "kwargs": {"x": 1}, "list": [1, "x"], "id": null})j");
  ParamsReader p(v);
  CHECK(p.String("code") == "print(1)");
  CHECK(p.Bool("stream") == true);
  CHECK(p.Int("worker", 0, 7) == 3);
  CHECK(p.Number("timeout", 0, 60) == 2.5);
  CHECK(p.StringList("args") == std::vector<std::string>{"a", "b"});
  CHECK(p.OneOf("isolation", {"reuse", "fresh"}) == "fresh");
  CHECK(p.Object("kwargs") == Value::Dict({{Value::Str("x"), Value::Int(1)}}));
  CHECK(p.Array("list") == Value::List({Value::Int(1), Value::Str("x")}));
  CHECK(p.Any("id") == Value::None());
  CHECK_FALSE(p.String("path").has_value());  // absent and optional: no error
  CHECK(p.ok());
  CHECK(p.Finish().ok());
}

TEST_CASE("an integer is a number but a float is not an integer", "[params]") {
  Value v = Params(R"({"a": 5, "b": 3.0})");
  ParamsReader p(v);
  CHECK(p.Number("a", 0, 10) == 5.0);
  CHECK_FALSE(p.Int("b", 0, 10).has_value());
  CHECK(p.Finish().message() == "params.b: expected an integer, got 3.0");
}

TEST_CASE("wrong types, missing fields and ranges produce precise messages", "[params]") {
  struct Row {
    const char* json;
    const char* message;
  } rows[] = {
      {R"({"code": "x", "timeout": "5"})", "params.timeout: expected a number, got string"},
      {R"({"code": 1})", "params.code: expected a string, got number"},
      {R"({"code": null})", "params.code: expected a string, got null"},
      {R"({})", "params: missing required field \"code\""},
      {R"({"code": "x", "timeout": -1})", "params.timeout: must be between 0 and 86400, got -1"},
      {R"({"code": "x", "timeout": 1e9})", "params.timeout: must be between 0 and 86400, got 1000000000.0"},
      {R"({"code": "x", "timeout": 99999999999999999999999})",
       "params.timeout: must be between 0 and 86400, got 99999999999999999999999"},
      {R"({"code": "x", "timeout": [1]})", "params.timeout: expected a number, got array"},
  };
  for (const auto& row : rows) {
    INFO(row.json);
    CHECK(Verdict(row.json, [](ParamsReader& p) {
            p.String("code", ParamsReader::kRequired);
            p.Number("timeout", 0, 86400);
          }) == row.message);
  }
}

TEST_CASE("integer fields are range-checked, big integers included", "[params]") {
  auto worker = [](ParamsReader& p) { p.Int("worker", 0, 7); };
  CHECK(Verdict(R"({"worker": 7})", worker) == "ok");
  CHECK(Verdict(R"({"worker": 8})", worker) == "params.worker: must be between 0 and 7, got 8");
  CHECK(Verdict(R"({"worker": -1})", worker) == "params.worker: must be between 0 and 7, got -1");
  CHECK(Verdict(R"({"worker": 123456789012345678901234567890})", worker) ==
        "params.worker: must be between 0 and 7, got 123456789012345678901234567890");
  CHECK(Verdict(R"({"worker": true})", worker) == "params.worker: expected an integer, got boolean");
}

TEST_CASE("unknown fields are errors and near misses get a suggestion", "[params]") {
  auto run = [](ParamsReader& p) {
    p.String("code");
    p.Number("timeout", 0, 100);
    p.Bool("stream");
  };
  CHECK(Verdict(R"({"code": "x", "tiemout": 5})", run) == "params: unknown field \"tiemout\" (did you mean \"timeout\"?)");
  CHECK(Verdict(R"({"code": "x", "strem": true})", run) == "params: unknown field \"strem\" (did you mean \"stream\"?)");
  CHECK(Verdict(R"({"code": "x", "banana": 1})", run) == "params: unknown field \"banana\"");
  // The unknown field is reported ahead of the error it probably caused.
  CHECK(Verdict(R"({"cod": "x"})", [](ParamsReader& p) { p.String("code", ParamsReader::kRequired); }) ==
        "params: unknown field \"cod\" (did you mean \"code\"?)");
  // Field names from the client are quoted safely.
  CHECK(Verdict(R"({"a\"b\n": 1})", [](ParamsReader&) {}) == "params: unknown field \"a\\\"b\\n\"");
}

TEST_CASE("string lists check every element", "[params]") {
  auto args = [](ParamsReader& p) { p.StringList("args"); };
  CHECK(Verdict(R"({"args": []})", args) == "ok");
  CHECK(Verdict(R"({"args": ["a", 2, "c"]})", args) == "params.args[1]: expected a string, got number");
  CHECK(Verdict(R"({"args": "a b"})", args) == "params.args: expected an array of strings, got string");
}

TEST_CASE("enumerated strings list the choices", "[params]") {
  CHECK(Verdict(R"({"lane": "compt"})", [](ParamsReader& p) { p.OneOf("lane", {"isolated", "compat", "auto"}); }) ==
        "params.lane: expected one of \"isolated\", \"compat\", \"auto\", got \"compt\"");
}

TEST_CASE("positional params map onto the declared names in order", "[params]") {
  Value v = Params(R"j(["print(1)", 30])j");
  ParamsReader reader(v, {"code", "timeout"});
  CHECK(reader.String("code") == "print(1)");
  CHECK(reader.Number("timeout", 0, 60) == 30.0);
  CHECK(reader.Finish().ok());

  CHECK(Verdict(R"(["x", 1, 2])", [](ParamsReader&) {}) == "params: expected at most 2 positional parameters, got 3");
  CHECK(Verdict(R"([5])", [](ParamsReader& p) { p.String("code"); }) == "params.code: expected a string, got number");
  // Fewer than declared: the rest are absent.
  CHECK(Verdict(R"(["x"])", [](ParamsReader& p) {
          p.String("code", ParamsReader::kRequired);
          p.Number("timeout", 0, 1, ParamsReader::kRequired);
        }) == "params: missing required field \"timeout\"");
}

TEST_CASE("a method without positional names refuses an array but takes an empty one", "[params]") {
  Value list = Params("[1]");
  ParamsReader p(list);
  CHECK(p.Finish().message() == "params: expected an object (named parameters), got an array");
  Value empty = Params("[]");
  ParamsReader q(empty);
  CHECK(q.Finish().ok());
}

TEST_CASE("absent params have no fields", "[params]") {
  Value none;
  ParamsReader p(none);
  CHECK_FALSE(p.String("code").has_value());
  CHECK(p.Finish().ok());
  ParamsReader q(none);
  q.String("code", ParamsReader::kRequired);
  CHECK(q.Finish().message() == "params: missing required field \"code\"");
}

TEST_CASE("a custom error is reported and the first error wins", "[params]") {
  Value v = Params(R"({"code": 1, "path": "/x"})");
  ParamsReader p(v);
  p.String("code");
  p.String("path");
  p.Fail("params: exactly one of \"code\" and \"path\" is required");
  CHECK_FALSE(p.ok());
  CHECK(p.Finish().message() == "params.code: expected a string, got number");
}
