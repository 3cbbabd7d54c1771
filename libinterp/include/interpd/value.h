// Value: an interpreter-independent, immutable value (the "SharedValue" of
// DESIGN.md). It is what crosses interpreters (channels, actor messages) and
// what the protocol layer converts to and from JSON. A Value never holds a
// Python object and never uses an interpreter's allocator: all of its memory
// comes from the C++ runtime (operator new), so it may outlive the
// interpreter that built it and be destroyed on any thread.
//
// Thread safety: a Value is immutable after construction. Copies share one
// heap node through an atomic reference count, so distinct Value objects that
// share a node may be copied, read and destroyed concurrently from any
// threads. One Value object needs external synchronization for assignment.
//
// Invariants:
//   1. Scalars (None, Bool, Int, Float) are stored inline; every other kind
//      lives in a heap node that is never mutated after the factory returns.
//   2. kInt holds every integer that fits int64_t; kBigInt holds only those
//      that do not (BigInt() normalizes), so equal integers compare equal.
//   3. kStr holds UTF-8. Lone surrogates (legal in a Python str) are encoded
//      as CPython's "surrogatepass" codec does (3-byte sequences ED A0..BF xx);
//      the JSON writer turns them into \uDXXX escapes. Nothing else may be
//      invalid UTF-8.
//   4. A handle kind (kBuffer, kChannel, kActor) keeps its runtime object
//      alive through a std::shared_ptr<Handle>; for kBuffer that reference is
//      one *share* of the owner's export (see DESIGN.md "sharing protocol").
//   5. kDict keeps insertion order; keys are unique when built from Python or
//      from JSON (the JSON reader lets the last duplicate win, like json.loads).
#ifndef INTERPD_VALUE_H_
#define INTERPD_VALUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace interpd {

enum class ValueKind : uint8_t {
  kNone,
  kBool,
  kInt,        // fits int64_t
  kBigInt,     // any other integer: two's complement, little endian, minimal length
  kFloat,
  kComplex,
  kStr,
  kBytes,
  kTuple,
  kList,       // from JSON arrays or Python lists (results, actor arguments)
  kDict,       // from JSON objects or Python dicts (results, actor arguments)
  kFrozenSet,
  kBuffer,     // a share of a zero-copy buffer (SharedBuffer)
  kChannel,    // a channel handle
  kActor,      // an actor handle
  kPickled,    // pickle bytes, only on channels created with pickle=True
  kCustom,     // a user class's __share__ state: module, qualname, state value
};

std::string_view KindName(ValueKind kind);

// Base of the runtime objects a Value can carry by handle (buffer exports,
// channels, actors). Defined by the runtime; the protocol layer only needs to
// know that such values are not JSON.
class Handle {
 public:
  virtual ~Handle() = default;
  // Short description for repr() and error messages, e.g. "<Channel 7>".
  virtual std::string Describe() const = 0;
  // Stable identity for equality of handle values (e.g. channel id).
  virtual uint64_t Identity() const = 0;
};

class Value {
 public:
  using Items = std::vector<Value>;
  using Pairs = std::vector<std::pair<Value, Value>>;

  Value() noexcept : kind_(ValueKind::kNone) { u_.i = 0; }  // None
  ~Value() { Unref(); }
  Value(const Value& other) noexcept;
  Value(Value&& other) noexcept;
  Value& operator=(const Value& other) noexcept;
  Value& operator=(Value&& other) noexcept;

  // ---- Factories ----
  static Value None() { return Value(); }
  static Value Bool(bool b);
  static Value Int(int64_t i);
  // `le_twos_complement`: the integer as little-endian two's complement bytes
  // (any length >= 1). Normalized to kInt when it fits int64_t.
  static Value BigInt(std::span<const uint8_t> le_twos_complement);
  static Value Float(double d);
  static Value Complex(double real, double imag);
  static Value Str(std::string utf8);
  static Value Bytes(std::string data);
  // The same from a copy of [data, data + size): one heap allocation for
  // node and bytes together (what a channel send of a small str or bytes
  // pays; the node is often freed on another thread, where each extra
  // block costs a cross-thread free).
  static Value Str(const char* utf8, size_t size);
  static Value Bytes(const char* data, size_t size);
  static Value Tuple(Items items);
  static Value List(Items items);
  static Value FrozenSet(Items items);
  static Value Dict(Pairs pairs);
  static Value Pickled(std::string data);
  static Value Custom(std::string module, std::string qualname, Value state);
  static Value FromHandle(ValueKind kind, std::shared_ptr<Handle> handle);

  // ---- Accessors (REQUIRES: the matching kind) ----
  ValueKind kind() const { return kind_; }
  bool is_none() const { return kind_ == ValueKind::kNone; }
  bool as_bool() const { return u_.b; }
  int64_t as_int() const { return u_.i; }
  double as_float() const { return u_.d; }
  // kBigInt: little-endian two's complement bytes.
  const std::vector<uint8_t>& big_int_bytes() const;
  double complex_real() const;
  double complex_imag() const;
  // kStr, kBytes, kPickled: the bytes (valid while a Value holds the node).
  std::string_view str() const;
  // kTuple, kList, kFrozenSet: the elements.
  const Items& items() const;
  // kDict: the pairs, in insertion order.
  const Pairs& pairs() const;
  // kDict with kStr keys: the value for `key`, or nullptr.
  const Value* Find(std::string_view key) const;
  // kCustom.
  const std::string& custom_module() const;
  const std::string& custom_qualname() const;
  const Value& custom_state() const;
  // kBuffer, kChannel, kActor.
  const std::shared_ptr<Handle>& handle() const;

  // A Python-like repr(), for logs, errors and the demo. Containers deeper
  // than `max_depth` print as "...".
  std::string Repr(int max_depth = 64) const;

  // Structural equality (Float compares bitwise-equal or both NaN, so a value
  // equals its round trip; FrozenSet and Dict compare as sets / mappings).
  friend bool operator==(const Value& a, const Value& b);

  // ---- Raw transfer (for lock-free queues that require trivially copyable
  // slots). Release() leaves *this None and returns ownership in a Raw;
  // Adopt() takes it back. Every Raw must be adopted exactly once.
  struct Raw {
    ValueKind kind;
    uint64_t bits;
  };
  Raw Release() noexcept;
  static Value Adopt(Raw raw) noexcept;

  struct Node;  // heap node, defined in value.cc

 private:
  // Invariant 1: exactly these kinds are inline; list them rather than rely
  // on the enum's order.
  bool heap() const {
    return kind_ != ValueKind::kNone && kind_ != ValueKind::kBool && kind_ != ValueKind::kInt &&
           kind_ != ValueKind::kFloat;
  }
  void Unref() noexcept;
  Value(ValueKind kind, Node* node) noexcept : kind_(kind) { u_.node = node; }

  ValueKind kind_;
  union {
    bool b;
    int64_t i;
    double d;
    Node* node;
  } u_;
};

// Python's repr() of a float ('1.0', '1e+16', 'inf', 'nan', '-0.0'): the
// shortest digits that round-trip, fixed notation when -4 <= exponent < 16.
std::string FloatRepr(double d);

// Decimal text of a little-endian two's complement integer, e.g. "-12".
std::string BigIntToDecimal(std::span<const uint8_t> le_twos_complement);
// Parses an optional '-' and ASCII digits into minimal little-endian two's
// complement bytes. Returns false on any other character or empty digits.
// Quadratic in the number of digits: callers bound the length.
bool DecimalToBigInt(std::string_view text, std::vector<uint8_t>* out);

}  // namespace interpd

#endif  // INTERPD_VALUE_H_
