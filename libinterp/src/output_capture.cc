#include "output_capture.h"

#include <utility>

namespace interpd {

size_t Utf8Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t n = max;
  // Back up over continuation bytes (10xxxxxx) to the start of a character.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && len > 1) {
      // Reject overlong forms, surrogates and code points above U+10FFFF.
      uint32_t cp = c & (0x7F >> len);
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= min_cp[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    }
  }
  return out;
}

void OutputCapture::Begin(Task* task, size_t limit) {
  task_ = task;
  streaming_ = task != nullptr && static_cast<bool>(task->request.on_output);
  limit_ = limit;
  used_ = 0;
  truncated_ = false;
  out_.clear();
  err_.clear();
  pending_.clear();
}

void OutputCapture::End() {
  if (task_ != nullptr && streaming_) Emit();
  task_ = nullptr;
  streaming_ = false;
}

void OutputCapture::Write(OutputStream stream, std::string_view utf8) {
  if (task_ == nullptr || suspended_ > 0 || truncated_ || utf8.empty()) return;
  if (used_ + utf8.size() > limit_) {
    utf8 = utf8.substr(0, Utf8Prefix(utf8, limit_ - used_));
    truncated_ = true;
  }
  used_ += utf8.size();
  if (!streaming_) {
    (stream == OutputStream::kStdout ? out_ : err_).append(utf8);
    return;
  }
  if (!pending_.empty() && pending_stream_ != stream) Emit();
  pending_stream_ = stream;
  pending_.append(utf8);
  if (pending_.size() >= kStreamChunk || (!pending_.empty() && pending_.back() == '\n') || truncated_) Emit();
}

void OutputCapture::Flush() {
  if (task_ != nullptr && streaming_) Emit();
}

void OutputCapture::Emit() {
  if (task_ == nullptr || pending_.empty()) return;
  if (task_->finished()) {
    // The task was already reported (its worker was abandoned): late output
    // has nowhere to go.
    pending_.clear();
    return;
  }
  // The dispatcher runs this after earlier chunks and before the result
  // (task_state.h invariant 2), so the client sees output in order.
  Dispatcher* dispatcher = task_->dispatcher.get();
  if (dispatcher == nullptr) return;
  TaskPtr task(task_);
  dispatcher->Post([task, stream = pending_stream_, text = std::move(pending_)] {
    task->request.on_output(stream, text);
  });
  pending_.clear();
}

}  // namespace interpd
