#include "utf8.h"

#include <cassert>

namespace interpd::protocol::utf8 {

namespace {
bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }
constexpr Sequence kInvalidByte{Sequence::Kind::kInvalid, 1, 0};
}  // namespace

Sequence Decode(std::string_view s) {
  assert(!s.empty());
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return {Sequence::Kind::kValid, 1, 0};
  // The allowed range of the second byte depends on the first (RFC 3629
  // table): it excludes overlong forms, code points above U+10FFFF and, for
  // ED, the surrogates, which get their own kind.
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  uint8_t length = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return kInvalidByte;
  }
  if (s.size() < length) return kInvalidByte;
  const auto b1 = static_cast<unsigned char>(s[1]);
  if (b1 < lo || b1 > hi) return kInvalidByte;
  for (size_t k = 2; k < length; ++k) {
    if (!IsContinuation(static_cast<unsigned char>(s[k]))) return kInvalidByte;
  }
  if (b0 == 0xED && b1 >= 0xA0) {
    const auto b2 = static_cast<unsigned char>(s[2]);
    const auto unit = static_cast<uint16_t>(0xD000 | ((b1 & 0x3F) << 6) | (b2 & 0x3F));
    return {Sequence::Kind::kSurrogate, 3, unit};
  }
  return {Sequence::Kind::kValid, length, 0};
}

std::string Sanitize(std::string_view s, size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(s.size() < max_bytes ? s.size() : max_bytes);
  while (!s.empty()) {
    const Sequence seq = Decode(s);
    const std::string_view piece =
        seq.kind == Sequence::Kind::kValid ? s.substr(0, seq.length) : kReplacement;
    if (out.size() + piece.size() > max_bytes) {
      out += "...";
      break;
    }
    out += piece;
    s.remove_prefix(seq.kind == Sequence::Kind::kInvalid ? 1 : seq.length);
  }
  return out;
}

}  // namespace interpd::protocol::utf8
