#include "interpd/value.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

using interpd::Value;
using interpd::ValueKind;

namespace {
std::vector<uint8_t> Bytes(std::initializer_list<int> b) {
  std::vector<uint8_t> out;
  for (int x : b) out.push_back(static_cast<uint8_t>(x));
  return out;
}
}  // namespace

TEST_CASE("a default value is None and scalars are stored inline", "[value]") {
  Value v;
  CHECK(v.is_none());
  CHECK(Value::Int(-5).as_int() == -5);
  CHECK(Value::Bool(true).as_bool());
  CHECK(Value::Float(2.5).as_float() == 2.5);
}

TEST_CASE("BigInt normalizes integers that fit int64 to Int", "[value]") {
  CHECK(Value::BigInt(Bytes({0x01})) == Value::Int(1));
  CHECK(Value::BigInt(Bytes({0xFF, 0xFF, 0xFF})) == Value::Int(-1));
  CHECK(Value::BigInt(Bytes({0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0xFF})) ==
        Value::Int(std::numeric_limits<int64_t>::min()));
  // 2**63 does not fit int64: stays big, with a sign byte.
  Value big = Value::BigInt(Bytes({0, 0, 0, 0, 0, 0, 0, 0x80, 0x00}));
  REQUIRE(big.kind() == ValueKind::kBigInt);
  CHECK(big.big_int_bytes().size() == 9);
}

TEST_CASE("big integers convert between decimal text and bytes exactly", "[value]") {
  struct Row {
    const char* text;
  } rows[] = {{"0"}, {"1"}, {"-1"}, {"127"}, {"128"}, {"-128"}, {"-129"},
              {"9223372036854775807"}, {"9223372036854775808"}, {"-9223372036854775809"},
              {"340282366920938463463374607431768211456"},
              {"-123456789012345678901234567890123456789012345678901234567890"}};
  for (const auto& row : rows) {
    std::vector<uint8_t> bytes;
    REQUIRE(interpd::DecimalToBigInt(row.text, &bytes));
    CHECK(interpd::BigIntToDecimal(bytes) == row.text);
    CHECK(Value::BigInt(bytes).Repr() == row.text);
  }
  std::vector<uint8_t> bytes;
  CHECK_FALSE(interpd::DecimalToBigInt("", &bytes));
  CHECK_FALSE(interpd::DecimalToBigInt("-", &bytes));
  CHECK_FALSE(interpd::DecimalToBigInt("12a", &bytes));
  CHECK_FALSE(interpd::DecimalToBigInt("1.5", &bytes));
}

TEST_CASE("FloatRepr matches Python's float repr", "[value]") {
  struct Row {
    double d;
    const char* repr;
  } rows[] = {{1.0, "1.0"},
              {0.1, "0.1"},
              {-0.0, "-0.0"},
              {1e16, "1e+16"},
              {1e15, "1000000000000000.0"},
              {123456789.125, "123456789.125"},
              {0.0001, "0.0001"},
              {0.00001, "1e-05"},
              {1.5e300, "1.5e+300"},
              {std::numeric_limits<double>::infinity(), "inf"},
              {-std::numeric_limits<double>::infinity(), "-inf"},
              {std::nan(""), "nan"},
              {2.5e-308, "2.5e-308"}};
  for (const auto& row : rows) CHECK(interpd::FloatRepr(row.d) == row.repr);
}

TEST_CASE("repr of containers looks like Python's", "[value]") {
  Value t = Value::Tuple({Value::Int(1)});
  CHECK(t.Repr() == "(1,)");
  Value d = Value::Dict({{Value::Str("a"), Value::List({Value::None(), Value::Bool(false)})}});
  CHECK(d.Repr() == "{'a': [None, False]}");
  CHECK(Value::Bytes(std::string("\x00\xff'", 3)).Repr() == "b\"\\x00\\xff'\"");
  CHECK(Value::FrozenSet({}).Repr() == "frozenset()");
  CHECK(Value::Complex(0, 2).Repr() == "2j");
  CHECK(Value::Complex(1, -2).Repr() == "(1-2j)");
}

TEST_CASE("equality treats NaN as equal to itself and -0.0 as distinct from 0.0", "[value]") {
  CHECK(Value::Float(std::nan("")) == Value::Float(std::nan("")));
  CHECK_FALSE(Value::Float(-0.0) == Value::Float(0.0));
  CHECK(Value::FrozenSet({Value::Int(1), Value::Int(2)}) == Value::FrozenSet({Value::Int(2), Value::Int(1)}));
  CHECK_FALSE(Value::Tuple({Value::Int(1)}) == Value::List({Value::Int(1)}));
  Value d1 = Value::Dict({{Value::Str("a"), Value::Int(1)}, {Value::Str("b"), Value::Int(2)}});
  Value d2 = Value::Dict({{Value::Str("b"), Value::Int(2)}, {Value::Str("a"), Value::Int(1)}});
  CHECK(d1 == d2);
  CHECK(d1.Find("b")->as_int() == 2);
  CHECK(d1.Find("c") == nullptr);
}

TEST_CASE("big integer nodes are reference counted and freed", "[value]") {
  // Under ASan a BigInt that is never freed is a leak report.
  std::vector<uint8_t> bytes(20, 0x11);
  Value a = Value::BigInt(bytes);
  REQUIRE(a.kind() == ValueKind::kBigInt);
  Value b = a;
  Value c = std::move(b);
  CHECK(c == a);
  a = Value::Int(1);
  CHECK(c.big_int_bytes().size() == 20);
}

TEST_CASE("Release and Adopt transfer ownership without changing the value", "[value]") {
  Value v = Value::Str("hello");
  Value::Raw raw = v.Release();
  CHECK(v.is_none());
  Value back = Value::Adopt(raw);
  CHECK(back.str() == "hello");
}

TEST_CASE("copies shared across threads are destroyed exactly once", "[value][threads]") {
  // Seeded by construction: every thread does the same fixed work; the
  // invariant checked after join is that the original is intact.
  Value shared = Value::Tuple({Value::Str(std::string(100, 'x')), Value::Int(7)});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([shared] {
      for (int k = 0; k < 10000; ++k) {
        Value copy = shared;
        Value moved = std::move(copy);
        (void)moved;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(shared.items()[0].str().size() == 100);
  CHECK(shared.items()[1].as_int() == 7);
}

TEST_CASE("str and bytes keep their bytes whether stored next to the node or moved in", "[value]") {
  // 0, 16 and 256 bytes fit next to the node; 257 and 100000 are moved in.
  for (size_t n : {size_t{0}, size_t{16}, size_t{256}, size_t{257}, size_t{100000}}) {
    INFO("size " << n);
    std::string data(n, '\0');
    for (size_t k = 0; k < n; ++k) data[k] = static_cast<char>(k * 7);
    const Value moved = Value::Bytes(std::string(data));
    const Value copied = Value::Bytes(data.data(), data.size());
    const Value text = Value::Str(std::string(n, 'a'));
    const Value text_copy = Value::Str(std::string(n, 'a').c_str(), n);
    CHECK(moved.str() == data);
    CHECK(copied.str() == data);
    CHECK(moved == copied);
    CHECK(text == text_copy);
    CHECK(text.str().size() == n);
    // A copy shares the node; the bytes stay valid after the original goes.
    Value keep;
    {
      Value tmp = Value::Bytes(data.data(), data.size());
      keep = tmp;
    }
    CHECK(keep.str() == data);
  }
}
