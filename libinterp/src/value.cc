#include "interpd/value.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>

namespace interpd {

// ---- Heap nodes -----------------------------------------------------------
// Every non-scalar kind lives in one of these. Built once by a factory, then
// only read; `refs` is the only field that changes after construction.

struct Value::Node {
  std::atomic<uint32_t> refs{1};
  virtual ~Node() = default;
};

namespace {

struct BigIntNode final : Value::Node {
  std::vector<uint8_t> bytes;
};
struct ComplexNode final : Value::Node {
  double real = 0;
  double imag = 0;
};
// kStr, kBytes, kPickled. Small payloads (and every copy made from a
// pointer and size) live right after the node, in the same allocation;
// large std::strings handed to a factory are moved into `owned` instead of
// copied. `data` points to one or the other.
struct BytesNode final : Value::Node {
  std::string_view data;
  std::string owned;
  // Nodes with trailing bytes come from ::operator new(sizeof + n): free
  // them unsized (the deleting destructor would pass sizeof(BytesNode)).
  static void operator delete(void* p) { ::operator delete(p); }
};
struct SeqNode final : Value::Node {  // kTuple, kList, kFrozenSet
  Value::Items items;
};
struct DictNode final : Value::Node {
  Value::Pairs pairs;
};
struct CustomNode final : Value::Node {
  std::string module;
  std::string qualname;
  Value state;
};
struct HandleNode final : Value::Node {
  std::shared_ptr<Handle> handle;
};

template <typename T>
const T& As(Value::Node* n) {
  return *static_cast<const T*>(n);
}

}  // namespace

std::string_view KindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNone: return "None";
    case ValueKind::kBool: return "bool";
    case ValueKind::kInt: return "int";
    case ValueKind::kBigInt: return "int";
    case ValueKind::kFloat: return "float";
    case ValueKind::kComplex: return "complex";
    case ValueKind::kStr: return "str";
    case ValueKind::kBytes: return "bytes";
    case ValueKind::kTuple: return "tuple";
    case ValueKind::kList: return "list";
    case ValueKind::kDict: return "dict";
    case ValueKind::kFrozenSet: return "frozenset";
    case ValueKind::kBuffer: return "SharedBuffer";
    case ValueKind::kChannel: return "Channel";
    case ValueKind::kActor: return "ActorHandle";
    case ValueKind::kPickled: return "pickled";
    case ValueKind::kCustom: return "custom";
  }
  return "?";
}

// ---- Reference counting ---------------------------------------------------

Value::Value(const Value& other) noexcept : kind_(other.kind_), u_(other.u_) {
  // Relaxed: taking a new reference needs no ordering, the existing one keeps
  // the node alive (same reasoning as std::shared_ptr).
  if (heap()) u_.node->refs.fetch_add(1, std::memory_order_relaxed);
}

Value::Value(Value&& other) noexcept : kind_(other.kind_), u_(other.u_) {
  other.kind_ = ValueKind::kNone;
  other.u_.i = 0;
}

Value& Value::operator=(const Value& other) noexcept {
  if (this != &other) {
    Value copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Value& Value::operator=(Value&& other) noexcept {
  if (this != &other) {
    Unref();
    kind_ = other.kind_;
    u_ = other.u_;
    other.kind_ = ValueKind::kNone;
    other.u_.i = 0;
  }
  return *this;
}

void Value::Unref() noexcept {
  if (!heap()) return;
  // acq_rel: the thread that drops the last reference must see every write
  // made to the node before other threads released theirs.
  if (u_.node->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete u_.node;
  kind_ = ValueKind::kNone;
  u_.i = 0;
}

Value::Raw Value::Release() noexcept {
  Raw raw{kind_, 0};
  static_assert(sizeof(u_) == sizeof(uint64_t));
  std::memcpy(&raw.bits, &u_, sizeof(raw.bits));
  kind_ = ValueKind::kNone;
  u_.i = 0;
  return raw;
}

Value Value::Adopt(Raw raw) noexcept {
  Value v;
  v.kind_ = raw.kind;
  std::memcpy(&v.u_, &raw.bits, sizeof(raw.bits));
  return v;
}

// ---- Factories --------------------------------------------------------------

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = ValueKind::kBool;
  v.u_.i = 0;
  v.u_.b = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = ValueKind::kInt;
  v.u_.i = i;
  return v;
}

Value Value::BigInt(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return Int(0);
  // Strip redundant sign-extension bytes: keep the minimal encoding.
  size_t n = bytes.size();
  const bool negative = (bytes[n - 1] & 0x80) != 0;
  const uint8_t fill = negative ? 0xFF : 0x00;
  while (n > 1 && bytes[n - 1] == fill && ((bytes[n - 2] & 0x80) != 0) == negative) --n;
  if (n <= 8) {
    uint64_t u = negative ? ~uint64_t{0} : 0;
    for (size_t k = 0; k < n; ++k) {
      u &= ~(uint64_t{0xFF} << (8 * k));
      u |= uint64_t{bytes[k]} << (8 * k);
    }
    return Int(static_cast<int64_t>(u));
  }
  auto* node = new BigIntNode;
  node->bytes.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
  return Value(ValueKind::kBigInt, node);
}

Value Value::Float(double d) {
  Value v;
  v.kind_ = ValueKind::kFloat;
  v.u_.d = d;
  return v;
}

Value Value::Complex(double real, double imag) {
  auto* node = new ComplexNode;
  node->real = real;
  node->imag = imag;
  return Value(ValueKind::kComplex, node);
}

namespace {
// Up to this size a std::string handed to a factory is copied next to the
// node (one allocation instead of two); beyond it, moving it is cheaper.
constexpr size_t kInlineBytes = 256;

Value::Node* MakeBytesCopy(const char* p, size_t n) {
  void* mem = ::operator new(sizeof(BytesNode) + n);
  auto* node = new (mem) BytesNode;
  char* bytes = reinterpret_cast<char*>(node + 1);
  if (n != 0) std::memcpy(bytes, p, n);
  node->data = std::string_view(bytes, n);
  return node;
}
Value::Node* MakeBytes(std::string data) {
  if (data.size() <= kInlineBytes) return MakeBytesCopy(data.data(), data.size());
  auto* node = new BytesNode;
  node->owned = std::move(data);
  node->data = node->owned;
  return node;
}
Value::Node* MakeSeq(Value::Items items) {
  auto* node = new SeqNode;
  node->items = std::move(items);
  return node;
}
}  // namespace

Value Value::Str(std::string utf8) { return Value(ValueKind::kStr, MakeBytes(std::move(utf8))); }
Value Value::Bytes(std::string data) { return Value(ValueKind::kBytes, MakeBytes(std::move(data))); }
Value Value::Str(const char* utf8, size_t size) { return Value(ValueKind::kStr, MakeBytesCopy(utf8, size)); }
Value Value::Bytes(const char* data, size_t size) { return Value(ValueKind::kBytes, MakeBytesCopy(data, size)); }
Value Value::Pickled(std::string data) { return Value(ValueKind::kPickled, MakeBytes(std::move(data))); }
Value Value::Tuple(Items items) { return Value(ValueKind::kTuple, MakeSeq(std::move(items))); }
Value Value::List(Items items) { return Value(ValueKind::kList, MakeSeq(std::move(items))); }
Value Value::FrozenSet(Items items) { return Value(ValueKind::kFrozenSet, MakeSeq(std::move(items))); }

Value Value::Dict(Pairs pairs) {
  auto* node = new DictNode;
  node->pairs = std::move(pairs);
  return Value(ValueKind::kDict, node);
}

Value Value::Custom(std::string module, std::string qualname, Value state) {
  auto* node = new CustomNode;
  node->module = std::move(module);
  node->qualname = std::move(qualname);
  node->state = std::move(state);
  return Value(ValueKind::kCustom, node);
}

Value Value::FromHandle(ValueKind kind, std::shared_ptr<Handle> handle) {
  assert(kind == ValueKind::kBuffer || kind == ValueKind::kChannel || kind == ValueKind::kActor);
  auto* node = new HandleNode;
  node->handle = std::move(handle);
  return Value(kind, node);
}

// ---- Accessors ----------------------------------------------------------------

const std::vector<uint8_t>& Value::big_int_bytes() const {
  assert(kind_ == ValueKind::kBigInt);
  return As<BigIntNode>(u_.node).bytes;
}
double Value::complex_real() const {
  assert(kind_ == ValueKind::kComplex);
  return As<ComplexNode>(u_.node).real;
}
double Value::complex_imag() const {
  assert(kind_ == ValueKind::kComplex);
  return As<ComplexNode>(u_.node).imag;
}
std::string_view Value::str() const {
  assert(kind_ == ValueKind::kStr || kind_ == ValueKind::kBytes || kind_ == ValueKind::kPickled);
  return As<BytesNode>(u_.node).data;
}
const Value::Items& Value::items() const {
  assert(kind_ == ValueKind::kTuple || kind_ == ValueKind::kList || kind_ == ValueKind::kFrozenSet);
  return As<SeqNode>(u_.node).items;
}
const Value::Pairs& Value::pairs() const {
  assert(kind_ == ValueKind::kDict);
  return As<DictNode>(u_.node).pairs;
}
const Value* Value::Find(std::string_view key) const {
  if (kind_ != ValueKind::kDict) return nullptr;
  for (const auto& [k, v] : pairs()) {
    if (k.kind() == ValueKind::kStr && k.str() == key) return &v;
  }
  return nullptr;
}
const std::string& Value::custom_module() const {
  assert(kind_ == ValueKind::kCustom);
  return As<CustomNode>(u_.node).module;
}
const std::string& Value::custom_qualname() const {
  assert(kind_ == ValueKind::kCustom);
  return As<CustomNode>(u_.node).qualname;
}
const Value& Value::custom_state() const {
  assert(kind_ == ValueKind::kCustom);
  return As<CustomNode>(u_.node).state;
}
const std::shared_ptr<Handle>& Value::handle() const {
  assert(kind_ == ValueKind::kBuffer || kind_ == ValueKind::kChannel || kind_ == ValueKind::kActor);
  return As<HandleNode>(u_.node).handle;
}

// ---- Equality ---------------------------------------------------------------

namespace {
bool SameFloat(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}
bool SameUnordered(const Value::Items& a, const Value::Items& b) {
  if (a.size() != b.size()) return false;
  std::vector<bool> used(b.size(), false);
  for (const auto& x : a) {
    bool found = false;
    for (size_t k = 0; k < b.size(); ++k) {
      if (!used[k] && x == b[k]) {
        used[k] = found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}
}  // namespace

bool operator==(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case ValueKind::kNone: return true;
    case ValueKind::kBool: return a.as_bool() == b.as_bool();
    case ValueKind::kInt: return a.as_int() == b.as_int();
    case ValueKind::kBigInt: return a.big_int_bytes() == b.big_int_bytes();
    case ValueKind::kFloat: return SameFloat(a.as_float(), b.as_float());
    case ValueKind::kComplex:
      return SameFloat(a.complex_real(), b.complex_real()) && SameFloat(a.complex_imag(), b.complex_imag());
    case ValueKind::kStr:
    case ValueKind::kBytes:
    case ValueKind::kPickled: return a.str() == b.str();
    case ValueKind::kTuple:
    case ValueKind::kList: return a.items() == b.items();
    case ValueKind::kFrozenSet: return SameUnordered(a.items(), b.items());
    case ValueKind::kDict: {
      if (a.pairs().size() != b.pairs().size()) return false;
      for (const auto& [k, v] : a.pairs()) {
        auto it = std::find_if(b.pairs().begin(), b.pairs().end(), [&](const auto& p) { return p.first == k; });
        if (it == b.pairs().end() || !(it->second == v)) return false;
      }
      return true;
    }
    case ValueKind::kCustom:
      return a.custom_module() == b.custom_module() && a.custom_qualname() == b.custom_qualname() &&
             a.custom_state() == b.custom_state();
    case ValueKind::kBuffer:
    case ValueKind::kChannel:
    case ValueKind::kActor: return a.handle()->Identity() == b.handle()->Identity();
  }
  return false;
}

// ---- Float and integer text -------------------------------------------------

std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  // Shortest round-trip digits in scientific form: [-]D[.DDD]e[+-]XX
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const bool neg = sci[0] == '-';
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (size_t k = neg ? 1 : 0; k < e_pos; ++k) {
    if (sci[k] != '.') digits += sci[k];
  }
  const int exp = std::stoi(sci.substr(e_pos + 1));
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    // Fixed notation, like float.__repr__.
    if (exp < 0) {
      out += "0.";
      out.append(static_cast<size_t>(-exp - 1), '0');
      out += digits;
    } else {
      const size_t int_len = static_cast<size_t>(exp) + 1;
      if (digits.size() <= int_len) {
        out += digits;
        out.append(int_len - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, int_len);
        out += '.';
        out += digits.substr(int_len);
      }
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    char e[16];
    std::snprintf(e, sizeof(e), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += e;
  }
  return out;
}

// Integers are converted between decimal text and two's complement bytes with
// schoolbook arithmetic on 32-bit limbs (base 10^9 for the decimal side).
// Written by hand because no Debian-packaged big-number library is already a
// dependency, and the sizes involved are bounded by the callers.
std::string BigIntToDecimal(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return "0";
  const bool negative = (bytes.back() & 0x80) != 0;
  // Magnitude as little-endian bytes.
  std::vector<uint8_t> mag(bytes.begin(), bytes.end());
  if (negative) {  // two's complement negate: invert and add one
    unsigned carry = 1;
    for (auto& b : mag) {
      unsigned v = static_cast<uint8_t>(~b) + carry;
      b = static_cast<uint8_t>(v);
      carry = v >> 8;
    }
  }
  std::vector<uint32_t> limbs((mag.size() + 3) / 4, 0);
  for (size_t k = 0; k < mag.size(); ++k) limbs[k / 4] |= uint32_t{mag[k]} << (8 * (k % 4));
  while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  std::vector<uint32_t> chunks;  // base 10^9, little endian
  while (!limbs.empty()) {
    uint64_t rem = 0;
    for (size_t k = limbs.size(); k-- > 0;) {
      uint64_t cur = (rem << 32) | limbs[k];
      limbs[k] = static_cast<uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    chunks.push_back(static_cast<uint32_t>(rem));
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  }
  if (chunks.empty()) return "0";
  std::string out = negative ? "-" : "";
  out += std::to_string(chunks.back());
  for (size_t k = chunks.size() - 1; k-- > 0;) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%09u", chunks[k]);
    out += buf;
  }
  return out;
}

bool DecimalToBigInt(std::string_view text, std::vector<uint8_t>* out) {
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  std::vector<uint32_t> limbs;  // magnitude, base 2^32, little endian
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t take = std::min<size_t>(9, text.size() - pos);
    uint32_t chunk = 0;
    uint32_t mul = 1;
    for (size_t k = 0; k < take; ++k) {
      chunk = chunk * 10 + static_cast<uint32_t>(text[pos + k] - '0');
      mul *= 10;
    }
    pos += take;
    uint64_t carry = chunk;
    for (auto& l : limbs) {
      uint64_t cur = uint64_t{l} * mul + carry;
      l = static_cast<uint32_t>(cur);
      carry = cur >> 32;
    }
    if (carry) limbs.push_back(static_cast<uint32_t>(carry));
  }
  std::vector<uint8_t> bytes;
  for (uint32_t l : limbs) {
    for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<uint8_t>(l >> (8 * k)));
  }
  bytes.push_back(0);  // room for the sign bit
  if (negative) {
    unsigned carry = 1;
    for (auto& b : bytes) {
      unsigned v = static_cast<uint8_t>(~b) + carry;
      b = static_cast<uint8_t>(v);
      carry = v >> 8;
    }
  }
  const bool neg = (bytes.back() & 0x80) != 0;
  const uint8_t fill = neg ? 0xFF : 0x00;
  while (bytes.size() > 1 && bytes.back() == fill && ((bytes[bytes.size() - 2] & 0x80) != 0) == neg) bytes.pop_back();
  *out = std::move(bytes);
  return true;
}

// ---- repr ---------------------------------------------------------------------

namespace {

void ReprStr(std::string_view s, bool bytes, std::string* out) {
  const bool use_double = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char q = use_double ? '"' : '\'';
  if (bytes) *out += 'b';
  *out += q;
  for (unsigned char c : s) {
    switch (c) {
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c == static_cast<unsigned char>(q)) {
          *out += '\\';
          *out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7F || (bytes && c >= 0x80)) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          *out += buf;
        } else {
          *out += static_cast<char>(c);
        }
    }
  }
  *out += q;
}

void ReprInto(const Value& v, int depth, std::string* out) {
  if (depth < 0) {
    *out += "...";
    return;
  }
  switch (v.kind()) {
    case ValueKind::kNone: *out += "None"; return;
    case ValueKind::kBool: *out += v.as_bool() ? "True" : "False"; return;
    case ValueKind::kInt: *out += std::to_string(v.as_int()); return;
    case ValueKind::kBigInt: *out += BigIntToDecimal(v.big_int_bytes()); return;
    case ValueKind::kFloat: *out += FloatRepr(v.as_float()); return;
    case ValueKind::kComplex: {
      // Close to complex.__repr__: (re+imj), or imj when re is +0.0.
      const double re = v.complex_real();
      const double im = v.complex_imag();
      auto part = [](double d) {
        std::string s = FloatRepr(d);
        if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
        return s;
      };
      if (re == 0 && !std::signbit(re)) {
        *out += part(im) + "j";
      } else {
        std::string ims = part(im);
        *out += "(" + part(re) + (ims[0] == '-' ? "" : "+") + ims + "j)";
      }
      return;
    }
    case ValueKind::kStr: ReprStr(v.str(), false, out); return;
    case ValueKind::kBytes: ReprStr(v.str(), true, out); return;
    case ValueKind::kPickled: *out += "<pickled " + std::to_string(v.str().size()) + " bytes>"; return;
    case ValueKind::kTuple:
    case ValueKind::kList:
    case ValueKind::kFrozenSet: {
      const auto& items = v.items();
      const char* open = v.kind() == ValueKind::kTuple ? "(" : v.kind() == ValueKind::kList ? "[" : "frozenset({";
      const char* close = v.kind() == ValueKind::kTuple ? ")" : v.kind() == ValueKind::kList ? "]" : "})";
      if (v.kind() == ValueKind::kFrozenSet && items.empty()) {
        *out += "frozenset()";
        return;
      }
      *out += open;
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) *out += ", ";
        ReprInto(items[k], depth - 1, out);
      }
      if (v.kind() == ValueKind::kTuple && items.size() == 1) *out += ',';
      *out += close;
      return;
    }
    case ValueKind::kDict: {
      *out += '{';
      bool first = true;
      for (const auto& [k, val] : v.pairs()) {
        if (!first) *out += ", ";
        first = false;
        ReprInto(k, depth - 1, out);
        *out += ": ";
        ReprInto(val, depth - 1, out);
      }
      *out += '}';
      return;
    }
    case ValueKind::kCustom:
      *out += "<" + v.custom_module() + "." + v.custom_qualname() + " ";
      ReprInto(v.custom_state(), depth - 1, out);
      *out += ">";
      return;
    case ValueKind::kBuffer:
    case ValueKind::kChannel:
    case ValueKind::kActor: *out += v.handle()->Describe(); return;
  }
}

}  // namespace

std::string Value::Repr(int max_depth) const {
  std::string out;
  ReprInto(*this, max_depth, &out);
  return out;
}

}  // namespace interpd
