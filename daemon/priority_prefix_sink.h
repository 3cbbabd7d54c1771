// PriorityPrefixSink: an spdlog sink that writes lines to a file descriptor
// (stderr) with a syslog priority prefix, "<3>" for error, "<4>" warn, "<6>"
// info, "<7>" debug and trace, as sd-daemon(3) describes. When systemd
// captures the daemon's stderr (StandardError=journal, the default for
// services), journald strips the prefix and files the line at that priority,
// so `journalctl -p warning -u interpd` works without linking the journal
// API. Anywhere else the prefix is a harmless, greppable tag.
//
// Every line of a multi-line message gets the prefix: journald splits the
// stream at newlines and would file the continuation lines of, say, a Python
// traceback logged at error level as plain info otherwise.
//
// Thread safety: as for any spdlog base_sink<std::mutex>, log() may be called
// from any thread; the base class serializes sink_it_ under its mutex.
//
// Invariants:
//   1. One log() call is one write(2) loop of complete "<N>...\n" lines, so
//      lines from concurrent threads never interleave inside a line (the
//      mutex), and a reader of a pipe sees whole lines up to PIPE_BUF.
//   2. The descriptor is not owned: the sink never closes it.
#ifndef INTERPD_DAEMON_PRIORITY_PREFIX_SINK_H_
#define INTERPD_DAEMON_PRIORITY_PREFIX_SINK_H_

#include <mutex>

#include <spdlog/sinks/base_sink.h>

namespace interpd::daemon {

class PriorityPrefixSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit PriorityPrefixSink(int fd) : fd_(fd) {}

  // The syslog priority (0 emerg ... 7 debug) for an spdlog level; the same
  // mapping spdlog's systemd_sink uses, so both targets agree.
  static int Priority(spdlog::level::level_enum level);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  // write(2) is unbuffered: nothing to flush.
  void flush_() override {}

 private:
  // Constant after construction.
  const int fd_;
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_PRIORITY_PREFIX_SINK_H_
