// OutputCapture: collects (or streams) one task's stdout and stderr.
//
// Thread safety: used only under the owning worker interpreter's GIL (the
// sys.stdout/sys.stderr sinks write into it, from the task's thread or any
// Python thread the task started). No locking of its own.
//
// Invariants:
//   1. captured + streamed bytes never exceed the limit; once a write does
//      not fit, `truncated` is set and later writes are dropped.
//   2. Text is valid UTF-8 and is cut only at character boundaries.
//   3. In streaming mode chunks are emitted in the order written, across both
//      streams: a write to one stream first flushes the other's pending text.
#ifndef INTERPD_OUTPUT_CAPTURE_H_
#define INTERPD_OUTPUT_CAPTURE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "task_state.h"

namespace interpd {

class OutputCapture {
 public:
  // Starts capturing for `task` (nullptr: between tasks; writes are dropped).
  void Begin(Task* task, size_t limit);
  // Flushes streamed output and detaches from the task.
  void End();

  // REQUIRES: `utf8` is valid UTF-8.
  void Write(OutputStream stream, std::string_view utf8);
  // Emits pending streamed text (sys.stdout.flush()).
  void Flush();

  bool active() const { return task_ != nullptr && suspended_ == 0; }
  // Actor methods run on a worker, sometimes nested inside a script's call;
  // their output is not the script's: it is dropped while suspended.
  void Suspend() { ++suspended_; }
  void Resume() { --suspended_; }
  bool truncated() const { return truncated_; }
  std::string TakeStdout() { return std::move(out_); }
  std::string TakeStderr() { return std::move(err_); }

  // Streaming: pending text is emitted once it holds a newline at its end or
  // reaches this size.
  static constexpr size_t kStreamChunk = 8192;

 private:
  void Emit();

  Task* task_ = nullptr;
  int suspended_ = 0;
  bool streaming_ = false;
  size_t limit_ = 0;
  size_t used_ = 0;
  bool truncated_ = false;
  std::string out_;
  std::string err_;
  // Streaming: text written but not yet emitted, and its stream.
  std::string pending_;
  OutputStream pending_stream_ = OutputStream::kStdout;
};

// The longest prefix of `s` of at most `max` bytes that ends on a UTF-8
// character boundary.
size_t Utf8Prefix(std::string_view s, size_t max);

// Replaces invalid UTF-8 sequences with U+FFFD.
std::string SanitizeUtf8(std::string_view s);

}  // namespace interpd

#endif  // INTERPD_OUTPUT_CAPTURE_H_
