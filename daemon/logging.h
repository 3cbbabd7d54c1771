// Logging: the daemon's one spdlog logger, named "interpd", and where it
// writes.
//
// [log] target picks the sink once, at start:
//   journal  spdlog's systemd_sink: structured entries with PRIORITY= and
//            SYSLOG_IDENTIFIER=interpd, through sd_journal_send(3);
//   stderr   PriorityPrefixSink on fd 2: "<6>..." lines, which journald turns
//            into priorities when it captures the service's stderr;
//   auto     journal if stderr already *is* the journal's stream (systemd
//            sets JOURNAL_STREAM to stderr's "device:inode" for a service
//            whose stderr it connects), else stderr. Comparing device and
//            inode, not just checking the variable is set, matters: the
//            variable is inherited by children whose stderr was redirected.
// [log] level can change at any time (SIGHUP): SetLevel().
//
// Cost when disabled: spdlog checks the level (one relaxed atomic load)
// before it formats anything, so logger->debug("{}", x) with debug off does
// not format x. Arguments are still evaluated; wrap expensive ones in
// `if (logger->should_log(spdlog::level::debug))`.
//
// Thread safety: Install() must run once, in main(), before any other thread
// logs (spdlog's default-logger swap is not meant to race with logging).
// Everything else is safe from any thread: the logger's level is an atomic
// and each sink has its own mutex.
//
// Invariants:
//   1. Every logger made here is named kLoggerName and filters by its own
//      level; its sinks accept every level, so SetLevel on the logger is the
//      one switch.
//   2. ResolveTarget never returns kAuto.
#ifndef INTERPD_DAEMON_LOGGING_H_
#define INTERPD_DAEMON_LOGGING_H_

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

#include "daemon/config.h"

namespace interpd::daemon {

class Logging {
 public:
  static constexpr const char* kLoggerName = "interpd";
  // Without a timestamp: under systemd the journal stamps every line itself.
  static constexpr const char* kJournalPattern = "%n: [%l] %v";
  static constexpr const char* kTerminalPattern = "%Y-%m-%d %H:%M:%S.%e %n: [%l] %v";

  Logging() = delete;

  // Builds the logger for `config` in this process (stderr, JOURNAL_STREAM),
  // makes it spdlog's default logger and returns it.
  // REQUIRES: no other thread is logging yet.
  static std::shared_ptr<spdlog::logger> Install(const LogConfig& config);

  // A logger named kLoggerName writing to `sink` at `level`, with
  // kJournalPattern. Not registered anywhere: Install() does that; tests
  // use this directly with a sink they can read.
  static std::shared_ptr<spdlog::logger> Create(spdlog::sink_ptr sink, LogLevel level);

  // Thread-safe; takes effect for the next log call on any thread.
  static void SetLevel(spdlog::logger& logger, LogLevel level);

  static spdlog::level::level_enum ToSpdlog(LogLevel level);

  // kStderr or kJournal for a configured target, given $JOURNAL_STREAM ("" if
  // unset) and the descriptor that would be stderr.
  static LogTarget ResolveTarget(LogTarget configured, std::string_view journal_stream, int stderr_fd);

  // True if `journal_stream` is "<device>:<inode>" (decimal) and names the
  // file open on `fd`.
  static bool StderrIsJournal(std::string_view journal_stream, int fd);
};

}  // namespace interpd::daemon

#endif  // INTERPD_DAEMON_LOGGING_H_
