// LineFramer: splits a byte stream into NDJSON lines, incrementally.
//
// The session feeds whatever the socket returned (any chunking, down to one
// byte at a time); the framer reports each complete line, or the fact that a
// line grew past the frame limit, in stream order.
//
// Thread safety: none. One framer belongs to one connection and is used by
// whichever thread (strand) reads that connection.
//
// Invariants:
//   1. buffered_bytes() <= max_frame_bytes at all times: a line is never held
//      in memory beyond the limit, whatever the input.
//   2. An oversized line is reported exactly once, as soon as it is known to
//      be too long (possibly before its '\n' arrives); its remaining bytes are
//      dropped up to and including the next '\n', unbuffered.
//   3. A reported line has no '\n', no trailing '\r', and is never empty:
//      empty lines (including "\r\n") are skipped silently.
//   4. Bytes after the last '\n' stay pending until more input arrives; the
//      framer never guesses that a line is complete.
#ifndef INTERPD_PROTOCOL_LINE_FRAMER_H_
#define INTERPD_PROTOCOL_LINE_FRAMER_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace interpd::protocol {

class LineFramer {
 public:
  struct Frame {
    // True when a line exceeded the limit; `line` is then empty and the
    // server answers one -32004 with id null (see OversizedFrameLine()).
    bool oversized = false;
    // The line's bytes. Valid only during the callback: it points into the
    // caller's chunk or the framer's buffer, both of which change afterwards.
    std::string_view line;
  };
  using Sink = std::function<void(const Frame&)>;

  // REQUIRES: max_frame_bytes > 0.
  explicit LineFramer(size_t max_frame_bytes);

  LineFramer(const LineFramer&) = delete;
  LineFramer& operator=(const LineFramer&) = delete;

  // Consumes all of `chunk`, calling `sink` once per complete line or
  // oversize event, in order. A line that lies entirely inside `chunk` is
  // passed without copying.
  // REQUIRES: `sink` does not call Feed() on this framer and does not throw
  // (a throw would leave a completed line in the buffer).
  void Feed(std::string_view chunk, const Sink& sink);

  // True when bytes of an unterminated line are held (and not yet answered):
  // the peer disconnecting now would lose half a request. A line that is
  // being skipped after an oversize report does not count; it was answered.
  bool partial_pending() const { return !buffer_.empty(); }

  // True while the rest of an oversized line is being skipped.
  bool skipping() const { return skipping_; }

  // Bytes currently held for an unterminated line.
  size_t buffered_bytes() const { return buffer_.size(); }

  size_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  // Strips a trailing '\r' and drops empty lines before calling the sink.
  static void Emit(std::string_view line, const Sink& sink);
  // Gives back the memory of a large buffer once its line is done, so an idle
  // connection does not keep a megabyte it needed once.
  void ReleaseBuffer();

  // Constant after construction.
  const size_t max_frame_bytes_;

  // Owned by the reading thread.
  std::string buffer_;     // the unterminated line so far (invariant 1)
  bool skipping_ = false;  // dropping an oversized line up to its '\n'
};

}  // namespace interpd::protocol

#endif  // INTERPD_PROTOCOL_LINE_FRAMER_H_
