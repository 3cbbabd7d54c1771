#include "interpd/protocol/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <vector>

#include "utf8.h"

namespace interpd::protocol {

namespace {

// Bytes that cannot be copied into a JSON string as they are: control
// characters, '"', '\\', and every non-ASCII byte (its sequence must be
// validated, and surrogatepass sequences need escaping).
constexpr std::array<bool, 256> MakeSpecialTable() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<size_t>(c)] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return t;
}
constexpr std::array<bool, 256> kSpecial = MakeSpecialTable();

void AppendUnicodeEscape(unsigned unit, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";  // lowercase, as json.dumps
  const char esc[6] = {'\\', 'u', kHex[(unit >> 12) & 0xF], kHex[(unit >> 8) & 0xF], kHex[(unit >> 4) & 0xF],
                       kHex[unit & 0xF]};
  out->append(esc, sizeof(esc));
}

void AppendAsciiEscape(unsigned char c, std::string* out) {
  switch (c) {
    case '"': out->append("\\\""); return;
    case '\\': out->append("\\\\"); return;
    case '\b': out->append("\\b"); return;
    case '\f': out->append("\\f"); return;
    case '\n': out->append("\\n"); return;
    case '\r': out->append("\\r"); return;
    case '\t': out->append("\\t"); return;
    default: AppendUnicodeEscape(c, out); return;
  }
}

// Copies runs of plain bytes in one append; stops only where something must
// be written differently. Valid multi-byte sequences stay inside the run.
template <bool kLenient>
bool AppendString(std::string_view s, std::string* out) {
  const size_t start = out->size();
  out->reserve(start + s.size() + 2);
  out->push_back('"');
  size_t run = 0;  // first byte not yet copied
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!kSpecial[c]) {
      ++i;
      continue;
    }
    if (c < 0x80) {
      out->append(s.data() + run, i - run);
      AppendAsciiEscape(c, out);
      run = ++i;
      continue;
    }
    const utf8::Sequence seq = utf8::Decode(s.substr(i));
    if (seq.kind == utf8::Sequence::Kind::kValid) {
      i += seq.length;
      continue;
    }
    out->append(s.data() + run, i - run);
    if (seq.kind == utf8::Sequence::Kind::kSurrogate) {
      AppendUnicodeEscape(seq.surrogate, out);
      i += seq.length;
    } else if (kLenient) {
      out->append("\xEF\xBF\xBD");  // U+FFFD
      i += 1;
    } else {
      out->resize(start);
      return false;
    }
    run = i;
  }
  out->append(s.data() + run, i - run);
  out->push_back('"');
  return true;
}

// FloatRepr() without its temporaries: the same digits and layout (Python's
// float repr), built in a stack buffer. Responses full of floats spend most
// of their time here, and FloatRepr allocates several strings per number.
// The round-trip tests check the two agree. REQUIRES: d is finite.
void AppendFloat(double d, std::string* out) {
  // Shortest round-trip digits in scientific form: [-]D[.DDD]e[+-]XX.
  char sci[32];
  const auto res = std::to_chars(sci, sci + sizeof(sci), d, std::chars_format::scientific);
  const char* p = sci;
  const bool negative = *p == '-';
  if (negative) ++p;
  char digits[24];
  size_t n = 0;
  for (; *p != 'e'; ++p) {
    if (*p != '.') digits[n++] = *p;
  }
  int exp = 0;
  std::from_chars(p + 1 + (p[1] == '+' ? 1 : 0), res.ptr, exp);

  char buf[48];
  char* o = buf;
  if (negative) *o++ = '-';
  if (exp >= -4 && exp < 16) {  // fixed notation
    if (exp < 0) {
      *o++ = '0';
      *o++ = '.';
      for (int k = 0; k < -exp - 1; ++k) *o++ = '0';
      for (size_t k = 0; k < n; ++k) *o++ = digits[k];
    } else {
      const auto int_len = static_cast<size_t>(exp) + 1;
      for (size_t k = 0; k < int_len; ++k) *o++ = k < n ? digits[k] : '0';
      *o++ = '.';
      if (n <= int_len) {
        *o++ = '0';
      } else {
        for (size_t k = int_len; k < n; ++k) *o++ = digits[k];
      }
    }
  } else {  // exponent notation, at least two exponent digits
    *o++ = digits[0];
    if (n > 1) {
      *o++ = '.';
      for (size_t k = 1; k < n; ++k) *o++ = digits[k];
    }
    *o++ = 'e';
    *o++ = exp < 0 ? '-' : '+';
    const int e = exp < 0 ? -exp : exp;
    if (e < 10) *o++ = '0';
    o = std::to_chars(o, buf + sizeof(buf), e).ptr;
  }
  out->append(buf, o);
}

// One Write() call. Recursion depth is bounded by max_depth, so the C++
// stack stays small whatever the value.
class Writer {
 public:
  Writer(std::string* out, int max_depth, size_t max_digits)
      : out_(out), max_depth_(max_depth), max_digits_(max_digits) {}

  // Writes `v`, which sits inside `depth` containers. On failure records the
  // reason; each enclosing container then adds its segment to the path.
  bool Write(const Value& v, int depth) {
    switch (v.kind()) {
      case ValueKind::kNone: out_->append("null"); return true;
      case ValueKind::kBool: out_->append(v.as_bool() ? "true" : "false"); return true;
      case ValueKind::kInt: {
        char buf[24];
        const auto res = std::to_chars(buf, buf + sizeof(buf), v.as_int());
        out_->append(buf, res.ptr);
        return true;
      }
      case ValueKind::kBigInt: {
        // Decide from the size before converting: the conversion is
        // quadratic, and a huge integer must not stall the I/O thread.
        const size_t bytes = v.big_int_bytes().size();
        if (static_cast<double>(bytes - 1) * 8 * 0.30103 > static_cast<double>(max_digits_)) return TooLong(v);
        std::string text = BigIntToDecimal(v.big_int_bytes());
        if (text.size() - (text[0] == '-' ? 1 : 0) > max_digits_) return TooLong(v);
        out_->append(text);
        return true;
      }
      case ValueKind::kFloat: {
        const double d = v.as_float();
        if (!std::isfinite(d)) return Fail(v, std::isnan(d) ? "nan is not a JSON number" : "infinity is not a JSON number");
        AppendFloat(d, out_);
        return true;
      }
      case ValueKind::kStr:
        if (!AppendString<false>(v.str(), out_)) return Fail(v, "invalid UTF-8");
        return true;
      case ValueKind::kList:
      case ValueKind::kTuple: {
        if (depth >= max_depth_) return TooDeep(v);
        out_->push_back('[');
        const auto& items = v.items();
        for (size_t k = 0; k < items.size(); ++k) {
          if (k) out_->push_back(',');
          if (!Write(items[k], depth + 1)) {
            reversed_path_.push_back("[" + std::to_string(k) + "]");
            return false;
          }
        }
        out_->push_back(']');
        return true;
      }
      case ValueKind::kDict: {
        if (depth >= max_depth_) return TooDeep(v);
        out_->push_back('{');
        bool first = true;
        for (const auto& [key, item] : v.pairs()) {
          if (key.kind() != ValueKind::kStr) {
            what_ = "dict key";
            return Fail(key, "object keys must be strings");
          }
          if (!first) out_->push_back(',');
          first = false;
          if (!AppendString<false>(key.str(), out_)) {
            what_ = "dict key";
            return Fail(key, "invalid UTF-8");
          }
          out_->push_back(':');
          if (!Write(item, depth + 1)) {
            std::string segment = "[";
            AppendJsonStringLenient(utf8::Sanitize(key.str(), kMaxKeyBytes), &segment);
            segment += ']';
            reversed_path_.push_back(std::move(segment));
            return false;
          }
        }
        out_->push_back('}');
        return true;
      }
      case ValueKind::kBytes:
      case ValueKind::kComplex:
      case ValueKind::kFrozenSet:
      case ValueKind::kBuffer:
      case ValueKind::kChannel:
      case ValueKind::kActor:
      case ValueKind::kPickled:
      case ValueKind::kCustom: return Fail(v, {});
    }
    return Fail(v, {});
  }

  // The failure as a status and as the parts of a -32012's data.
  Status Failure(std::string_view root, JsonWriteError* error) const {
    std::string path(root);
    for (auto it = reversed_path_.rbegin(); it != reversed_path_.rend(); ++it) path += *it;
    std::string message(what_);
    message += " at ";
    message += path;
    message += " of type ";
    message += type_;
    message += " is not representable as JSON";
    if (!reason_.empty()) {
      message += " (";
      message += reason_;
      message += ')';
    }
    if (error) {
      error->path = std::move(path);
      error->type = type_;
    }
    return Status::NotShareable(std::move(message));
  }

 private:
  // Dict keys quoted in a path are cut to this many bytes: the path is for a
  // human reading an error, and a key may be megabytes long.
  static constexpr size_t kMaxKeyBytes = 40;

  bool Fail(const Value& v, std::string_view reason) {
    type_ = KindName(v.kind());
    reason_ = reason;
    return false;
  }
  bool TooLong(const Value& v) {
    // Fail() keeps a view: the text must outlive this call.
    digits_reason_ = "an integer longer than " + std::to_string(max_digits_) +
                     " digits (Python's json and int() refuse those)";
    return Fail(v, digits_reason_);
  }
  bool TooDeep(const Value& v) {
    depth_reason_ = "nesting exceeds the depth limit of " + std::to_string(max_depth_);
    return Fail(v, depth_reason_);
  }

  std::string* const out_;
  const int max_depth_;
  const size_t max_digits_;
  std::string digits_reason_;
  // Set only on failure.
  std::string_view what_ = "value";
  std::string_view type_;
  std::string_view reason_;
  std::string depth_reason_;                // storage for reason_ when too deep
  std::vector<std::string> reversed_path_;  // innermost segment first
};

}  // namespace

Status AppendJson(const Value& value, std::string* out, const JsonWriteOptions& options, JsonWriteError* error) {
  const size_t start = out->size();
  Writer writer(out, options.max_depth, options.max_integer_digits);
  if (writer.Write(value, 0)) return Status::OK();
  out->resize(start);
  return writer.Failure(options.root, error);
}

Status ToJson(const Value& value, std::string* out, const JsonWriteOptions& options) {
  out->clear();
  return AppendJson(value, out, options);
}

bool AppendJsonString(std::string_view utf8, std::string* out) { return AppendString<false>(utf8, out); }

void AppendJsonStringLenient(std::string_view text, std::string* out) { AppendString<true>(text, out); }

std::string_view JsonTypeName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNone: return "null";
    case ValueKind::kBool: return "boolean";
    case ValueKind::kInt:
    case ValueKind::kBigInt:
    case ValueKind::kFloat: return "number";
    case ValueKind::kStr: return "string";
    case ValueKind::kList:
    case ValueKind::kTuple: return "array";
    case ValueKind::kDict: return "object";
    default: return KindName(kind);
  }
}

}  // namespace interpd::protocol
