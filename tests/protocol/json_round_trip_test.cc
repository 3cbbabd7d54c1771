// Value -> JSON -> Value must give back an equal Value for everything JSON
// can carry. Seeded, so a failure reproduces; the seed is in the output.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>

#include "interpd/protocol/json_reader.h"
#include "interpd/protocol/json_writer.h"

using interpd::Value;
using interpd::ValueKind;
using interpd::protocol::JsonReadError;
using interpd::protocol::Limits;
using interpd::protocol::ReadJson;
using interpd::protocol::ToJson;

namespace {

Value RoundTrip(const Value& v) {
  std::string json;
  auto st = ToJson(v, &json);
  INFO(st.ToString());
  REQUIRE(st.ok());
  Value back;
  JsonReadError error;
  INFO("json: " << json.substr(0, 300));
  INFO("read error: " << error.message);
  REQUIRE(ReadJson(json, Limits{}, &back, &error));
  return back;
}

// Random values of the kinds JSON carries back unchanged (so no Tuple, which
// reads back as a List, and no lone surrogates, which the reader refuses).
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  Value Any(int depth) {
    const int pick = Uniform(0, depth > 0 ? 8 : 6);
    switch (pick) {
      case 0: return Value::None();
      case 1: return Value::Bool(Uniform(0, 1) == 1);
      case 2: return Value::Int(static_cast<int64_t>(rng_()));
      case 3: return BigInt();
      case 4: return Float();
      case 5:
      case 6: return Value::Str(Text());
      case 7: {
        Value::Items items;
        for (int k = Uniform(0, 5); k > 0; --k) items.push_back(Any(depth - 1));
        return Value::List(std::move(items));
      }
      default: {
        Value::Pairs pairs;
        std::set<std::string> keys;
        for (int k = Uniform(0, 5); k > 0; --k) {
          std::string key = Text();
          if (keys.insert(key).second) pairs.emplace_back(Value::Str(key), Any(depth - 1));
        }
        return Value::Dict(std::move(pairs));
      }
    }
  }

  Value BigInt() {
    std::vector<uint8_t> bytes(static_cast<size_t>(Uniform(1, 200)));
    for (auto& b : bytes) b = static_cast<uint8_t>(rng_());
    return Value::BigInt(bytes);
  }

  Value Float() {
    // Random bit patterns cover subnormals and extremes; skip NaN and inf.
    for (;;) {
      const double d = std::bit_cast<double>(static_cast<uint64_t>(rng_()));
      if (std::isfinite(d)) return Value::Float(d);
    }
  }

  // UTF-8 text mixing ASCII, escapes-to-be and multi-byte characters.
  std::string Text() {
    std::string s;
    for (int k = Uniform(0, 12); k > 0; --k) {
      uint32_t cp = 0;
      switch (Uniform(0, 4)) {
        case 0: cp = static_cast<uint32_t>(Uniform(0, 0x1F)); break;  // control characters
        case 1: cp = static_cast<uint32_t>(Uniform(0x20, 0x7F)); break;
        case 2: cp = static_cast<uint32_t>(Uniform(0x80, 0x7FF)); break;
        case 3:
          cp = static_cast<uint32_t>(Uniform(0x800, 0xFFFF));
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = '"';
          break;
        default: cp = static_cast<uint32_t>(Uniform(0x10000, 0x10FFFF)); break;
      }
      AppendUtf8(cp, &s);
    }
    return s;
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  static void AppendUtf8(uint32_t cp, std::string* s) {
    if (cp < 0x80) {
      s->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::mt19937_64 rng_;
};

}  // namespace

TEST_CASE("random values survive a round trip through JSON", "[roundtrip]") {
  const uint64_t seed = 20240601;
  Generator gen(seed);
  for (int k = 0; k < 2000; ++k) {
    INFO("seed " << seed << ", value #" << k);
    Value v = gen.Any(5);
    CHECK(RoundTrip(v) == v);
  }
}

TEST_CASE("random writer output is accepted by an independent JSON parser", "[roundtrip]") {
  // nlohmann's grammar check, with long double numbers so that integers past
  // 1e308 are not mistaken for errors (a double-based json rejects those).
  using Referee = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t, std::uint64_t,
                                       long double>;
  Generator gen(7);
  for (int k = 0; k < 300; ++k) {
    std::string json;
    REQUIRE(ToJson(gen.Any(4), &json).ok());
    INFO(json);
    CHECK(Referee::accept(json));
  }
}

TEST_CASE("big integers round trip exactly, positive and negative", "[roundtrip]") {
  Generator gen(99);
  for (int k = 0; k < 300; ++k) {
    Value v = gen.BigInt();
    CHECK(RoundTrip(v) == v);
  }
  std::vector<uint8_t> bytes;
  for (const char* text : {"9223372036854775808", "-9223372036854775809", "18446744073709551616"}) {
    REQUIRE(interpd::DecimalToBigInt(text, &bytes));
    CHECK(RoundTrip(Value::BigInt(bytes)).Repr() == text);
  }
}

TEST_CASE("floats round trip bit for bit, extremes and negative zero included", "[roundtrip]") {
  const double cases[] = {1e308,
                          5e-324,
                          -0.0,
                          0.0,
                          0.1,
                          1.0 / 3,
                          std::numeric_limits<double>::max(),
                          std::numeric_limits<double>::min(),
                          -std::numeric_limits<double>::denorm_min(),
                          1e16,
                          123456789.0,
                          9007199254740993.0};
  for (double d : cases) {
    INFO(d);
    Value back = RoundTrip(Value::Float(d));
    REQUIRE(back.kind() == ValueKind::kFloat);
    CHECK(std::bit_cast<uint64_t>(back.as_float()) == std::bit_cast<uint64_t>(d));
  }
  Generator gen(3);
  for (int k = 0; k < 2000; ++k) {
    Value v = gen.Float();
    CHECK(RoundTrip(v) == v);
  }
}

TEST_CASE("the writer's floats are exactly FloatRepr's text", "[roundtrip]") {
  // The writer formats floats itself (no allocations); it must never drift
  // from Python's repr as value.cc implements it.
  Generator gen(11);
  for (int k = 0; k < 20000; ++k) {
    Value v = gen.Float();
    std::string json;
    REQUIRE(ToJson(v, &json).ok());
    REQUIRE(json == interpd::FloatRepr(v.as_float()));
  }
  // Around the switch between fixed and exponent notation (1e-4 .. 1e16).
  std::mt19937_64 rng(12);
  for (int k = 0; k < 20000; ++k) {
    const double d = std::uniform_real_distribution<double>(-1, 1)(rng) *
                     std::pow(10.0, std::uniform_int_distribution<int>(-6, 18)(rng));
    std::string json;
    REQUIRE(ToJson(Value::Float(d), &json).ok());
    REQUIRE(json == interpd::FloatRepr(d));
  }
  for (double d : {1e15, 1e16, 0.0001, 0.00001, 123456789012345678.0, 1.5, -0.0, 0.0, 9.999999999999999e15}) {
    std::string json;
    REQUIRE(ToJson(Value::Float(d), &json).ok());
    CHECK(json == interpd::FloatRepr(d));
  }
}

TEST_CASE("an integral float stays a float and an int stays an int", "[roundtrip]") {
  CHECK(RoundTrip(Value::Float(3.0)).kind() == ValueKind::kFloat);
  CHECK(RoundTrip(Value::Float(1e20)).kind() == ValueKind::kFloat);
  CHECK(RoundTrip(Value::Int(3)).kind() == ValueKind::kInt);
}

TEST_CASE("a written lone surrogate is refused by the reader, so the asymmetry is visible", "[roundtrip]") {
  // The writer follows json.dumps; nlohmann's lexer refuses unpaired
  // surrogate escapes. This pins the documented gap (docs/protocol-internals.md).
  std::string json;
  REQUIRE(ToJson(Value::Str("\xED\xA0\x80"), &json).ok());
  CHECK(json == "\"\\ud800\"");
  Value back;
  JsonReadError error;
  CHECK_FALSE(ReadJson(json, Limits{}, &back, &error));
  CHECK(error.kind == JsonReadError::Kind::kSyntax);
}
