#include "interpd/protocol/json_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "utf8.h"

namespace interpd::protocol {

namespace {

// The JSON type whose lexer feeds our SAX handler. Only its number_float_t
// differs from nlohmann::json: with long double, integer literals of up to
// 4932 digits stay finite and reach number_float() with their text, instead
// of failing as "number overflow" beyond 1.8e308 the way double does.
using SaxJson = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t, std::uint64_t, long double>;

// Every integer with this many digits or fewer is below LDBL_MAX (~1.19e4932).
constexpr size_t kLongDoubleDigits = 4932;

// Objects with more keys than this find duplicates through a hash index;
// smaller ones scan, which is faster than hashing for the usual handful of
// keys and keeps a large object from costing quadratic time.
constexpr size_t kLinearKeyScan = 16;

// Bytes of client text quoted in an error message, at most.
constexpr size_t kMaxQuotedBytes = 120;

bool IsIntegerLiteral(std::string_view text) {
  if (!text.empty() && text[0] == '-') text.remove_prefix(1);
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsNumberChar(char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }

// Index just past the string starting with the '"' at text[i]. The prefix of
// the text scanned here was accepted by the lexer, so strings are closed.
size_t SkipString(std::string_view text, size_t i) {
  for (++i; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return text.size();
}

// SAX callbacks carry no position, so limits hit inside a callback are
// located afterwards by these scans (failure path only; linear).

// Offset of the bracket that opens nesting level `level` (1 = top).
size_t FindNestingLevel(std::string_view text, size_t level) {
  size_t depth = 0;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') {
      i = SkipString(text, i);
      continue;
    }
    if (c == '[' || c == '{') {
      if (++depth == level) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
    ++i;
  }
  return 0;
}

// Offset of the first number token outside strings spelled `token`.
size_t FindNumberToken(std::string_view text, std::string_view token) {
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') {
      i = SkipString(text, i);
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = i;
      while (end < text.size() && IsNumberChar(text[end])) ++end;
      if (text.substr(i, end - i) == token) return i;
      i = end;
      continue;
    }
    ++i;
  }
  return 0;
}

// The SAX handler: builds the Value tree bottom-up on an explicit stack, so
// neither the parser nor this handler recurses.
class ValueBuilder {
 public:
  ValueBuilder(std::string_view text, const Limits& limits)
      : text_(text),
        max_depth_(static_cast<size_t>(std::max(limits.max_depth, 0))),
        max_digits_(std::min(limits.max_integer_digits, kLongDoubleDigits)) {}

  Value TakeResult() { return std::move(root_); }
  JsonReadError TakeError() { return std::move(error_); }

  // ---- nlohmann SAX interface ----
  bool null() { return Add(Value::None()); }
  bool boolean(bool b) { return Add(Value::Bool(b)); }
  bool number_integer(SaxJson::number_integer_t i) { return Add(Value::Int(i)); }
  bool number_unsigned(SaxJson::number_unsigned_t u) {
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Add(Value::Int(static_cast<int64_t>(u)));
    }
    uint8_t bytes[9] = {};  // little endian, plus a zero sign byte
    for (size_t k = 0; k < 8; ++k) bytes[k] = static_cast<uint8_t>(u >> (8 * k));
    return Add(Value::BigInt(bytes));
  }
  bool number_float(SaxJson::number_float_t approx, const std::string& raw) { return Number(approx, raw); }
  bool string(std::string& s) { return Add(Value::Str(std::move(s))); }
  bool binary(SaxJson::binary_t&) { return false; }  // never produced from JSON text
  bool start_object(std::size_t) { return Open(true); }
  bool key(std::string& k) {
    stack_.back().key = std::move(k);
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(std::size_t) { return Open(false); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t position, const std::string& last_token, const nlohmann::detail::exception& ex) {
    // The lexer counts the byte it failed on as read; report its offset.
    const size_t offset = std::min(position > 0 ? position - 1 : 0, text_.size());
    if (ex.id == 406) {  // "number overflow": a literal beyond long double
      const size_t start = position >= last_token.size() ? position - last_token.size() : 0;
      if (IsIntegerLiteral(last_token)) return NumberTooLong(last_token, start);
      return OutOfRange(last_token, start);
    }
    // nlohmann's text reads "[json.exception.parse_error.101] parse error at
    // line 1, column 5: <detail>"; keep the detail, with our own position.
    std::string_view what = ex.what();
    const size_t column = what.find("column ");
    const size_t colon = what.find(": ", column == std::string_view::npos ? 0 : column);
    if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
    return Fail(JsonReadError::Kind::kSyntax, offset,
                "syntax error at byte " + std::to_string(offset) + ": " + utf8::Sanitize(what, kMaxQuotedBytes));
  }

 private:
  struct Frame {
    explicit Frame(bool is_object) : object(is_object) {}
    bool object;
    Value::Items items;  // arrays
    Value::Pairs pairs;  // objects
    std::string key;     // objects: the key whose value comes next
    // Objects beyond kLinearKeyScan keys: key -> index in `pairs`. The views
    // point into the key Values' heap nodes, which do not move.
    std::unordered_map<std::string_view, size_t> index;
  };

  bool Open(bool object) {
    if (stack_.size() >= max_depth_) {
      const size_t at = FindNestingLevel(text_, max_depth_ + 1);
      return Fail(JsonReadError::Kind::kTooDeep, at,
                  "nesting deeper than " + std::to_string(max_depth_) + " levels at byte " + std::to_string(at));
    }
    stack_.emplace_back(object);
    return true;
  }

  bool Close() {
    Frame& top = stack_.back();
    Value v = top.object ? Value::Dict(std::move(top.pairs)) : Value::List(std::move(top.items));
    stack_.pop_back();
    return Add(std::move(v));
  }

  bool Add(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Frame& top = stack_.back();
    if (!top.object) {
      top.items.push_back(std::move(v));
      return true;
    }
    // Duplicate keys: the first position, the last value (as json.loads).
    if (top.index.empty() && top.pairs.size() < kLinearKeyScan) {
      for (auto& [k, existing] : top.pairs) {
        if (k.str() == top.key) {
          existing = std::move(v);
          return true;
        }
      }
    } else {
      if (top.index.empty()) {
        for (size_t k = 0; k < top.pairs.size(); ++k) top.index.emplace(top.pairs[k].first.str(), k);
      }
      if (auto it = top.index.find(top.key); it != top.index.end()) {
        top.pairs[it->second].second = std::move(v);
        return true;
      }
    }
    top.pairs.emplace_back(Value::Str(std::move(top.key)), std::move(v));
    if (!top.index.empty()) top.index.emplace(top.pairs.back().first.str(), top.pairs.size() - 1);
    return true;
  }

  // Numbers the lexer did not fit in int64/uint64: big integers and floats.
  bool Number(long double approx, const std::string& raw) {
    // The lexer writes the locale's decimal point into the token; the
    // conversions below want '.', whatever locale the daemon runs in.
    std::string_view text = raw;
    std::string dotted;
    if (!std::all_of(raw.begin(), raw.end(), IsNumberChar)) {
      dotted = raw;
      for (char& c : dotted) {
        if (!IsNumberChar(c)) c = '.';
      }
      text = dotted;
    }
    if (IsIntegerLiteral(text)) {
      if (text.size() - (text[0] == '-' ? 1 : 0) > max_digits_) return NumberTooLong(text, FindNumberToken(text_, text));
      std::vector<uint8_t> bytes;
      DecimalToBigInt(text, &bytes);  // cannot fail: IsIntegerLiteral
      return Add(Value::BigInt(bytes));
    }
    // from_chars rounds correctly to double; `approx` (long double) would
    // round twice.
    double d = 0;
    const auto res = std::from_chars(text.data(), text.data() + text.size(), d);
    if (res.ec == std::errc::result_out_of_range) {
      // Out of range one way or the other: `approx` tells which. Underflow
      // becomes a signed zero, as float() and json.loads do.
      if (std::fabs(approx) >= 1) return OutOfRange(text, FindNumberToken(text_, text));
      d = text[0] == '-' ? -0.0 : 0.0;
    } else if (res.ec != std::errc() || res.ptr != text.data() + text.size()) {
      return Fail(JsonReadError::Kind::kSyntax, FindNumberToken(text_, text),
                  "syntax error: unreadable number " + utf8::Sanitize(text, kMaxQuotedBytes));
    }
    return Add(Value::Float(d));
  }

  bool NumberTooLong(std::string_view literal, size_t at) {
    const size_t digits = literal.size() - (literal[0] == '-' ? 1 : 0);
    return Fail(JsonReadError::Kind::kNumberTooLong, at,
                "integer literal at byte " + std::to_string(at) + " has " + std::to_string(digits) +
                    " digits, more than the limit of " + std::to_string(max_digits_));
  }

  bool OutOfRange(std::string_view literal, size_t at) {
    return Fail(JsonReadError::Kind::kSyntax, at,
                "number at byte " + std::to_string(at) + " is out of range for a float: " +
                    utf8::Sanitize(literal, kMaxQuotedBytes));
  }

  bool Fail(JsonReadError::Kind kind, size_t offset, std::string message) {
    error_.kind = kind;
    error_.offset = offset;
    error_.message = std::move(message);
    return false;
  }

  const std::string_view text_;
  const size_t max_depth_;
  const size_t max_digits_;
  std::vector<Frame> stack_;  // open containers, outermost first
  Value root_;
  JsonReadError error_;
};

}  // namespace

bool ReadJson(std::string_view text, const Limits& limits, Value* out, JsonReadError* error) {
  // nlohmann's lexer takes a NUL byte for the end of input (for C strings),
  // so "1\0junk" would be accepted as 1. A raw NUL is never valid JSON text
  // (inside a string it must be escaped), so refuse it up front.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    error->kind = JsonReadError::Kind::kSyntax;
    error->offset = nul;
    error->message = "syntax error at byte " + std::to_string(nul) + ": a NUL byte is not allowed in JSON text";
    return false;
  }
  ValueBuilder builder(text, limits);
  // Iterators rather than a pointer: a pointer input stops at the first NUL.
  if (!SaxJson::sax_parse(text.begin(), text.end(), &builder)) {
    *error = builder.TakeError();
    if (error->kind == JsonReadError::Kind::kNone) {  // cannot happen; never report success
      error->kind = JsonReadError::Kind::kSyntax;
      error->message = "syntax error";
    }
    return false;
  }
  *out = builder.TakeResult();
  return true;
}

}  // namespace interpd::protocol
