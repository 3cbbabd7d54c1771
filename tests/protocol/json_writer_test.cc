#include "interpd/protocol/json_writer.h"

#include <catch2/catch.hpp>

#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

using interpd::Status;
using interpd::Value;
using interpd::ValueKind;
using interpd::protocol::AppendJson;
using interpd::protocol::AppendJsonString;
using interpd::protocol::AppendJsonStringLenient;
using interpd::protocol::JsonTypeName;
using interpd::protocol::JsonWriteError;
using interpd::protocol::JsonWriteOptions;
using interpd::protocol::ToJson;

namespace {

std::string Json(const Value& v) {
  std::string out;
  Status st = ToJson(v, &out);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return out;
}

// The status message for a value the writer must refuse at root "result".
std::string Refusal(const Value& v, int max_depth = 128) {
  std::string out = "prefix";
  Status st = AppendJson(v, &out, JsonWriteOptions{"result", max_depth});
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == Status::Code::kNotShareable);
  CHECK(out == "prefix");  // nothing partial left behind
  return st.message();
}

Value S(std::string s) { return Value::Str(std::move(s)); }
Value I(int64_t i) { return Value::Int(i); }

class FakeHandle final : public interpd::Handle {
 public:
  std::string Describe() const override { return "<Channel 7>"; }
  uint64_t Identity() const override { return 7; }
};

}  // namespace

TEST_CASE("scalars are written as JSON literals", "[writer]") {
  CHECK(Json(Value::None()) == "null");
  CHECK(Json(Value::Bool(true)) == "true");
  CHECK(Json(Value::Bool(false)) == "false");
  CHECK(Json(I(0)) == "0");
  CHECK(Json(I(-42)) == "-42");
  CHECK(Json(I(std::numeric_limits<int64_t>::max())) == "9223372036854775807");
  CHECK(Json(I(std::numeric_limits<int64_t>::min())) == "-9223372036854775808");
  std::vector<uint8_t> big;
  REQUIRE(interpd::DecimalToBigInt("-1234567890123456789012345678901234567890", &big));
  CHECK(Json(Value::BigInt(big)) == "-1234567890123456789012345678901234567890");
}

TEST_CASE("floats are written as Python's repr writes them", "[writer]") {
  struct Row {
    double d;
    const char* json;
  } rows[] = {{1.0, "1.0"},         {0.1, "0.1"},       {-0.0, "-0.0"},        {1e16, "1e+16"},
              {1e308, "1e+308"},    {5e-324, "5e-324"}, {123.456, "123.456"},  {1e-5, "1e-05"},
              {-2.5e-300, "-2.5e-300"}};
  for (const auto& row : rows) CHECK(Json(Value::Float(row.d)) == row.json);
}

TEST_CASE("strings escape quotes, backslashes and control characters only", "[writer]") {
  CHECK(Json(S("")) == "\"\"");
  CHECK(Json(S("plain / text")) == "\"plain / text\"");
  CHECK(Json(S("q\"b\\")) == "\"q\\\"b\\\\\"");
  CHECK(Json(S("\b\f\n\r\t")) == "\"\\b\\f\\n\\r\\t\"");
  CHECK(Json(S(std::string("\0\x01\x1f\x7f", 4))) == "\"\\u0000\\u0001\\u001f\x7f\"");
  // Non-ASCII stays UTF-8: compact, and what json.dumps(ensure_ascii=False) writes.
  CHECK(Json(S("h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")) == "\"h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  // No raw newline can ever reach the NDJSON stream.
  CHECK(Json(S("a\nb\r\nc")).find('\n') == std::string::npos);
}

TEST_CASE("lone surrogates stored surrogatepass-style are written as u-escapes", "[writer]") {
  CHECK(Json(S("\xED\xA0\x80")) == "\"\\ud800\"");
  CHECK(Json(S("a\xED\xBF\xBFz")) == "\"a\\udfffz\"");
  CHECK(Json(S("\xED\xB2\x80")) == "\"\\udc80\"");  // what surrogateescape makes of byte 0x80
  // ED 80..9F is ordinary UTF-8 (U+D000..U+D7FF) and passes through.
  CHECK(Json(S("\xED\x9F\xBF")) == "\"\xED\x9F\xBF\"");
  // Two separately stored surrogates come out as a pair, as json.dumps
  // writes '\ud83d\ude00' (a reader joins them into one character).
  CHECK(Json(S("\xED\xA0\xBD\xED\xB8\x80")) == "\"\\ud83d\\ude00\"");
}

TEST_CASE("containers become arrays and objects", "[writer]") {
  CHECK(Json(Value::List({})) == "[]");
  CHECK(Json(Value::Dict({})) == "{}");
  CHECK(Json(Value::Tuple({I(1), S("a")})) == "[1,\"a\"]");
  CHECK(Json(Value::List({I(1), Value::List({Value::None()}), Value::Tuple({})})) == "[1,[null],[]]");
  CHECK(Json(Value::Dict({{S("b"), I(1)}, {S("a\""), Value::Dict({{S(""), Value::Bool(true)}})}})) ==
        "{\"b\":1,\"a\\\"\":{\"\":true}}");
}

TEST_CASE("the output of a rich value is JSON by an independent parser", "[writer]") {
  Value v = Value::Dict({{S("list"), Value::List({I(1), Value::Float(2.5), S("x\ty"), Value::None()})},
                         {S("nested"), Value::Dict({{S("k"), Value::Tuple({Value::Bool(false)})}})},
                         {S("unicode"), S("\xC3\xA9\xF0\x9F\x98\x80")}});
  const std::string out = Json(v);
  nlohmann::json referee = nlohmann::json::parse(out);
  CHECK(referee["list"][2] == "x\ty");
  CHECK(referee["nested"]["k"][0] == false);
  CHECK(referee["unicode"] == "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST_CASE("values JSON cannot carry are refused with their type and path", "[writer]") {
  auto handle = std::make_shared<FakeHandle>();
  struct Row {
    Value v;
    const char* type;
  } rows[] = {
      {Value::Bytes("ab"), "bytes"},
      {Value::Complex(1, 2), "complex"},
      {Value::FrozenSet({I(1)}), "frozenset"},
      {Value::Pickled("\x80\x05"), "pickled"},
      {Value::Custom("m", "C", I(1)), "custom"},
      {Value::FromHandle(ValueKind::kChannel, handle), "Channel"},
      {Value::FromHandle(ValueKind::kBuffer, handle), "SharedBuffer"},
      {Value::FromHandle(ValueKind::kActor, handle), "ActorHandle"},
  };
  for (const auto& row : rows) {
    INFO(row.type);
    // Nested, to check the path as well as the type.
    Value wrapped = Value::List({I(0), I(1), Value::Dict({{S("k"), row.v}})});
    CHECK(Refusal(wrapped) ==
          std::string("value at result[2][\"k\"] of type ") + row.type + " is not representable as JSON");
    CHECK(Refusal(row.v) == std::string("value at result of type ") + row.type + " is not representable as JSON");
  }
}

TEST_CASE("NaN and infinities are refused, not written as non-JSON tokens", "[writer]") {
  CHECK(Refusal(Value::List({Value::Float(std::numeric_limits<double>::quiet_NaN())})) ==
        "value at result[0] of type float is not representable as JSON (nan is not a JSON number)");
  CHECK(Refusal(Value::Float(-std::numeric_limits<double>::infinity())) ==
        "value at result of type float is not representable as JSON (infinity is not a JSON number)");
}

TEST_CASE("a dict key that is not a string is refused at the dict's path", "[writer]") {
  Value v = Value::Dict({{S("ok"), Value::Dict({{I(1), S("one")}})}});
  CHECK(Refusal(v) ==
        "dict key at result[\"ok\"] of type int is not representable as JSON (object keys must be strings)");
  CHECK(Refusal(Value::Dict({{Value::Tuple({}), I(1)}})) ==
        "dict key at result of type tuple is not representable as JSON (object keys must be strings)");
}

TEST_CASE("a string that is not UTF-8 is refused rather than written broken", "[writer]") {
  CHECK(Refusal(Value::List({S("ok"), S("bad\xFF")})) ==
        "value at result[1] of type str is not representable as JSON (invalid UTF-8)");
  CHECK(Refusal(Value::Dict({{S("\xC0\x80"), I(1)}})) ==
        "dict key at result of type str is not representable as JSON (invalid UTF-8)");
}

TEST_CASE("keys in a path are JSON-quoted and long ones are cut", "[writer]") {
  Value v = Value::Dict({{S("a\"b\n"), Value::Bytes("")}});
  CHECK(Refusal(v) == "value at result[\"a\\\"b\\n\"] of type bytes is not representable as JSON");
  Value long_key = Value::Dict({{S(std::string(5000, 'k')), Value::Bytes("")}});
  const std::string message = Refusal(long_key);
  CHECK(message.size() < 200);
  CHECK(message.find("kkk...\"]") != std::string::npos);
}

TEST_CASE("the error details name path and type for error.data", "[writer]") {
  std::string out;
  JsonWriteError error;
  Value v = Value::List({Value::Tuple({I(1), Value::Complex(0, 1)})});
  REQUIRE_FALSE(AppendJson(v, &out, JsonWriteOptions{"result", 128}, &error).ok());
  CHECK(error.path == "result[0][1]");
  CHECK(error.type == "complex");
}

TEST_CASE("nesting up to the depth limit is written and one level more is refused", "[writer]") {
  Value v = Value::List({});
  for (int k = 1; k < 128; ++k) v = Value::List({v});
  std::string out;
  REQUIRE(AppendJson(v, &out, JsonWriteOptions{"result", 128}).ok());
  CHECK(out == std::string(128, '[') + std::string(128, ']'));

  Value deeper = Value::List({v});
  std::string path = "result";
  for (int k = 0; k < 128; ++k) path += "[0]";
  CHECK(Refusal(deeper, 128) ==
        "value at " + path + " of type list is not representable as JSON (nesting exceeds the depth limit of 128)");
  CHECK(Refusal(Value::Dict({{S("a"), Value::Dict({})}}), 1) ==
        "value at result[\"a\"] of type dict is not representable as JSON (nesting exceeds the depth limit of 1)");
}

TEST_CASE("appending keeps what the buffer already holds", "[writer]") {
  std::string out = "{\"result\":";
  REQUIRE(AppendJson(Value::List({I(1)}), &out).ok());
  CHECK(out == "{\"result\":[1]");
}

TEST_CASE("string quoting is strict by default and lenient on request", "[writer]") {
  std::string out = "x";
  CHECK_FALSE(AppendJsonString("a\xFF", &out));
  CHECK(out == "x");
  CHECK(AppendJsonString("a\xED\xA0\x80", &out));
  CHECK(out == "x\"a\\ud800\"");
  std::string lenient;
  AppendJsonStringLenient("a\xFF\xC3\xA9\xE2\x82", &lenient);
  CHECK(lenient == "\"a\xEF\xBF\xBD\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST_CASE("JSON type names are the wire names", "[writer]") {
  CHECK(JsonTypeName(ValueKind::kNone) == "null");
  CHECK(JsonTypeName(ValueKind::kBool) == "boolean");
  CHECK(JsonTypeName(ValueKind::kBigInt) == "number");
  CHECK(JsonTypeName(ValueKind::kFloat) == "number");
  CHECK(JsonTypeName(ValueKind::kStr) == "string");
  CHECK(JsonTypeName(ValueKind::kTuple) == "array");
  CHECK(JsonTypeName(ValueKind::kDict) == "object");
  CHECK(JsonTypeName(ValueKind::kBytes) == "bytes");
}

TEST_CASE("integers longer than the digit limit are refused without converting them", "[writer]") {
  std::vector<uint8_t> bytes(4000, 0x11);  // about 9600 digits
  bytes.push_back(0);
  std::string out;
  JsonWriteError err;
  Status st = AppendJson(Value::BigInt(bytes), &out, {}, &err);
  CHECK(st.code() == Status::Code::kNotShareable);
  CHECK(st.message().find("4300 digits") != std::string::npos);
  std::vector<uint8_t> ok;
  REQUIRE(interpd::DecimalToBigInt(std::string(4300, '9'), &ok));
  out.clear();
  CHECK(AppendJson(Value::BigInt(ok), &out, {}).ok());
  CHECK(out == std::string(4300, '9'));
  std::vector<uint8_t> over;
  REQUIRE(interpd::DecimalToBigInt(std::string(4301, '9'), &over));
  out.clear();
  CHECK_FALSE(AppendJson(Value::BigInt(over), &out, {}).ok());
}
