#include "daemon/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>

#include <spdlog/sinks/systemd_sink.h>

#include "daemon/priority_prefix_sink.h"

namespace interpd::daemon {
namespace {

bool ParseDecimal(std::string_view text, std::uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

spdlog::level::level_enum Logging::ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kCritical: return spdlog::level::critical;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

bool Logging::StderrIsJournal(std::string_view journal_stream, int fd) {
  const std::size_t colon = journal_stream.find(':');
  if (colon == std::string_view::npos) return false;
  std::uint64_t device = 0, inode = 0;
  if (!ParseDecimal(journal_stream.substr(0, colon), &device) ||
      !ParseDecimal(journal_stream.substr(colon + 1), &inode)) {
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  return static_cast<std::uint64_t>(st.st_dev) == device && static_cast<std::uint64_t>(st.st_ino) == inode;
}

LogTarget Logging::ResolveTarget(LogTarget configured, std::string_view journal_stream, int stderr_fd) {
  if (configured != LogTarget::kAuto) return configured;
  return StderrIsJournal(journal_stream, stderr_fd) ? LogTarget::kJournal : LogTarget::kStderr;
}

std::shared_ptr<spdlog::logger> Logging::Create(spdlog::sink_ptr sink, LogLevel level) {
  sink->set_level(spdlog::level::trace);  // invariant 1: the logger filters
  auto logger = std::make_shared<spdlog::logger>(kLoggerName, std::move(sink));
  logger->set_pattern(kJournalPattern);
  logger->set_level(ToSpdlog(level));
  return logger;
}

std::shared_ptr<spdlog::logger> Logging::Install(const LogConfig& config) {
  const char* stream = std::getenv("JOURNAL_STREAM");
  const std::string_view journal_stream = stream != nullptr ? stream : "";
  const LogTarget target = ResolveTarget(config.target, journal_stream, STDERR_FILENO);

  spdlog::sink_ptr sink;
  if (target == LogTarget::kJournal) {
    // enable_formatting=false: the journal gets the bare message; name, level
    // and time are fields of their own (SYSLOG_IDENTIFIER, PRIORITY).
    sink = std::make_shared<spdlog::sinks::systemd_sink_mt>(kLoggerName, false);
  } else {
    sink = std::make_shared<PriorityPrefixSink>(STDERR_FILENO);
  }
  auto logger = Create(std::move(sink), config.level);
  if (target == LogTarget::kStderr && !StderrIsJournal(journal_stream, STDERR_FILENO)) {
    logger->set_pattern(kTerminalPattern);
  }
  spdlog::set_default_logger(logger);
  return logger;
}

void Logging::SetLevel(spdlog::logger& logger, LogLevel level) { logger.set_level(ToSpdlog(level)); }

}  // namespace interpd::daemon
