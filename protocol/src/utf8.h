// UTF-8 helpers shared by the writer (validation while escaping) and by the
// code that puts client-supplied text into error messages (sanitizing and
// truncating without splitting a character). Internal to interpd_protocol.
//
// Thread safety: pure functions.
#ifndef INTERPD_PROTOCOL_SRC_UTF8_H_
#define INTERPD_PROTOCOL_SRC_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace interpd::protocol::utf8 {

// The outcome of decoding one sequence at the front of a string.
struct Sequence {
  enum class Kind : uint8_t {
    kValid,      // a well-formed UTF-8 sequence (RFC 3629)
    kSurrogate,  // ED A0..BF xx: a lone surrogate as CPython's surrogatepass writes it
    kInvalid,    // anything else: one byte to reject or replace
  };
  Kind kind;
  uint8_t length;      // bytes consumed: 1..4 (1 for kInvalid)
  uint16_t surrogate;  // kSurrogate only: the code unit, 0xD800..0xDFFF
};

// Decodes the sequence starting at s[0]. REQUIRES: !s.empty().
Sequence Decode(std::string_view s);

// `s` with every byte that is not part of a well-formed sequence replaced by
// U+FFFD (surrogatepass sequences count as ill-formed here), cut to at most
// `max_bytes` bytes on a character boundary with "..." appended when cut.
// For quoting client input inside error messages.
std::string Sanitize(std::string_view s, size_t max_bytes);

}  // namespace interpd::protocol::utf8

#endif  // INTERPD_PROTOCOL_SRC_UTF8_H_
