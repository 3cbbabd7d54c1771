#include "interpd/protocol/json_reader.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <string>

using interpd::Value;
using interpd::ValueKind;
using interpd::protocol::JsonReadError;
using interpd::protocol::Limits;
using interpd::protocol::ReadJson;
using Kind = JsonReadError::Kind;

namespace {

Value Read(std::string_view text, const Limits& limits = {}) {
  Value v;
  JsonReadError error;
  INFO("input: " << text.substr(0, 200));
  REQUIRE(ReadJson(text, limits, &v, &error));
  return v;
}

JsonReadError ReadFails(std::string_view text, const Limits& limits = {}) {
  Value v = Value::Str("untouched");
  JsonReadError error;
  INFO("input: " << text.substr(0, 200));
  REQUIRE_FALSE(ReadJson(text, limits, &v, &error));
  CHECK(v == Value::Str("untouched"));
  CHECK(error.kind != Kind::kNone);
  CHECK_FALSE(error.message.empty());
  return error;
}

Value S(std::string s) { return Value::Str(std::move(s)); }
Value I(int64_t i) { return Value::Int(i); }

bool IsValidUtf8(std::string_view s) {
  // Small independent check (no surrogates, no overlongs) for messages.
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    if (c == 0xED && static_cast<unsigned char>(s[i + 1]) >= 0xA0) return false;
    i += n;
  }
  return true;
}

}  // namespace

TEST_CASE("JSON scalars read as the matching Value kinds", "[reader]") {
  CHECK(Read("null") == Value::None());
  CHECK(Read("true") == Value::Bool(true));
  CHECK(Read("false") == Value::Bool(false));
  CHECK(Read("0") == I(0));
  CHECK(Read("-17") == I(-17));
  CHECK(Read("1.5") == Value::Float(1.5));
  CHECK(Read("2.5E+3") == Value::Float(2500.0));
  CHECK(Read("1e2").kind() == ValueKind::kFloat);  // any non-integer literal is a float, as in json.loads
  CHECK(Read("\"h\\u00e9\\n\\\"\\\\\\/\"") == S("h\xC3\xA9\n\"\\/"));
  CHECK(Read(" \t\r\n 7 \n") == I(7));
}

TEST_CASE("arrays read as lists and objects as dicts in insertion order", "[reader]") {
  CHECK(Read("[]") == Value::List({}));
  CHECK(Read("{}") == Value::Dict({}));
  Value v = Read(R"({"b": [1, "x", null], "a": {"c": false}})");
  REQUIRE(v.kind() == ValueKind::kDict);
  REQUIRE(v.pairs().size() == 2);
  CHECK(v.pairs()[0].first == S("b"));
  CHECK(v.pairs()[1].first == S("a"));
  CHECK(v.pairs()[0].second == Value::List({I(1), S("x"), Value::None()}));
  CHECK(v.pairs()[1].second == Value::Dict({{S("c"), Value::Bool(false)}}));
}

TEST_CASE("a duplicate key keeps its first position and takes the last value, like json.loads", "[reader]") {
  Value v = Read(R"({"a": 1, "b": 2, "a": 3})");
  REQUIRE(v.pairs().size() == 2);
  CHECK(v.pairs()[0] == std::make_pair(S("a"), I(3)));
  CHECK(v.pairs()[1] == std::make_pair(S("b"), I(2)));

  // Large objects take the hashed path; the outcome must be the same.
  std::string text = "{";
  for (int k = 0; k < 100; ++k) text += "\"k" + std::to_string(k) + "\":" + std::to_string(k) + ",";
  text += "\"k5\":-5,\"k99\":-99,\"new\":1}";
  Value big = Read(text);
  REQUIRE(big.pairs().size() == 101);
  CHECK(big.pairs()[5] == std::make_pair(S("k5"), I(-5)));
  CHECK(big.pairs()[99] == std::make_pair(S("k99"), I(-99)));
  CHECK(big.pairs()[100] == std::make_pair(S("new"), I(1)));
}

TEST_CASE("integers keep their exact value at and beyond the int64 range", "[reader]") {
  struct Row {
    const char* text;
    ValueKind kind;
  } rows[] = {
      {"9223372036854775807", ValueKind::kInt},      {"-9223372036854775808", ValueKind::kInt},
      {"9223372036854775808", ValueKind::kBigInt},   {"-9223372036854775809", ValueKind::kBigInt},
      {"18446744073709551615", ValueKind::kBigInt},  {"18446744073709551616", ValueKind::kBigInt},
      {"-18446744073709551617", ValueKind::kBigInt}, {"123456789012345678901234567890123456789", ValueKind::kBigInt},
  };
  for (const auto& row : rows) {
    INFO(row.text);
    Value v = Read(row.text);
    CHECK(v.kind() == row.kind);
    CHECK(v.Repr() == row.text);
  }
  CHECK(Read("-0") == I(0));  // json.loads("-0") is the int 0
}

TEST_CASE("integers beyond the double range are still exact", "[reader]") {
  // 400 digits: past 1.8e308, where a double-based reader would give up.
  std::string text = "-" + std::string(400, '7');
  CHECK(Read(text).Repr() == text);
  // 4300 digits, Python's default int_max_str_digits: accepted.
  std::string limit(4300, '9');
  CHECK(Read(limit).Repr() == limit);
  CHECK(Read("-" + limit).Repr() == "-" + limit);
}

TEST_CASE("an integer longer than the digit limit is refused with its own error kind", "[reader]") {
  for (size_t digits : {size_t{4301}, size_t{4932}, size_t{4933}, size_t{5000}, size_t{100000}}) {
    INFO(digits << " digits");
    const std::string text = "[1, \"12345\", " + std::string(digits, '3') + "]";
    JsonReadError e = ReadFails(text);
    CHECK(e.kind == Kind::kNumberTooLong);
    CHECK(e.offset == 13);
    CHECK(e.message.find(std::to_string(digits) + " digits") != std::string::npos);
  }
  // A lower configured limit applies too.
  Limits small;
  small.max_integer_digits = 30;
  CHECK(Read(std::string(30, '1'), small).kind() == ValueKind::kBigInt);
  CHECK(ReadFails(std::string(31, '1'), small).kind == Kind::kNumberTooLong);
  CHECK(ReadFails("-" + std::string(31, '1'), small).kind == Kind::kNumberTooLong);
}

TEST_CASE("floats read with correct rounding, extremes included", "[reader]") {
  CHECK(Read("1e308").as_float() == 1e308);
  CHECK(Read("1.7976931348623157e308").as_float() == std::numeric_limits<double>::max());
  CHECK(Read("5e-324").as_float() == std::numeric_limits<double>::denorm_min());
  CHECK(Read("2.2250738585072014e-308").as_float() == std::numeric_limits<double>::min());
  CHECK(Read("0.1").as_float() == 0.1);
  Value neg_zero = Read("-0.0");
  CHECK(neg_zero.as_float() == 0.0);
  CHECK(std::signbit(neg_zero.as_float()));
  // Underflow rounds to a signed zero, as float() does.
  CHECK(Read("1e-400") == Value::Float(0.0));
  CHECK(Read("-1e-400") == Value::Float(-0.0));
  CHECK(Read("2e-324") == Value::Float(0.0));
}

TEST_CASE("a float literal beyond the double range is a parse error, not infinity", "[reader]") {
  for (const char* text : {"1e400", "-1e400", "[0, 1.8e308]", "1e5000"}) {
    INFO(text);
    JsonReadError e = ReadFails(text);
    CHECK(e.kind == Kind::kSyntax);
    CHECK(e.message.find("out of range") != std::string::npos);
  }
  CHECK(ReadFails("[0, 1.8e308]").offset == 4);
  CHECK(ReadFails("[0, 1e5000]").offset == 4);
}

TEST_CASE("syntax errors say where they are", "[reader]") {
  struct Row {
    const char* text;
    size_t offset;
  } rows[] = {
      {"", 0},         {"tru", 3},       {"[1,]", 3},      {"{\"a\" 1}", 5}, {"1 2", 2},     {"NaN", 0},
      {"Infinity", 0}, {"-Infinity", 1}, {"'a'", 0},       {"01", 1},        {"[1", 2},      {"{\"a\":}", 5},
      {"[1]]", 3},     {"\"a", 2},       {"{1:2}", 1},     {"// c\n1", 0},   {"[.5]", 1},    {"1.", 2},
  };
  for (const auto& row : rows) {
    INFO("input: " << row.text);
    JsonReadError e = ReadFails(row.text);
    CHECK(e.kind == Kind::kSyntax);
    CHECK(e.offset == row.offset);
    CHECK(e.message.rfind("syntax error at byte " + std::to_string(row.offset) + ": ", 0) == 0);
  }
}

TEST_CASE("control characters in strings and NUL bytes anywhere are syntax errors", "[reader]") {
  CHECK(ReadFails(std::string("\"a\nb\"")).kind == Kind::kSyntax);
  CHECK(ReadFails(std::string("\"a\tb\"")).kind == Kind::kSyntax);
  CHECK(ReadFails(std::string("\"a\0b\"", 5)).kind == Kind::kSyntax);
  // nlohmann alone would take a NUL for the end of the text and accept these.
  CHECK(ReadFails(std::string("1\0", 2)).offset == 1);
  CHECK(ReadFails(std::string("{}\0{\"junk", 7)).offset == 2);
  CHECK(Read("\"a\\u0000b\"") == S(std::string("a\0b", 3)));
}

TEST_CASE("invalid UTF-8 is a syntax error and the message stays valid UTF-8", "[reader]") {
  const char* bad[] = {
      "\"\xFF\"",              // never valid
      "\"\xC0\x80\"",          // overlong NUL
      "\"\xE2\x82\"",          // truncated sequence
      "\"\xED\xA0\x80\"",      // a raw surrogate (only \u escapes may name those)
      "\"\xF4\x90\x80\x80\"",  // beyond U+10FFFF
      "\"\x80\"",              // stray continuation byte
      "[\xC3]",                // non-ASCII outside a string
  };
  for (const char* text : bad) {
    INFO("input: " << text);
    JsonReadError e = ReadFails(text);
    CHECK(e.kind == Kind::kSyntax);
    CHECK(IsValidUtf8(e.message));
  }
  CHECK(Read("\"\xF0\x9F\x98\x80 \xE2\x82\xAC\"") == S("\xF0\x9F\x98\x80 \xE2\x82\xAC"));
}

TEST_CASE("surrogate escapes must pair up and a lone one is a syntax error", "[reader]") {
  CHECK(Read("\"\\ud83d\\ude00\"") == S("\xF0\x9F\x98\x80"));
  for (const char* text : {"\"\\ud800\"", "\"\\udc00\"", "\"\\ud800x\"", "\"\\ud800\\u0041\""}) {
    INFO("input: " << text);
    JsonReadError e = ReadFails(text);
    CHECK(e.kind == Kind::kSyntax);
    CHECK(e.message.find("surrogate") != std::string::npos);
  }
}

TEST_CASE("nesting up to the depth limit is read and one level more is refused", "[reader]") {
  Limits limits;
  limits.max_depth = 128;
  const std::string ok = std::string(128, '[') + std::string(128, ']');
  Value v = Read(ok, limits);
  int depth = 1;
  Value inner = v;
  while (!inner.items().empty()) {
    inner = inner.items()[0];
    ++depth;
  }
  CHECK(depth == 128);

  JsonReadError e = ReadFails(std::string(129, '[') + std::string(129, ']'), limits);
  CHECK(e.kind == Kind::kTooDeep);
  CHECK(e.offset == 128);
  CHECK(e.message.find("128") != std::string::npos);

  // Objects count too, and brackets inside strings do not.
  std::string objects;
  for (int k = 0; k < 129; ++k) objects += "{\"[\":";
  objects += "1" + std::string(129, '}');
  CHECK(ReadFails(objects, limits).kind == Kind::kTooDeep);
  CHECK(ReadFails(objects, limits).offset == 128 * 5);
  limits.max_depth = 1;
  CHECK(Read("[\"[[[{{{\"]", limits) == Value::List({S("[[[{{{")}));
  CHECK(ReadFails("[[]]", limits).offset == 1);
}

TEST_CASE("100,000 open brackets are refused quickly and without crashing", "[reader]") {
  for (char open : {'[', '{'}) {
    std::string text;
    if (open == '[') {
      text.assign(100000, '[');
    } else {
      for (int k = 0; k < 100000; ++k) text += "{\"a\":";
    }
    const auto start = std::chrono::steady_clock::now();
    JsonReadError e = ReadFails(text);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(e.kind == Kind::kTooDeep);
    // The refusal happens at level 129, long before the end of the text.
    CHECK(elapsed < std::chrono::milliseconds(500));
  }
}

TEST_CASE("a byte order mark at the start is skipped", "[reader]") {
  CHECK(Read("\xEF\xBB\xBF[1]") == Value::List({I(1)}));
}

TEST_CASE("a megabyte string reads intact", "[reader]") {
  std::string body(1 << 20, 'a');
  body[1000] = '\xC3';
  body[1001] = '\xA9';
  CHECK(Read("\"" + body + "\"") == S(body));
}
