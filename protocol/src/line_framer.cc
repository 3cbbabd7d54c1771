#include "interpd/protocol/line_framer.h"

#include <cassert>
#include <cstring>

namespace interpd::protocol {

namespace {
// Above this, a finished line's buffer is freed rather than kept for reuse:
// typical requests are far smaller, and a connection that once sent a large
// line should not pin that much memory for its lifetime.
constexpr size_t kKeepCapacity = 64 * 1024;
}  // namespace

LineFramer::LineFramer(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {
  assert(max_frame_bytes_ > 0);
}

void LineFramer::Emit(std::string_view line, const Sink& sink) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
  sink(Frame{false, line});
}

void LineFramer::ReleaseBuffer() {
  buffer_.clear();
  if (buffer_.capacity() > kKeepCapacity) std::string().swap(buffer_);
}

void LineFramer::Feed(std::string_view chunk, const Sink& sink) {
  while (!chunk.empty()) {
    const void* nl = std::memchr(chunk.data(), '\n', chunk.size());
    const size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - chunk.data()) : chunk.size();
    const std::string_view piece = chunk.substr(0, end);
    // Past the '\n' when there is one; empty otherwise.
    chunk.remove_prefix(nl ? end + 1 : end);

    if (skipping_) {
      // The oversized line was already answered; drop its bytes unbuffered.
      if (nl) skipping_ = false;
      continue;
    }
    if (buffer_.size() + piece.size() > max_frame_bytes_) {
      // Too long, whether or not its end is here: report now (invariant 2),
      // and skip the rest unless this piece already reached the '\n'.
      ReleaseBuffer();
      skipping_ = (nl == nullptr);
      sink(Frame{true, {}});
      continue;
    }
    if (!nl) {
      buffer_.append(piece);
      continue;
    }
    if (buffer_.empty()) {
      Emit(piece, sink);  // the common case: a whole line inside one chunk
    } else {
      buffer_.append(piece);
      Emit(buffer_, sink);
      ReleaseBuffer();
    }
  }
}

}  // namespace interpd::protocol
